namespace DeepSharp;

public sealed partial class Tensor
{
    /// <summary>Same elements, new shape; one dim may be -1 (inferred). A view when the strides allow it, else a copy.</summary>
    /// <exception cref="ArgumentException">The element counts differ, or more than one dim is -1.</exception>
    public Tensor Reshape(params int[] shape)
    {
        var target = InferShape(shape);
        var view = Layout.TryReshape(target);
        var y = view != null ? WithLayout(view) : Reshaped(Layout.Contiguous(target, 0));
        var inputShape = Layout.ShapeArray;
        return Moved(y, "Reshape", g => Grads.Reshape(g, inputShape));
    }

    /// <summary>A dense copy with <paramref name="layout"/>: the copy's own tensor object is released at once (the result
    /// holds the storage), not left to the GC.</summary>
    private Tensor Reshaped(Layout layout)
    {
        var dense = Dense();
        var y = dense.WithLayout(layout);
        if (!ReferenceEquals(dense, this)) dense.Dispose();
        return y;
    }

    /// <summary>Records a movement op whose gradient is <paramref name="rule"/>(dL/dy).</summary>
    private Tensor Moved(Tensor y, string op, Func<Tensor, Tensor> rule) => Autograd.Record(y, op, [this], g => [rule(g)]);

    /// <summary>Like <see cref="Reshape"/> but never copies (torch's <c>view</c>).</summary>
    /// <exception cref="InvalidOperationException">The strides do not allow a view; call Contiguous() or Reshape.</exception>
    public Tensor View(params int[] shape)
    {
        var target = InferShape(shape);
        var y = WithLayout(Layout.TryReshape(target) ?? throw new InvalidOperationException(
            $"View: a tensor with {Layout} cannot be viewed as {Layout.Format(target)} without copying; use Reshape or Contiguous()."));
        var inputShape = Layout.ShapeArray;
        return Moved(y, "View", g => Grads.Reshape(g, inputShape));
    }

    private int[] InferShape(int[] shape)
    {
        var s = (int[])Check.NotNull(nameof(Reshape), shape, nameof(shape)).Clone();
        int infer = Array.IndexOf(s, -1);
        if (infer >= 0 && Array.IndexOf(s, -1, infer + 1) >= 0)
            throw new ArgumentException($"Reshape: only one dim may be -1, got {Layout.Format(shape)}.");
        if (s.Any(d => d < -1)) throw new ArgumentException($"Reshape: dims must be >= 0 (or one -1), got {Layout.Format(shape)}.");
        if (infer >= 0)
        {
            int known = Layout.Numel(s.Where((_, i) => i != infer).ToArray());
            if (known == 0 || Count % known != 0)
                throw new ArgumentException(
                    $"Reshape: cannot infer -1 in {Layout.Format(shape)} for {Count} elements (shape {Layout.Format(Layout.ShapeArray)}).");
            s[infer] = Count / known;
        }
        if (Layout.Numel(s) != Count)
            throw new ArgumentException(
                $"Reshape: shape {Layout.Format(shape)} holds {Layout.Numel(s)} elements but the tensor of shape " +
                $"{Layout.Format(Layout.ShapeArray)} has {Count}.");
        return s;
    }

    /// <summary>Flattens to 1-D.</summary>
    public Tensor Flatten() => Reshape(-1);

    /// <summary>Reorders dims: result dim i is input dim <paramref name="order"/>[i] (a view).</summary>
    /// <exception cref="ArgumentException">order is not a permutation of 0..Rank-1.</exception>
    public Tensor Permute(params int[] order)
    {
        var o = Check.NotNull(nameof(Permute), order, nameof(order)).Select(a => Layout.Axis(a, Rank, nameof(Permute))).ToArray();
        if (o.Length != Rank || o.Distinct().Count() != Rank)
            throw new ArgumentException(
                $"Permute: {Layout.Format(order)} is not a permutation of the {Rank} dims of a tensor of shape " +
                $"{Layout.Format(Layout.ShapeArray)}.");
        var inverse = new int[Rank];
        for (int i = 0; i < Rank; i++) inverse[o[i]] = i;
        return Moved(WithLayout(Layout.Permute(o)), "Permute", g => Grads.Permute(g, inverse));
    }

    /// <summary>Swaps two dims (a view).</summary>
    public Tensor Transpose(int axis0, int axis1)
    {
        int a = Layout.Axis(axis0, Rank, nameof(Transpose)), b = Layout.Axis(axis1, Rank, nameof(Transpose));
        if (Rank == 0) return Moved(WithLayout(Layout), "Transpose", Grads.Pass); // dims 0 and -1 of a scalar: nothing to swap
        var order = Enumerable.Range(0, Rank).ToArray();
        (order[a], order[b]) = (order[b], order[a]);
        return Moved(WithLayout(Layout.Permute(order)), "Transpose", g => Grads.Transpose(g, a, b));
    }

    /// <summary>Matrix transpose of a 2-D tensor (a view); a 0-D or 1-D tensor is returned as is.</summary>
    /// <exception cref="InvalidOperationException">Rank &gt; 2 (use Transpose(a, b) or Permute).</exception>
    public Tensor T => Rank < 2 ? this : Rank == 2 ? Transpose(0, 1)
        : throw new InvalidOperationException($"T: the tensor has rank {Rank}; .T is for 2-D tensors. Use Transpose(a, b) or Permute.");

    /// <summary>Elements start, start+step, … below end along <paramref name="axis"/> (a view); negative and
    /// out-of-range bounds are clamped as in Python slicing.</summary>
    /// <exception cref="ArgumentOutOfRangeException">axis is out of range, or step is not positive.</exception>
    public Tensor Slice(int axis, int start, int? end = null, int step = 1)
    {
        int ax = Layout.Dim(axis, Rank, nameof(Slice)), n = Layout.ShapeArray[ax];
        if (step <= 0) throw new ArgumentOutOfRangeException(nameof(step), step, $"Slice: step must be positive, got {step}.");
        int s = Math.Clamp(start < 0 ? start + n : start, 0, n);
        int e = Math.Clamp(end is { } x ? (x < 0 ? x + n : x) : n, 0, n);
        int end2 = Math.Max(e, s);
        return Moved(WithLayout(Layout.Slice(ax, s, end2, step)), "Slice", g => Grads.Scatter(this, g, z => z.Slice(ax, s, end2, step)));
    }

    /// <summary>The sub-tensor at <paramref name="index"/> along <paramref name="axis"/>, with that dim removed (a view).</summary>
    /// <exception cref="ArgumentOutOfRangeException">axis is out of range, or index is outside [-size, size).</exception>
    public Tensor Select(int axis, int index)
    {
        int ax = Layout.Dim(axis, Rank, nameof(Select)), n = Layout.ShapeArray[ax];
        if (index < -n || index >= n)
            throw new ArgumentOutOfRangeException(nameof(index), index,
                $"Select: index {index} is out of range for dim {axis} of size {n} (shape {Layout.Format(Layout.ShapeArray)}); " +
                $"expected {-n}..{n - 1}.");
        int at = index < 0 ? index + n : index;
        var sliced = Layout.Slice(ax, at, at + 1, 1);
        var shape = sliced.ShapeArray.Where((_, i) => i != ax).ToArray();
        var strides = sliced.StridesArray.Where((_, i) => i != ax).ToArray();
        return Moved(WithLayout(Layout.Owned(shape, strides, sliced.Offset)), "Select", g => Grads.Scatter(this, g, z => z.Select(ax, at)));
    }

    /// <summary>x[i]: the sub-tensor at index i of dim 0; x[i, j] for two dims (views). Negative indices count from the end.</summary>
    /// <exception cref="ArgumentOutOfRangeException">An index is outside [-size, size), or the tensor has too few dims.</exception>
    [System.Runtime.CompilerServices.IndexerName("At")]
    public Tensor this[int i] => Select(0, i);
    /// <summary>x[i, j]: index dims 0 and 1 (a view).</summary>
    /// <exception cref="ArgumentOutOfRangeException">An index is outside [-size, size), or the tensor has too few dims.</exception>
    [System.Runtime.CompilerServices.IndexerName("At")]
    public Tensor this[int i, int j] => Select(0, i).Select(0, j);

    /// <summary>Broadcast view to <paramref name="shape"/>: size-1 dims repeat without copying (stride 0); new dims go in
    /// front. As in PyTorch, -1 keeps an existing dim's size.</summary>
    /// <exception cref="ArgumentNullException">shape is null.</exception>
    /// <exception cref="ArgumentOutOfRangeException">A size is negative (other than -1 for an existing dim).</exception>
    /// <exception cref="ArgumentException">shape has fewer dims than the tensor, a dim is neither equal nor 1, or the
    /// result would have too many elements.</exception>
    public Tensor Expand(params int[] shape)
    {
        int lead = Check.NotNull(nameof(Expand), shape, nameof(shape)).Length - Rank;
        if (lead < 0)
            throw new ArgumentException($"Expand: a tensor of shape {Layout.Format(Layout.ShapeArray)} cannot be expanded to " +
                $"{Layout.Format(shape)}, which has fewer dims.", nameof(shape));
        int[]? resolved = null;
        for (int d = 0; d < shape.Length; d++)
        {
            if (shape[d] >= 0) continue;
            if (shape[d] != -1 || d < lead)
                throw new ArgumentOutOfRangeException(nameof(shape), shape[d], $"Expand: size {shape[d]} at dim {d} of " +
                    $"{Layout.Format(shape)} is invalid; sizes must be >= 0, or -1 to keep the size of one of the tensor's dims (not " +
                    $"of the {lead} new leading dims).");
            (resolved ??= (int[])shape.Clone())[d] = Layout.ShapeArray[d - lead];
        }
        var target = resolved ?? shape;
        for (int d = 0; d < Rank; d++)
            if (Layout.ShapeArray[d] != target[d + lead] && Layout.ShapeArray[d] != 1)
                throw new ArgumentException($"Expand: a tensor of shape {Layout.Format(Layout.ShapeArray)} cannot be expanded to " +
                    $"{Layout.Format(shape)}: dim {d + lead} is {Layout.ShapeArray[d]}, and only size-1 dims can grow.", nameof(shape));
        var inputShape = Layout.ShapeArray;
        return Moved(WithLayout(Layout.Expand(target)), "Expand", g => Grads.Expand(g, inputShape));
    }

    /// <summary>Inserts a size-1 dim at <paramref name="axis"/> (a view).</summary>
    public Tensor Unsqueeze(int axis)
    {
        int ax = axis < 0 ? axis + Rank + 1 : axis;
        if (ax < 0 || ax > Rank)
            throw new ArgumentOutOfRangeException(nameof(axis), axis,
                $"Unsqueeze: axis {axis} is out of range for rank {Rank} (expected {-Rank - 1}..{Rank}).");
        var shape = Layout.ShapeArray.ToList(); var strides = Layout.StridesArray.ToList();
        shape.Insert(ax, 1);
        strides.Insert(ax, ax < Rank ? Layout.StridesArray[ax] * Layout.ShapeArray[ax] : 1);
        var inputShape = Layout.ShapeArray;
        var y = WithLayout(Layout.Owned(shape.ToArray(), strides.ToArray(), Layout.Offset));
        return Moved(y, "Unsqueeze", g => Grads.Reshape(g, inputShape));
    }

    /// <summary>Removes size-1 dims (all, or only <paramref name="axis"/>) (a view).</summary>
    public Tensor Squeeze(int? axis = null)
    {
        int? ax = axis is { } a ? Layout.Axis(a, Rank, nameof(Squeeze)) : null;
        bool Keep(int d) => Layout.ShapeArray[d] != 1 || (ax is { } only && only != d);
        var dims = Enumerable.Range(0, Rank).Where(Keep).ToArray();
        var y = WithLayout(Layout.Owned(
            dims.Select(d => Layout.ShapeArray[d]).ToArray(), dims.Select(d => Layout.StridesArray[d]).ToArray(), Layout.Offset));
        var inputShape = Layout.ShapeArray;
        return Moved(y, "Squeeze", g => Grads.Reshape(g, inputShape));
    }

    /// <summary>This tensor if already dense and row-major, else a dense copy.</summary>
    public Tensor Contiguous() => IsContiguous ? this : Clone();

    /// <summary>A dense copy on the same device (always copies).</summary>
    public Tensor Clone() => Moved(Dense(copy: true), "Clone", Grads.Pass);

    /// <summary>Copies this tensor's elements, converted, into <paramref name="dst"/> (same shape) and returns dst.</summary>
    internal Tensor CopyInto(Tensor dst)
    {
        var map = Backends.StridedMap.Create(Layout.ShapeArray, Layout, dst.Layout);
        dst.Backend.Copy(Storage, dst.Storage, map, Count);
        return dst;
    }
}
