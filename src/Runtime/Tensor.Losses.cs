namespace DeepSharp;

// The fused losses' kernels as (unrecorded) tensor ops; Functional records them with their rules in Grads.Loss.
public sealed partial class Tensor
{
    /// <summary>
    /// Cross-entropy of each row of <paramref name="logits"/> [n, c] with int32/int64 <paramref name="labels"/> [n] (dense):
    /// the loss, [n], or with <paramref name="reduce"/> one value scale · Σ rows; and the rows' softmax [n, c], which the
    /// backward reads. One launch on accelerators.
    /// </summary>
    internal static (Tensor Loss, Tensor Probs) CrossEntropyRows(Tensor logits, Tensor labels, bool reduce, float scale)
    {
        int n = logits.Layout.ShapeArray[0], classes = logits.Layout.ShapeArray[1];
        var x = logits.Dense();
        var loss = reduce ? Allocate([], DType.Float32, logits.Device) : Allocate([n], DType.Float32, logits.Device);
        var probs = Allocate([n, classes], DType.Float32, logits.Device);
        logits.Backend.CrossEntropy(x.Storage, x.Layout.Offset, n, classes, labels.Storage, labels.Layout.Offset, loss.Storage,
            probs.Storage, reduce, scale);
        logits.ReleaseDense(x);
        return (loss, probs);
    }

    /// <summary>dlogits [n, c] = (probs − one-hot(labels))·g·scale per row, for <paramref name="g"/> one value (a fused mean
    /// or sum: <paramref name="reduced"/>) or one per row (then scale is 1).</summary>
    internal static Tensor CrossEntropyBackward(Tensor probs, Tensor labels, Tensor g, bool reduced, float scale)
    {
        int n = probs.Layout.ShapeArray[0], classes = probs.Layout.ShapeArray[1];
        var gd = g.Dense();
        var dx = Allocate([n, classes], DType.Float32, g.Device);
        g.Backend.CrossEntropyBackward(probs.Storage, n, classes, labels.Storage, labels.Layout.Offset, gd.Storage, gd.Layout.Offset,
            reduced ? 0 : 1, reduced ? scale : 1f, dx.Storage);
        g.ReleaseDense(gd);
        return dx;
    }
}
