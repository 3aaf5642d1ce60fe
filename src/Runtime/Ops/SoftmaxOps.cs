using DeepSharp.Backends;

namespace DeepSharp.Ops;

/// <summary>
/// The scalar arithmetic of the fused softmax, shared by the CPU loops and the ILGPU kernels. As in
/// <see cref="LossMath"/>, a row is computed from max-shifted values only: R = Σ e^(x − m) over the elements below the
/// max m plus one for each further tie of it (so the max's own term, exactly 1, stays out), softmax = e^(x − m)/(1 + R)
/// and log-softmax = (x − m) − log1p(R). The log-sum-exp m + log(1 + R) is never formed, so logits near ±1e4 lose
/// nothing to float32's spacing there, and log-softmax of a dominant element keeps its tiny value.
/// </summary>
internal static class SoftmaxMath
{
    /// <summary>Whether a row's max leaves a result: all −inf (a fully masked row), +inf or NaN make the row NaN.</summary>
    public static bool Finite(float m) => m > float.NegativeInfinity && m < float.PositiveInfinity;

    /// <summary>R from the sum of the terms below the max and the count of elements equal to it.</summary>
    public static float Rest(float below, float ties) => below + (ties - 1f);

    /// <summary>The row's constant: 1/(1 + R) for softmax, log1p(R) for log-softmax.</summary>
    public static float Scale(float rest, SoftmaxKind kind) => kind == SoftmaxKind.Softmax ? 1f / (1f + rest) : LossMath.Log1p(rest);

    /// <summary>One output element from x, the row's max and its <see cref="Scale"/>.</summary>
    public static float Output(float x, float m, float scale, SoftmaxKind kind) =>
        !Finite(m) ? float.NaN : kind == SoftmaxKind.Softmax ? MathF.Exp(x - m) * scale : x - m - scale;

    /// <summary>One gradient element from y, g and the row's sum s (Σ g·y for softmax, Σ g for log-softmax).</summary>
    public static float Gradient(float y, float g, float s, SoftmaxKind kind) =>
        kind == SoftmaxKind.Softmax ? y * (g - s) : g - MathF.Exp(y) * s;
}
