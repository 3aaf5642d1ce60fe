using System.Runtime.Intrinsics;
using V = System.Runtime.Intrinsics.Vector256<float>;

namespace DeepSharp.Ops;

/// <summary>
/// Binary cross-entropy with logits, elementwise (a = logit x, b = target t): max(x, 0) − x·t + log1p(e^−|x|), PyTorch's
/// stable form. log1p keeps the last term where e^−|x| is below float32's spacing near 1 (|x| &gt; 17): at x = 20,
/// t = 1 the loss is e^−20 ≈ 2e−9, not 0.
/// </summary>
public struct BceWithLogitsOp : IBinaryOp
{
    /// <inheritdoc/>
    public float Apply(float x, float t) => (x > 0f ? x : 0f) - x * t + LossMath.Log1p(MathF.Exp(-MathF.Abs(x)));

    /// <inheritdoc/>
    public V Apply(V x, V t)
    {
        var e = Vector256.Exp(-Vector256.Abs(x));
        var u = V.One + e;
        var log1p = Vector256.ConditionalSelect(Vector256.Equals(u, V.One), e, Vector256.Log(u) * (e / (u - V.One)));
        return Vector256.ConditionalSelect(Vector256.GreaterThan(x, V.Zero), x, V.Zero) - x * t + log1p;
    }
}

/// <summary>
/// d/dx of <see cref="BceWithLogitsOp"/>: σ(x) − t (PyTorch's binary_cross_entropy_with_logits_backward), smooth
/// everywhere — at x = 0 it is 0.5 − t, where the max/abs composite's subgradients gave −t.
/// </summary>
public struct BceWithLogitsGradOp : IBinaryOp
{
    /// <inheritdoc/>
    public float Apply(float x, float t) => default(SigmoidOp).Apply(x) - t;
    /// <inheritdoc/>
    public V Apply(V x, V t) => default(SigmoidOp).Apply(x) - t;
}

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
