using System.Runtime.Intrinsics;
using H = System.Runtime.Intrinsics.Vector128<float>;
using V = System.Runtime.Intrinsics.Vector256<float>;

namespace DeepSharp.Ops;

/// <summary>
/// Special functions of the activations in float32, written once for the scalar rule (CPU tails and every ILGPU kernel:
/// only +, ·, /, comparisons and exp) and the 8- and 4-lane CPU rules, which compute the same operations.
/// </summary>
internal static class ActivationMath
{
    /// <summary>Where <see cref="Erf(float)"/> switches from the odd polynomial to 1 − e^p(|x|).</summary>
    private const float ErfSplit = 0.921875f;

    /// <summary>erf(|x|) is 1 in float32 beyond this (erfc(4) ≈ 1.5e−8 is below half an ulp of 1).</summary>
    private const float ErfSaturate = 4f;

    // Near-minimax fits (mpmath.chebyfit, float32-rounded; the float32 evaluation below stays within ~1.1 ulp of the true
    // erf in an emulation with a correctly rounded exp, and ElementwiseTests checks it against a double reference):
    // erf(x)/x − 1 as a polynomial in x² on [0, 0.921875], and log(erfc(t)) as a polynomial in t on [0.921875, 4].
    private const float S6 = 8.38759079e-05f, S5 = -0.000814720232f, S4 = 0.00520146685f, S3 = -0.0268595926f,
        S2 = 0.112836994f, S1 = -0.376126349f, S0 = 0.128379166f;
    private const float L10 = -4.82506302e-08f, L9 = 1.14712816e-06f, L8 = -1.03585044e-05f, L7 = 2.6528518e-05f,
        L6 = 0.000315566664f, L5 = -0.00403093826f, L4 = 0.0251429062f, L3 = -0.108580694f, L2 = -0.632952213f,
        L1 = -1.12974393f, L0 = 0.000226575896f;

    /// <summary>The error function to about one ulp: ±1 at ±inf, NaN stays NaN, −0 stays −0.</summary>
    public static float Erf(float x)
    {
        float t = MathF.Abs(x);
        if (t < ErfSplit)
        {
            float s = t * t;
            float r = S0 + s * (S1 + s * (S2 + s * (S3 + s * (S4 + s * (S5 + s * S6)))));
            return x + x * r;
        }
        float u = t > ErfSaturate ? ErfSaturate : t; // a NaN stays NaN here and below
        float p = L0 + u * (L1 + u * (L2 + u * (L3 + u * (L4 + u * (L5 + u * (L6 + u * (L7 + u * (L8 + u * (L9 + u * L10)))))))));
        float e = 1f - MathF.Exp(p);
        return x < 0f ? -e : e;
    }

    /// <inheritdoc cref="Erf(float)"/>
    public static V Erf(V x)
    {
        var t = Vector256.Abs(x);
        var s = t * t;
        var r = Splat(S0) + s * (Splat(S1) + s * (Splat(S2) + s * (Splat(S3) + s * (Splat(S4) + s * (Splat(S5) + s * Splat(S6))))));
        var small = x + x * r;
        var u = Vector256.ConditionalSelect(Vector256.GreaterThan(t, Splat(ErfSaturate)), Splat(ErfSaturate), t);
        var p = Splat(L0) + u * (Splat(L1) + u * (Splat(L2) + u * (Splat(L3) + u * (Splat(L4) + u * (Splat(L5) + u * (Splat(L6)
            + u * (Splat(L7) + u * (Splat(L8) + u * (Splat(L9) + u * Splat(L10))))))))));
        var e = V.One - Vector256.Exp(p);
        var large = Vector256.ConditionalSelect(Vector256.LessThan(x, V.Zero), -e, e);
        return Vector256.ConditionalSelect(Vector256.LessThan(t, Splat(ErfSplit)), small, large);
    }

    /// <inheritdoc cref="Erf(float)"/>
    public static H Erf(H x)
    {
        var t = Vector128.Abs(x);
        var s = t * t;
        var r = Half(S0) + s * (Half(S1) + s * (Half(S2) + s * (Half(S3) + s * (Half(S4) + s * (Half(S5) + s * Half(S6))))));
        var small = x + x * r;
        var u = Vector128.ConditionalSelect(Vector128.GreaterThan(t, Half(ErfSaturate)), Half(ErfSaturate), t);
        var p = Half(L0) + u * (Half(L1) + u * (Half(L2) + u * (Half(L3) + u * (Half(L4) + u * (Half(L5) + u * (Half(L6)
            + u * (Half(L7) + u * (Half(L8) + u * (Half(L9) + u * Half(L10))))))))));
        var e = H.One - Vector128.Exp(p);
        var large = Vector128.ConditionalSelect(Vector128.LessThan(x, H.Zero), -e, e);
        return Vector128.ConditionalSelect(Vector128.LessThan(t, Half(ErfSplit)), small, large);
    }

    /// <summary>Below this |x|, <see cref="Expm1(float)"/> sums its Taylor series instead of subtracting 1 from e^x.</summary>
    private const float Expm1Series = 0.5f;

    /// <summary>
    /// e^x − 1 to float32 precision for small |x| too (ELU near 0): for |x| &lt; 0.5 the Taylor series to x⁹ (the rest is
    /// below 3e−10 relative), elsewhere e^x − 1, which loses nothing there. −inf gives −1, NaN stays NaN.
    /// </summary>
    public static float Expm1(float x)
    {
        if (!(MathF.Abs(x) < Expm1Series)) return MathF.Exp(x) - 1f;
        return x + x * x * (1f / 2 + x * (1f / 6 + x * (1f / 24 + x * (1f / 120 + x * (1f / 720 + x * (1f / 5040
            + x * (1f / 40320 + x * (1f / 362880))))))));
    }

    /// <inheritdoc cref="Expm1(float)"/>
    public static V Expm1(V x)
    {
        var series = x + x * x * (Splat(1f / 2) + x * (Splat(1f / 6) + x * (Splat(1f / 24) + x * (Splat(1f / 120) + x * (Splat(1f / 720)
            + x * (Splat(1f / 5040) + x * (Splat(1f / 40320) + x * Splat(1f / 362880))))))));
        return Vector256.ConditionalSelect(Vector256.LessThan(Vector256.Abs(x), Splat(Expm1Series)), series, Vector256.Exp(x) - V.One);
    }

    /// <inheritdoc cref="Expm1(float)"/>
    public static H Expm1(H x)
    {
        var series = x + x * x * (Half(1f / 2) + x * (Half(1f / 6) + x * (Half(1f / 24) + x * (Half(1f / 120) + x * (Half(1f / 720)
            + x * (Half(1f / 5040) + x * (Half(1f / 40320) + x * Half(1f / 362880))))))));
        return Vector128.ConditionalSelect(Vector128.LessThan(Vector128.Abs(x), Half(Expm1Series)), series, Vector128.Exp(x) - H.One);
    }

    /// <summary>log(1 + x) for x ≥ 0 (<see cref="LossMath.Log1p(float)"/>) on 8 lanes.</summary>
    public static V Log1p(V x)
    {
        var s = x / (Splat(2f) + x);
        return Vector256.ConditionalSelect(Vector256.LessThan(x, Splat(LossMath.SeriesBelow)), s * LossMath.Series(s * s),
            Vector256.Log(V.One + x));
    }

    /// <summary>log(1 + x) for x ≥ 0 (<see cref="LossMath.Log1p(float)"/>) on 4 lanes.</summary>
    public static H Log1p(H x)
    {
        var s = x / (Half(2f) + x);
        return Vector128.ConditionalSelect(Vector128.LessThan(x, Half(LossMath.SeriesBelow)), s * LossMath.Series(s * s),
            Vector128.Log(H.One + x));
    }

    // Double precision (float64 tensors): sums and continued fractions that converge past the last bit, in plain arithmetic
    // and Math.Exp, so every device computes them alike, to a few ulp. Float64Tests checks them against the C library's.

    /// <summary>erf(|x|) is 1 in float64 beyond this (erfc(6) ≈ 2e−17 is below half an ulp of 1).</summary>
    private const double ErfSaturateD = 6.0;
    private const double TwoOverSqrtPiMinus1 = 0.12837916709551257390, InvSqrtPi = 0.56418958354775628695;

    /// <summary>
    /// The error function in double precision, within 2 ulp of the C library's (Float64Tests): below |x| = 1 its Taylor
    /// series Σ (−x²)ⁿ/(n!(2n+1)) to n = 22, nested so the small terms add first; from 1 on, 1 − erfc x from erfc's
    /// continued fraction. ±1 beyond 6, NaN stays NaN, ±0 kept.
    /// </summary>
    public static double Erf(double x)
    {
        double t = Math.Abs(x);
        if (!(t < ErfSaturateD)) return double.IsNaN(x) ? x : x < 0.0 ? -1.0 : 1.0;
        double e;
        if (t < 1.0)
        {
            double u = -t * t, acc = 1.0 / 45; // 1/(2N + 1) for N = 22: u²²/22! is below 1e−21
            for (int n = 22; n >= 2; n--) acc = 1.0 / (2 * n - 1) + u / n * acc;
            double s = t + t * (u * acc);
            e = s + s * TwoOverSqrtPiMinus1; // 2/√π = 1 + 0.128…: only the small part's rounding reaches the result
        }
        else e = 1.0 - Erfc(t);
        return x < 0.0 ? -e : x == 0.0 ? x : e; // ±0 kept
    }

    /// <summary>erfc t for t ≥ 1: e^(−t²)/√π / (t + (1/2)/(t + 1/(t + (3/2)/(t + …)))), evaluated back from depth 250 below
    /// t = 1.5 and 120 above (then within an ulp), with t² split exactly into hi + lo so its rounding does not reach the exp:
    /// e^(−t²) = e^(−hi)·(1 − lo).</summary>
    private static double Erfc(double t)
    {
        double f = t;
        for (int k = t < 1.5 ? 250 : 120; k >= 1; k--) f = t + 0.5 * k / f;
        // t² = hi + lo exactly by Dekker's split of t into 26-bit halves (no fused multiply-add: OpenCL C rejects ILGPU's).
        double c = 134217729.0 * t, th = c - (c - t), tl = t - th, hi = t * t;
        double lo = th * th - hi + 2.0 * th * tl + tl * tl;
        return InvSqrtPi * (Math.Exp(-hi) * (1.0 - lo)) / f;
    }

    /// <summary>e^x − 1 in double precision: the Taylor series to x¹⁷ for |x| &lt; 0.5 (the rest is below 1e−19 relative),
    /// elsewhere e^x − 1. −inf gives −1, NaN stays NaN.</summary>
    public static double Expm1(double x)
    {
        if (!(Math.Abs(x) < 0.5)) return Math.Exp(x) - 1.0;
        if (x == 0.0) return x; // ±0 kept
        double term = x, sum = x;
        for (int n = 2; n <= 17; n++) { term *= x / n; sum += term; }
        return sum;
    }

    private static V Splat(float v) => Vector256.Create(v);
    private static H Half(float v) => Vector128.Create(v);
}
