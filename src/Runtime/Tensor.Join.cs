namespace DeepSharp;

public sealed partial class Tensor
{
    /// <summary>Joins tensors along an existing <paramref name="axis"/> (torch.cat). All must share dtype, device and the other
    /// dims.</summary>
    /// <exception cref="ArgumentNullException">tensors or one of its elements is null.</exception>
    /// <exception cref="ArgumentException">No tensors, ranks/dims/dtypes differ, or the result would be too large.</exception>
    /// <exception cref="DeviceMismatchException">The tensors are on different devices.</exception>
    public static Tensor Concat(IReadOnlyList<Tensor> tensors, int axis = 0)
    {
        const string op = nameof(Concat);
        Check.NoNulls(op, tensors, nameof(tensors));
        if (tensors.Count == 0) throw new ArgumentException($"{op}: expected at least one tensor, got none.");
        var first = tensors[0];
        if (first.Rank == 0) throw new ArgumentException($"{op}: 0-D tensors cannot be concatenated; use Stack.");
        int ax = Layout.Axis(axis, first.Rank, op);
        long total = 0; // in 64 bits: views can make the sum of the dims exceed an int
        for (int i = 0; i < tensors.Count; i++)
        {
            var t = tensors[i];
            Check.SameDevice(op, first, "tensors[0]", t, $"tensors[{i}]");
            if (t.DType != first.DType)
                throw new ArgumentException($"{op}: tensors[{i}] has dtype {t.DType.Name()} but tensors[0] has {first.DType.Name()}.");
            if (t.Rank != first.Rank
                || Enumerable.Range(0, t.Rank).Any(d => d != ax && t.Layout.ShapeArray[d] != first.Layout.ShapeArray[d]))
                throw new ArgumentException($"{op}: tensors[{i}] has shape {Layout.Format(t.Layout.ShapeArray)} but tensors[0] has " +
                    $"{Layout.Format(first.Layout.ShapeArray)}; all dims except {axis} must match.");
            total += t.Layout.ShapeArray[ax];
        }
        var shape = first.Shape;
        shape[ax] = Check.Size(op, nameof(tensors), total, $"the joined dim {axis}");
        Layout.Numel(shape, op, nameof(tensors));
        var y = Allocate(shape, first.DType, first.Device);
        var starts = new int[tensors.Count];
        int at = 0;
        for (int i = 0; i < tensors.Count; i++)
        {
            int n = tensors[i].Layout.ShapeArray[ax];
            starts[i] = at;
            if (n > 0) tensors[i].CopyInto(y.WithLayout(y.Layout.Slice(ax, at, at + n, 1)));
            at += n;
        }
        var inputs = tensors.ToArray();
        return Autograd.Record(y, op, inputs, g => Grads.Concat(inputs, g, ax, starts));
    }

    /// <summary>Joins same-shaped tensors along a new <paramref name="axis"/> (torch.stack).</summary>
    /// <exception cref="ArgumentNullException">tensors or one of its elements is null.</exception>
    /// <exception cref="ArgumentException">No tensors, the shapes differ, or the result would be too large.</exception>
    /// <exception cref="ArgumentOutOfRangeException">axis is outside [-rank - 1, rank].</exception>
    public static Tensor Stack(IReadOnlyList<Tensor> tensors, int axis = 0)
    {
        Check.NoNulls(nameof(Stack), tensors, nameof(tensors));
        if (tensors.Count == 0) throw new ArgumentException("Stack: expected at least one tensor, got none.");
        for (int i = 1; i < tensors.Count; i++)
            if (!tensors[i].Layout.ShapeArray.SequenceEqual(tensors[0].Layout.ShapeArray))
                throw new ArgumentException(
                    $"Stack: tensors[{i}] has shape {Layout.Format(tensors[i].Layout.ShapeArray)} but tensors[0] has " +
                    $"{Layout.Format(tensors[0].Layout.ShapeArray)}.");
        return Concat(tensors.Select(t => t.Unsqueeze(axis)).ToList(), axis);
    }

    /// <summary>
    /// Rows of this tensor picked by an int32/int64 <paramref name="index"/> of any shape: the result has shape
    /// index.shape + this.shape[1..] (an embedding lookup). Negative indices count from the end.
    /// </summary>
    /// <exception cref="ArgumentNullException">index is null.</exception>
    /// <exception cref="ArgumentException">The index is not int32/int64 or this tensor is 0-D.</exception>
    /// <exception cref="ArgumentOutOfRangeException">An index is outside [-rows, rows) (found before anything is written).</exception>
    public Tensor GatherRows(Tensor index)
    {
        const string op = nameof(GatherRows);
        if (Autocast.IsHalf(this)) return Autocast.InFloat32(this, DType, w => w.GatherRows(index)); // picked from a float32 copy
        Check.Computes(op, this, "x");
        Check.SameDevice(op, this, "x", index, "index");
        if (index.DType is not (DType.Int32 or DType.Int64))
            throw new ArgumentException($"{op}: the index must be int32 or int64, got {index.DType.Name()}.");
        if (Rank == 0) throw new ArgumentException($"{op}: cannot pick rows of a 0-D tensor.");
        var x = Dense(); var idx = index.Dense();
        int rows = Layout.ShapeArray[0], cols = Count / Math.Max(rows, 1);
        var y = Allocate([.. index.Layout.ShapeArray, .. Layout.ShapeArray[1..]], DType, Device);
        Backend.GatherRows(x.Storage, x.Layout.Offset, rows, cols, idx.Storage, idx.Layout.Offset, y.Storage, idx.Count);
        ReleaseDense(x);
        var source = this;
        return Autograd.Record(y, op, [this], g => [Grads.GatherRows(source, idx, g)], idx);
    }

    /// <summary>Zeros of <paramref name="shape"/> with the rows of <paramref name="src"/> added into the rows that
    /// <paramref name="index"/> (dense) names, repeats adding up: the adjoint of <see cref="GatherRows"/> (not recorded).</summary>
    internal static Tensor IndexAddRows(int[] shape, Tensor index, Tensor src)
    {
        var z = Zeros(shape, src.DType, src.Device);
        int rows = shape[0], cols = z.Count / Math.Max(rows, 1);
        var s = src.Dense();
        z.Backend.IndexAddRows(z.Storage, rows, cols, index.Storage, index.Layout.Offset, s.Storage, s.Layout.Offset, index.Count);
        src.ReleaseDense(s);
        return z;
    }
}
