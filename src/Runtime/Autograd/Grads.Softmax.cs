using DeepSharp.Backends;

namespace DeepSharp;

// Gradient rules of the fused softmax (one launch each).
internal static partial class Grads
{
    /// <summary>Softmax: y·(g − Σ g·y); log-softmax: g − softmax·Σ g = g − e^y·Σ g; sums along the axis, from the
    /// output y.</summary>
    public static Tensor Softmax(Tensor y, Tensor g, int axis, SoftmaxKind kind) => Tensor.SoftmaxBackward(y, g, axis, kind);
}
