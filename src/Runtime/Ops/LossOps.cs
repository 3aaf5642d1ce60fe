namespace DeepSharp.Ops;

/// <summary>
/// Scalar arithmetic of the fused losses, shared by the CPU loops and the ILGPU kernels.
/// </summary>
/// <remarks>
/// Cross-entropy of a row x with m = max x (first at index k) is computed from max-shifted values only:
/// R = Σ_{j≠k} e^(x_j − m), loss = log1p(R) − (x_label − m), softmax_j = e^(x_j − m) / (1 + R). The log-sum-exp
/// m + log(1 + R) is never formed: near |x| = 1e4 float32's spacing is 1e−3, and rounding it there cost the loss ~3e−4 and
/// the probabilities (e^(x − lse)) ~4e−5. Keeping the max's own term (exactly 1) out of R keeps a loss far below
/// float32's spacing near 1 (a label whose logit leads by 30: loss ≈ 1e−13).
/// </remarks>
internal static class LossMath
{
    /// <summary>log(1 + x), accurate for tiny x: log(u)·x/(u − 1) with u = 1 + x cancels u's rounding (Goldberg 1991,
    /// "What every computer scientist should know about floating-point arithmetic", theorem 4).</summary>
    public static float Log1p(float x)
    {
        float u = 1f + x;
        return u == 1f ? x : MathF.Log(u) * (x / (u - 1f));
    }

    /// <summary>Whether v replaces the running max m of a row: !(v ≤ m) holds for a larger v and for a NaN; the first NaN
    /// then stays (as in MaxOp).</summary>
    public static bool Beats(float v, float m) => !(v <= m) && !float.IsNaN(m);

    /// <summary>The max's own term of R, e^(x_k − m) − 1: 0, or NaN when m is ±inf or NaN and x_k − m is NaN (PyTorch's
    /// log-softmax is NaN for such rows too).</summary>
    public static float MaxTerm(float xk, float m) => xk - m == 0f ? 0f : float.NaN;

    /// <summary>The row's loss log1p(R) − (x_label − m).</summary>
    public static float CrossEntropy(float rest, float xLabel, float m) => Log1p(rest) - (xLabel - m);
}
