using System.Runtime.Intrinsics;
using H = System.Runtime.Intrinsics.Vector128<float>;
using V = System.Runtime.Intrinsics.Vector256<float>;

namespace DeepSharp.Ops;

/// <summary>
/// Binary cross-entropy with logits, elementwise (a = logit x, b = target t): max(x, 0) − x·t + log1p(e^−|x|), PyTorch's
/// stable form. log1p keeps the last term where e^−|x| is below float32's spacing near 1 (|x| &gt; 17): at x = 20,
/// t = 1 the loss is e^−20 ≈ 2e−9, not 0.
/// </summary>
internal struct BceWithLogitsOp : IBinaryOp
{
    /// <inheritdoc/>
    public float Apply(float x, float t) => (x > 0f ? x : 0f) - x * t + LossMath.Log1p(MathF.Exp(-MathF.Abs(x)));
    public double Apply(double x, double t) => (x > 0.0 ? x : 0.0) - x * t + LossMath.Log1p(Math.Exp(-Math.Abs(x)));

    /// <inheritdoc/>
    public V Apply(V x, V t)
    {
        var e = Vector256.Exp(-Vector256.Abs(x));
        var s = e / (Vector256.Create(2f) + e);
        var log1p = Vector256.ConditionalSelect(Vector256.LessThan(e, Vector256.Create(LossMath.SeriesBelow)),
            s * LossMath.Series(s * s), Vector256.Log(V.One + e));
        return Vector256.ConditionalSelect(Vector256.GreaterThan(x, V.Zero), x, V.Zero) - x * t + log1p;
    }

    /// <inheritdoc/>
    public H Apply(H x, H t)
    {
        var e = Vector128.Exp(-Vector128.Abs(x));
        var s = e / (Vector128.Create(2f) + e);
        var log1p = Vector128.ConditionalSelect(Vector128.LessThan(e, Vector128.Create(LossMath.SeriesBelow)),
            s * LossMath.Series(s * s), Vector128.Log(H.One + e));
        return Vector128.ConditionalSelect(Vector128.GreaterThan(x, H.Zero), x, H.Zero) - x * t + log1p;
    }
}

/// <summary>
/// d/dx of <see cref="BceWithLogitsOp"/>: σ(x) − t (PyTorch's binary_cross_entropy_with_logits_backward), smooth
/// everywhere — at x = 0 it is 0.5 − t, where the max/abs composite's subgradients gave −t.
/// </summary>
internal struct BceWithLogitsGradOp : IBinaryOp
{
    /// <inheritdoc/>
    public float Apply(float x, float t) => default(SigmoidOp).Apply(x) - t;
    public double Apply(double x, double t) => default(SigmoidOp).Apply(x) - t;
    /// <inheritdoc/>
    public V Apply(V x, V t) => default(SigmoidOp).Apply(x) - t;
    /// <inheritdoc/>
    public H Apply(H x, H t) => default(SigmoidOp).Apply(x) - t;
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
    /// <summary>Below this x, <see cref="Log1p(float)"/> sums a series instead of calling log.</summary>
    public const float SeriesBelow = 0.5f;

    /// <summary>
    /// log(1 + x) for x ≥ 0 to float32 precision on every device, tiny x included. Below 0.5 it is 2·atanh(s) with
    /// s = x/(2 + x) ≤ 0.2, summed to s⁹ (the rest is below 1e−8 relative): only +, ·, / — CUDA's log is an
    /// approximation with an absolute error near 2^−22 around 1, far too coarse for log(1 + 1e−6). Above, log(1 + x) ≥ 0.4.
    /// NaN and +inf pass through the log.
    /// </summary>
    public static float Log1p(float x)
    {
        if (!(x < SeriesBelow)) return MathF.Log(1f + x);
        float s = x / (2f + x);
        return s * Series(s * s);
    }

    /// <summary>log(1 + x) for x ≥ 0 in double precision: below 0.5, 2·atanh(s) with s = x/(2 + x) ≤ 0.2 summed to s²⁵ (the
    /// rest is below 1e−18 relative); above, log(1 + x) ≥ 0.4.</summary>
    public static double Log1p(double x)
    {
        if (!(x < SeriesBelow)) return Math.Log(1.0 + x);
        double s = x / (2.0 + x), s2 = s * s, sum = 0.0;
        for (int k = 25; k >= 1; k -= 2) sum = 1.0 / k + s2 * sum;
        return 2.0 * s * sum;
    }

    /// <summary>2·atanh(s)/s = 2·(1 + s²/3 + s⁴/5 + s⁶/7 + s⁸/9), Horner in s².</summary>
    public static float Series(float s2) => 2f * (1f + s2 * (1f / 3f + s2 * (1f / 5f + s2 * (1f / 7f + s2 * (1f / 9f)))));

    /// <inheritdoc cref="Series(float)"/>
    public static V Series(V s2) =>
        Vector256.Create(2f) * (V.One + s2 * (Vector256.Create(1f / 3f) + s2 * (Vector256.Create(1f / 5f)
            + s2 * (Vector256.Create(1f / 7f) + s2 * Vector256.Create(1f / 9f)))));

    /// <inheritdoc cref="Series(float)"/>
    public static H Series(H s2) =>
        Vector128.Create(2f) * (H.One + s2 * (Vector128.Create(1f / 3f) + s2 * (Vector128.Create(1f / 5f)
            + s2 * (Vector128.Create(1f / 7f) + s2 * Vector128.Create(1f / 9f)))));

    /// <summary>Whether v replaces the running max m of a row: !(v ≤ m) holds for a larger v and for a NaN; the first NaN
    /// then stays (as in MaxOp).</summary>
    public static bool Beats(float v, float m) => !(v <= m) && !float.IsNaN(m);

    /// <summary>The max's own term of R, e^(x_k − m) − 1: 0, or NaN when m is ±inf or NaN and x_k − m is NaN (PyTorch's
    /// log-softmax is NaN for such rows too).</summary>
    public static float MaxTerm(float xk, float m) => xk - m == 0f ? 0f : float.NaN;

    /// <summary>The row's loss log1p(R) − (x_label − m).</summary>
    public static float CrossEntropy(float rest, float xLabel, float m) => Log1p(rest) - (xLabel - m);
}
