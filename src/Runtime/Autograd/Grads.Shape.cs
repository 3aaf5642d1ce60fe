namespace DeepSharp;

// Gradient rules of reductions, movement (views) and indexing.
internal static partial class Grads
{
    /// <summary>Sum: every input element receives the gradient of its output element.</summary>
    public static Tensor Sum(Tensor x, Tensor yKept, Tensor gKept, int[] axes) => gKept.Expand(x.Shape);

    /// <summary>Max/Min: the gradient goes to the elements equal to the result, split evenly among ties (torch.amax).</summary>
    public static Tensor MaxMin(Tensor x, Tensor yKept, Tensor gKept, int[] axes)
    {
        // g / count on the reduced shape, then one full-size product: the same bits as (g · mask) / count (mask is 0 or 1,
        // count ≥ 1 wherever mask is 1), one full-size pass fewer.
        var mask = x.Eq(yKept);
        return mask * (gKept / mask.Sum(axes, keepDim: true));
    }

    /// <summary>Gradient of <see cref="Tensor.MaxWithIndices"/> / <see cref="Tensor.MinWithIndices"/>: gKept (x's shape with
    /// the axis as 1) written at the chosen index along the axis, 0 elsewhere (PyTorch's value_selecting_reduction_backward).</summary>
    public static Tensor ScatterAlong(Tensor x, Tensor indicesKept, Tensor gKept, int axis)
    {
        var dx = Tensor.Empty(x.Shape, DType.Float32, x.Device);
        var shape = x.Layout.ShapeArray;
        int n = x.Rank == 0 ? 1 : shape[axis], inner = 1, outer = 1;
        for (int d = 0; d < axis; d++) outer *= shape[d];
        for (int d = axis + 1; d < shape.Length; d++) inner *= shape[d];
        var gd = gKept.Dense();
        x.Backend.ScatterAlong(gd.Storage, gd.Layout.Offset, indicesKept.Storage, dx.Storage, outer, n, inner);
        return dx;
    }

    /// <summary>Gradient of a view that selects part of x: zeros of x's shape with g written where the view looked.</summary>
    public static Tensor Scatter(Tensor x, Tensor g, Func<Tensor, Tensor> view)
    {
        var z = Tensor.Zeros(x.Shape, DType.Float32, x.Device);
        view(z).CopyFrom(g);
        return z;
    }

    /// <summary>Gradient of GatherRows: rows of g added into the rows they were read from (repeats add up).</summary>
    public static Tensor ScatterAddRows(Tensor x, Tensor index, Tensor g)
    {
        var z = Tensor.Zeros(x.Shape, DType.Float32, x.Device);
        int rows = x.Layout.ShapeArray[0], cols = x.Count / Math.Max(rows, 1);
        var src = g.Dense();
        x.Backend.IndexAddRows(z.Storage, rows, cols, index.Storage, index.Layout.Offset, src.Storage, src.Layout.Offset, index.Count);
        return z;
    }
}

public sealed partial class Tensor
{
    /// <summary>Sums a broadcast gradient back to <paramref name="shape"/>: over added leading dims and over dims that were 1.</summary>
    internal Tensor SumTo(int[] shape)
    {
        if (Layout.ShapeArray.SequenceEqual(shape)) return this;
        int lead = Rank - shape.Length;
        var axes = Enumerable.Range(0, Rank).Where(d => d < lead || (shape[d - lead] == 1 && Layout.ShapeArray[d] != 1)).ToArray();
        if (axes.Length == 0) return Reshape(shape);
        var summed = Sum(axes, keepDim: true);
        if (Autograd.IsEnabled) return summed.Reshape(shape);
        summed.Relayout(Layout.Contiguous(shape, summed.Layout.Offset)); // unrecorded: keep one tensor object (see Reduce)
        return summed;
    }
}
