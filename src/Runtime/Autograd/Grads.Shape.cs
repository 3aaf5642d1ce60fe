namespace DeepSharp;

// Gradient rules of movement (views, copies between devices), joining and indexing: each puts the gradient back where the
// op read its elements.
internal static partial class Grads
{
    /// <summary>Clone, and the transpose of a 0-D tensor: the gradient itself.</summary>
    public static Tensor Pass(Tensor g) => g;

    /// <summary>Reshape, View, Unsqueeze, Squeeze: the gradient in the input's shape.</summary>
    public static Tensor Reshape(Tensor g, int[] inputShape) => g.Reshape(inputShape);

    /// <summary>Permute: the inverse permutation.</summary>
    public static Tensor Permute(Tensor g, int[] inverse) => g.Permute(inverse);

    /// <summary>Transpose: the same two dims swapped back.</summary>
    public static Tensor Transpose(Tensor g, int axis0, int axis1) => g.Transpose(axis0, axis1);

    /// <summary>Expand: the repeats summed back to the input's shape.</summary>
    public static Tensor Expand(Tensor g, int[] inputShape) => g.SumTo(inputShape);

    /// <summary>Copies to another device: the gradient goes back to the input's device.</summary>
    public static Tensor ToDevice(Tensor g, Device from) => g.To(from);

    /// <summary>Slice and Select, views that pick part of x: zeros of x's shape with g written where the view looked.</summary>
    public static Tensor Scatter(Tensor x, Tensor g, Func<Tensor, Tensor> view)
    {
        var z = Tensor.Zeros(x.Shape, g.DType, x.Device);
        view(z).CopyFrom(g);
        return z;
    }

    /// <summary>Concat: each input's slice of the gradient along the joined axis.</summary>
    public static Tensor?[] Concat(Tensor[] inputs, Tensor g, int axis, int[] starts) =>
        inputs.Select((t, i) => (Tensor?)g.Slice(axis, starts[i], starts[i] + t.Layout.ShapeArray[axis])).ToArray();

    /// <summary>GatherRows: rows of g added into the rows they were read from (repeats add up).</summary>
    public static Tensor GatherRows(Tensor x, Tensor index, Tensor g) => Tensor.IndexAddRows(x.Layout.ShapeArray, index, g);

    /// <summary>Embedding: as <see cref="GatherRows"/>, with the padding row's gradient zero.</summary>
    public static Tensor Embedding(Tensor weight, Tensor index, Tensor g, int? paddingIdx)
    {
        var gw = Tensor.IndexAddRows(weight.Layout.ShapeArray, index, g);
        if (paddingIdx is int p) gw.Slice(0, p, p + 1).ZeroInPlace();
        return gw;
    }
}
