namespace DeepSharp;

// Gradient rules of the fused losses.
internal static partial class Grads
{
    /// <summary>Cross-entropy: (softmax − one-hot)·g·scale per row, from the probabilities the forward kept (g is one value
    /// for a fused mean or sum, else one per row).</summary>
    public static Tensor CrossEntropy(Tensor probs, Tensor labels, Tensor g, bool reduced, float scale) =>
        Tensor.CrossEntropyBackward(probs, labels, g, reduced, scale);

    // binary_cross_entropy_with_logits: d/dx = (σ(x) − t)·g, d/dt = −x·g (PyTorch differentiates the targets too).
    public static Tensor?[] BceWithLogits(Tensor x, Tensor t, Tensor g) =>
    [
        x.RequiresGrad ? Tensor.Map("BceWithLogitsBackward", x, t, new Ops.BceWithLogitsGradOp()) * g : null,
        t.RequiresGrad ? -x * g : null,
    ];
}
