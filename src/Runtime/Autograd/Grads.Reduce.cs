namespace DeepSharp;

// Gradient rules of reductions. A reduction's rule gets x, the result and its gradient with the reduced dims kept as 1,
// and the reduced axes.
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
    public static Tensor SelectedIndex(Tensor x, Tensor indicesKept, Tensor gKept, int axis) =>
        Tensor.ScatterAlong(gKept, indicesKept, x.Layout.ShapeArray, axis);
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
