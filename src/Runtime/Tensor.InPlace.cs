using DeepSharp.Backends;
using DeepSharp.Ops;

namespace DeepSharp;

public sealed partial class Tensor
{
    /// <summary>this += other (broadcast to this shape), in place.</summary>
    public Tensor AddInPlace(Tensor other) => InPlace("AddInPlace", other, new AddOp());
    /// <summary>this -= other (broadcast to this shape), in place.</summary>
    public Tensor SubInPlace(Tensor other) => InPlace("SubInPlace", other, new SubOp());
    /// <summary>this *= other (broadcast to this shape), in place.</summary>
    public Tensor MulInPlace(Tensor other) => InPlace("MulInPlace", other, new MulOp());
    /// <summary>this /= other (broadcast to this shape), in place.</summary>
    public Tensor DivInPlace(Tensor other) => InPlace("DivInPlace", other, new DivOp());
    /// <summary>this += s, in place (<c>p.Values.AddInPlace(1f)</c>).</summary>
    public Tensor AddInPlace(float s) => InPlace("AddInPlace", new RightScalar<AddOp>(s));
    /// <summary>this -= s, in place.</summary>
    public Tensor SubInPlace(float s) => InPlace("SubInPlace", new RightScalar<SubOp>(s));
    /// <summary>this *= s, in place.</summary>
    public Tensor MulInPlace(float s) => InPlace("MulInPlace", new RightScalar<MulOp>(s));
    /// <summary>this /= s, in place.</summary>
    public Tensor DivInPlace(float s) => InPlace("DivInPlace", new RightScalar<DivOp>(s));
    /// <summary>Every element = value, in place.</summary>
    public Tensor FillInPlace(float value) => InPlace("FillInPlace", new FillScalar(value));
    /// <summary>Every element = 0, in place.</summary>
    public Tensor ZeroInPlace() => FillInPlace(0f);

    /// <summary>Copies <paramref name="source"/> (broadcast to this shape, converted to this dtype) into this tensor, in place.
    /// Works through views: <c>w.Slice(0, 0, 2).CopyFrom(x)</c> writes into w. A source that shares memory with this tensor
    /// (<c>w.CopyFrom(w.T)</c>) is read as it was before the write.</summary>
    public Tensor CopyFrom(Tensor source)
    {
        CheckInPlace("CopyFrom", Check.NotNull("CopyFrom", source, nameof(source)));
        // Straight from the source's storage through a broadcast layout: a view tensor here would hold the source's storage
        // until the GC finds it, so a disposed source could not return its memory to the pool.
        var (src, layout) = Unaliased(source);
        var map = StridedMap.Create(Layout.ShapeArray, layout, Layout);
        Backend.Copy(src.Storage, Storage, map, Count);
        if (!ReferenceEquals(src, source)) src.Dispose();
        _storage.Bump();
        return this;
    }

    /// <summary>
    /// What an in-place write into this tensor reads from <paramref name="source"/>, and its layout broadcast to this
    /// shape: the source itself, or a dense copy when it shares memory with this tensor in another arrangement (a
    /// transpose, a shifted slice, a broadcast row of itself). Reading and writing the same elements in different orders
    /// would read values the write already changed; PyTorch refuses partial overlap, here the result is what it would be
    /// without the overlap. The same arrangement (x += x) needs no copy: each element reads only itself.
    /// </summary>
    private (Tensor Source, Layout Layout) Unaliased(Tensor source)
    {
        var layout = source.Layout.Expand(Layout.ShapeArray);
        if (!ReferenceEquals(source.Storage, Storage) || SameElements(layout, Layout) || !Overlap(layout, Layout)) return (source, layout);
        var copy = source.Dense(copy: true);
        return (copy, copy.Layout.Expand(Layout.ShapeArray));
    }

    private static bool SameElements(Layout a, Layout b) =>
        a.Offset == b.Offset && a.ShapeArray.AsSpan().SequenceEqual(b.ShapeArray) && a.StridesArray.AsSpan().SequenceEqual(b.StridesArray);

    /// <summary>Whether the storage ranges the two layouts touch intersect (strides are never negative).</summary>
    private static bool Overlap(Layout a, Layout b)
    {
        if (a.Count == 0 || b.Count == 0) return false;
        static long Last(Layout l)
        {
            long last = l.Offset;
            for (int d = 0; d < l.Rank; d++) last += (long)(l.ShapeArray[d] - 1) * l.StridesArray[d];
            return last;
        }
        return a.Offset <= Last(b) && b.Offset <= Last(a);
    }

    internal Tensor InPlace<TOp>(string op, Tensor other, TOp f) where TOp : struct, IBinaryOp
    {
        CheckInPlace(op, Check.NotNull(op, other, nameof(other)));
        if (Autocast.IsHalf(this) || Autocast.IsHalf(other))
        {
            using var wideOther = Autocast.IsHalf(other) ? other.To(DType.Float32) : null;
            var o = wideOther ?? other;
            return Autocast.IsHalf(this) ? InPlaceWidened(w => w.InPlace(op, o, f)) : InPlace(op, o, f);
        }
        Check.Computes(op, this, "this"); Check.Computes(op, other, "other");
        if (other.DType == DType.Float64 && DType == DType.Float32) // computed in float64 and rounded once, as PyTorch
        {
            using var wide = To(DType.Float64);
            wide.InPlace(op, other, f);
            return CopyFrom(wide);
        }
        if (other.DType != DType) // float32 into float64: other widened exactly
        {
            using var converted = other.Detach().To(DType);
            return InPlace(op, converted, f);
        }
        var (src, layout) = Unaliased(other);
        var map = StridedMap.Create(Layout.ShapeArray, Layout, layout, Layout);
        Backend.Binary(Storage, src.Storage, Storage, map, Count, f);
        if (!ReferenceEquals(src, other)) src.Dispose();
        _storage.Bump();
        return this;
    }

    internal Tensor InPlace<TOp>(string op, TOp f) where TOp : struct, IUnaryOp
    {
        CheckInPlace(op, null);
        if (Autocast.IsHalf(this)) return InPlaceWidened(w => w.InPlace(op, f));
        Check.Computes(op, this, "this");
        Backend.Unary(Storage, Storage, StridedMap.Create(Layout.ShapeArray, Layout, Layout), Count, f);
        _storage.Bump();
        return this;
    }

    /// <summary>An in-place op on a 16-bit tensor: computed on a float32 copy, rounded once back into this tensor.</summary>
    private Tensor InPlaceWidened(Action<Tensor> op)
    {
        using var wide = To(DType.Float32);
        op(wide);
        return CopyFrom(wide);
    }

    private void CheckInPlace(string op, Tensor? other)
    {
        if (Autograd.IsEnabled && RequiresGrad)
            throw new InvalidOperationException(
                $"{op}: this tensor {(IsLeaf ? "is a leaf that requires grad" : $"is part of a recorded graph ({GradFn})")}; " +
                "changing it in place would corrupt gradients. Do it inside 'using (Autograd.NoGrad())', or on a Detach()ed copy.");
        if (other != null) Check.SameDevice(op, this, "this", other, "other");
        for (int d = 0; d < Rank; d++)
            if (Layout.StridesArray[d] == 0 && Layout.ShapeArray[d] > 1)
                throw new InvalidOperationException(
                    $"{op}: this tensor is a broadcast view (dim {d} repeats one element {Layout.ShapeArray[d]} times); " +
                    "writing to it in place is ambiguous. Call Contiguous() first.");
        if (other != null && !Check.Broadcast(op, other.Layout.ShapeArray, Layout.ShapeArray).SequenceEqual(Layout.ShapeArray))
            throw new ArgumentException(
                $"{op}: a tensor of shape {Layout.Format(other.Layout.ShapeArray)} cannot be written into one of shape " +
                $"{Layout.Format(Layout.ShapeArray)}.");
    }
}
