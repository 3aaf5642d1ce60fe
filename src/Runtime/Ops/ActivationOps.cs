using System.Runtime.Intrinsics;
using H = System.Runtime.Intrinsics.Vector128<float>;
using V = System.Runtime.Intrinsics.Vector256<float>;
using M = DeepSharp.Ops.ActivationMath;

namespace DeepSharp.Ops;

// The activations' op structs (scalar, 8-lane and 4-lane rules, the same operations; documented on the Tensor methods).
// A parameter lives in a field, passed by value to every kernel (as RightScalar's constant). The gradient ops take
// a = the forward input x and b = dL/dy, and follow PyTorch's backward formulas (derivatives.yaml, ATen's Activation.cpp).

internal struct LeakyReluOp(float slope) : IUnaryOp
{
    public float Slope = slope;
    public float Apply(float x) => x > 0f ? x : x * Slope;
    public double Apply(double x) => x > 0.0 ? x : x * Slope;
    public V Apply(V x) => Vector256.ConditionalSelect(Vector256.GreaterThan(x, V.Zero), x, x * Vector256.Create(Slope));
    public H Apply(H x) => Vector128.ConditionalSelect(Vector128.GreaterThan(x, H.Zero), x, x * Vector128.Create(Slope));
}

/// <summary>x·Φ(x) = ½·x·(1 + erf(x/√2)) (PyTorch's exact GELU).</summary>
internal struct GeluOp : IUnaryOp
{
    internal const float InvSqrt2 = 0.707106781f;
    internal const double InvSqrt2D = 0.70710678118654752440;
    public float Apply(float x) => 0.5f * x * (1f + M.Erf(x * InvSqrt2));
    public double Apply(double x) => 0.5 * x * (1.0 + M.Erf(x * InvSqrt2D));
    public V Apply(V x) => Vector256.Create(0.5f) * x * (V.One + M.Erf(x * Vector256.Create(InvSqrt2)));
    public H Apply(H x) => Vector128.Create(0.5f) * x * (H.One + M.Erf(x * Vector128.Create(InvSqrt2)));
}

/// <summary>
/// ½·x·(1 + tanh(u)), u = √(2/π)·(x + 0.044715·x³), computed as x / (1 + e^(−2u)) (the same function: 1 + tanh u =
/// 2σ(2u)), which needs only exp and has no cancellation for negative x.
/// </summary>
internal struct GeluTanhOp : IUnaryOp
{
    internal const float Beta = 0.797884561f, Kappa = 0.044715f;
    internal const double BetaD = 0.79788456080286535588, KappaD = 0.044715;
    public float Apply(float x) => x / (1f + MathF.Exp(-2f * Beta * (x + Kappa * x * x * x)));
    public double Apply(double x) => x / (1.0 + Math.Exp(-2.0 * BetaD * (x + KappaD * x * x * x)));
    public V Apply(V x) => x / (V.One + Vector256.Exp(Vector256.Create(-2f * Beta) * (x + Vector256.Create(Kappa) * x * x * x)));
    public H Apply(H x) => x / (H.One + Vector128.Exp(Vector128.Create(-2f * Beta) * (x + Vector128.Create(Kappa) * x * x * x)));
}

internal struct SiluOp : IUnaryOp
{
    public float Apply(float x) => x / (1f + MathF.Exp(-x));
    public double Apply(double x) => x / (1.0 + Math.Exp(-x));
    public V Apply(V x) => x / (V.One + Vector256.Exp(-x));
    public H Apply(H x) => x / (H.One + Vector128.Exp(-x));
}

/// <summary>min(max(x, Min), Max); NaN stays NaN; Min &gt; Max gives Max everywhere (as torch.clamp).</summary>
internal struct ClampOp(float min, float max) : IUnaryOp
{
    public float Min = min, Max = max;
    public float Apply(float x)
    {
        float y = x < Min ? Min : x;
        return y > Max ? Max : y;
    }
    public double Apply(double x)
    {
        double y = x < Min ? Min : x;
        return y > Max ? Max : y;
    }
    public V Apply(V x)
    {
        V lo = Vector256.Create(Min), hi = Vector256.Create(Max);
        var y = Vector256.ConditionalSelect(Vector256.LessThan(x, lo), lo, x);
        return Vector256.ConditionalSelect(Vector256.GreaterThan(y, hi), hi, y);
    }
    public H Apply(H x)
    {
        H lo = Vector128.Create(Min), hi = Vector128.Create(Max);
        var y = Vector128.ConditionalSelect(Vector128.LessThan(x, lo), lo, x);
        return Vector128.ConditionalSelect(Vector128.GreaterThan(y, hi), hi, y);
    }
}

internal struct EluOp(float alpha) : IUnaryOp
{
    public float Alpha = alpha;
    public float Apply(float x) => x > 0f ? x : Alpha * M.Expm1(x);
    public double Apply(double x) => x > 0.0 ? x : Alpha * M.Expm1(x);
    public V Apply(V x) => Vector256.ConditionalSelect(Vector256.GreaterThan(x, V.Zero), x, Vector256.Create(Alpha) * M.Expm1(x));
    public H Apply(H x) => Vector128.ConditionalSelect(Vector128.GreaterThan(x, H.Zero), x, Vector128.Create(Alpha) * M.Expm1(x));
}

/// <summary>log(1 + e^(βx))/β, and x where βx &gt; threshold (PyTorch's softplus).</summary>
internal struct SoftplusOp(float beta, float threshold) : IUnaryOp
{
    public float Beta = beta, Threshold = threshold;
    public float Apply(float x) => x * Beta > Threshold ? x : LossMath.Log1p(MathF.Exp(x * Beta)) / Beta;
    public double Apply(double x) => x * Beta > Threshold ? x : LossMath.Log1p(Math.Exp(x * Beta)) / Beta;
    public V Apply(V x)
    {
        var bx = x * Vector256.Create(Beta);
        return Vector256.ConditionalSelect(Vector256.GreaterThan(bx, Vector256.Create(Threshold)), x,
            M.Log1p(Vector256.Exp(bx)) / Vector256.Create(Beta));
    }
    public H Apply(H x)
    {
        var bx = x * Vector128.Create(Beta);
        return Vector128.ConditionalSelect(Vector128.GreaterThan(bx, Vector128.Create(Threshold)), x,
            M.Log1p(Vector128.Exp(bx)) / Vector128.Create(Beta));
    }
}

internal struct ErfOp : IUnaryOp
{
    public float Apply(float x) => M.Erf(x);
    public double Apply(double x) => M.Erf(x);
    public V Apply(V x) => M.Erf(x);
    public H Apply(H x) => M.Erf(x);
}

/// <summary>leaky_relu_backward: x &gt; 0 ? g : g·slope (so slope at 0, and at NaN).</summary>
internal struct LeakyReluGradOp(float slope) : IBinaryOp
{
    public float Slope = slope;
    public float Apply(float a, float b) => a > 0f ? b : b * Slope;
    public double Apply(double a, double b) => a > 0.0 ? b : b * Slope;
    public V Apply(V a, V b) => Vector256.ConditionalSelect(Vector256.GreaterThan(a, V.Zero), b, b * Vector256.Create(Slope));
    public H Apply(H a, H b) => Vector128.ConditionalSelect(Vector128.GreaterThan(a, H.Zero), b, b * Vector128.Create(Slope));
}

/// <summary>gelu_backward (none): g·(Φ(x) + x·φ(x)).</summary>
internal struct GeluGradOp : IBinaryOp
{
    private const float InvSqrt2Pi = 0.398942280f;
    private const double InvSqrt2PiD = 0.39894228040143267794;
    public float Apply(float a, float b) =>
        b * (0.5f * (1f + M.Erf(a * GeluOp.InvSqrt2)) + a * InvSqrt2Pi * MathF.Exp(-0.5f * a * a));
    public double Apply(double a, double b) =>
        b * (0.5 * (1.0 + M.Erf(a * GeluOp.InvSqrt2D)) + a * InvSqrt2PiD * Math.Exp(-0.5 * a * a));
    public V Apply(V a, V b) => b * (Vector256.Create(0.5f) * (V.One + M.Erf(a * Vector256.Create(GeluOp.InvSqrt2)))
        + a * Vector256.Create(InvSqrt2Pi) * Vector256.Exp(Vector256.Create(-0.5f) * a * a));
    public H Apply(H a, H b) => b * (Vector128.Create(0.5f) * (H.One + M.Erf(a * Vector128.Create(GeluOp.InvSqrt2)))
        + a * Vector128.Create(InvSqrt2Pi) * Vector128.Exp(Vector128.Create(-0.5f) * a * a));
}

/// <summary>gelu_backward (tanh): g·(½(1 + tanh u) + ½x(1 − tanh²u)·β(1 + 3κx²)) with ½(1 + tanh u) = σ = σ(2u) and
/// 1 − tanh²u = 4σ(1 − σ).</summary>
internal struct GeluTanhGradOp : IBinaryOp
{
    public float Apply(float a, float b)
    {
        float s = 1f / (1f + MathF.Exp(-2f * GeluTanhOp.Beta * (a + GeluTanhOp.Kappa * a * a * a)));
        return b * (s + 2f * a * s * (1f - s) * GeluTanhOp.Beta * (1f + 3f * GeluTanhOp.Kappa * a * a));
    }
    public double Apply(double a, double b)
    {
        double s = 1.0 / (1.0 + Math.Exp(-2.0 * GeluTanhOp.BetaD * (a + GeluTanhOp.KappaD * a * a * a)));
        return b * (s + 2.0 * a * s * (1.0 - s) * GeluTanhOp.BetaD * (1.0 + 3.0 * GeluTanhOp.KappaD * a * a));
    }
    public V Apply(V a, V b)
    {
        var u = Vector256.Create(-2f * GeluTanhOp.Beta) * (a + Vector256.Create(GeluTanhOp.Kappa) * a * a * a);
        var s = V.One / (V.One + Vector256.Exp(u));
        return b * (s + Vector256.Create(2f) * a * s * (V.One - s) * Vector256.Create(GeluTanhOp.Beta)
            * (V.One + Vector256.Create(3f * GeluTanhOp.Kappa) * a * a));
    }
    public H Apply(H a, H b)
    {
        var u = Vector128.Create(-2f * GeluTanhOp.Beta) * (a + Vector128.Create(GeluTanhOp.Kappa) * a * a * a);
        var s = H.One / (H.One + Vector128.Exp(u));
        return b * (s + Vector128.Create(2f) * a * s * (H.One - s) * Vector128.Create(GeluTanhOp.Beta)
            * (H.One + Vector128.Create(3f * GeluTanhOp.Kappa) * a * a));
    }
}

/// <summary>silu_backward: g·σ(x)·(1 + x·(1 − σ(x))).</summary>
internal struct SiluGradOp : IBinaryOp
{
    public float Apply(float a, float b)
    {
        float s = 1f / (1f + MathF.Exp(-a));
        return b * s * (1f + a * (1f - s));
    }
    public double Apply(double a, double b)
    {
        double s = 1.0 / (1.0 + Math.Exp(-a));
        return b * s * (1.0 + a * (1.0 - s));
    }
    public V Apply(V a, V b)
    {
        var s = V.One / (V.One + Vector256.Exp(-a));
        return b * s * (V.One + a * (V.One - s));
    }
    public H Apply(H a, H b)
    {
        var s = H.One / (H.One + Vector128.Exp(-a));
        return b * s * (H.One + a * (H.One - s));
    }
}

/// <summary>hardtanh_backward: 0 where x ≤ min or x ≥ max (the bounds included), else g (also at NaN).</summary>
internal struct HardtanhGradOp(float min, float max) : IBinaryOp
{
    public float Min = min, Max = max;
    public float Apply(float a, float b) => a <= Min || a >= Max ? 0f : b;
    public double Apply(double a, double b) => a <= Min || a >= Max ? 0.0 : b;
    public V Apply(V a, V b) => Vector256.AndNot(b,
        Vector256.LessThanOrEqual(a, Vector256.Create(Min)) | Vector256.GreaterThanOrEqual(a, Vector256.Create(Max)));
    public H Apply(H a, H b) => Vector128.AndNot(b,
        Vector128.LessThanOrEqual(a, Vector128.Create(Min)) | Vector128.GreaterThanOrEqual(a, Vector128.Create(Max)));
}

/// <summary>clamp_backward: g where min ≤ x ≤ max (the bounds included), else 0 (also at NaN).</summary>
internal struct ClampGradOp(float min, float max) : IBinaryOp
{
    public float Min = min, Max = max;
    public float Apply(float a, float b) => a >= Min && a <= Max ? b : 0f;
    public double Apply(double a, double b) => a >= Min && a <= Max ? b : 0.0;
    public V Apply(V a, V b) => b &
        (Vector256.GreaterThanOrEqual(a, Vector256.Create(Min)) & Vector256.LessThanOrEqual(a, Vector256.Create(Max)));
    public H Apply(H a, H b) => b &
        (Vector128.GreaterThanOrEqual(a, Vector128.Create(Min)) & Vector128.LessThanOrEqual(a, Vector128.Create(Max)));
}

/// <summary>elu_backward: x ≤ 0 ? g·α·e^x : g (so α·g at 0, and g at NaN).</summary>
internal struct EluGradOp(float alpha) : IBinaryOp
{
    public float Alpha = alpha;
    public float Apply(float a, float b) => a <= 0f ? b * Alpha * MathF.Exp(a) : b;
    public double Apply(double a, double b) => a <= 0.0 ? b * Alpha * Math.Exp(a) : b;
    public V Apply(V a, V b) => Vector256.ConditionalSelect(Vector256.LessThanOrEqual(a, V.Zero),
        b * Vector256.Create(Alpha) * Vector256.Exp(a), b);
    public H Apply(H a, H b) => Vector128.ConditionalSelect(Vector128.LessThanOrEqual(a, H.Zero),
        b * Vector128.Create(Alpha) * Vector128.Exp(a), b);
}

/// <summary>softplus_backward: βx &gt; threshold ? g : g·σ(βx) (PyTorch's z/(z + 1) with z = e^(βx), without its overflow).</summary>
internal struct SoftplusGradOp(float beta, float threshold) : IBinaryOp
{
    public float Beta = beta, Threshold = threshold;
    public float Apply(float a, float b) => a * Beta > Threshold ? b : b / (1f + MathF.Exp(-a * Beta));
    public double Apply(double a, double b) => a * Beta > Threshold ? b : b / (1.0 + Math.Exp(-a * Beta));
    public V Apply(V a, V b)
    {
        var bx = a * Vector256.Create(Beta);
        return Vector256.ConditionalSelect(Vector256.GreaterThan(bx, Vector256.Create(Threshold)), b, b / (V.One + Vector256.Exp(-bx)));
    }
    public H Apply(H a, H b)
    {
        var bx = a * Vector128.Create(Beta);
        return Vector128.ConditionalSelect(Vector128.GreaterThan(bx, Vector128.Create(Threshold)), b, b / (H.One + Vector128.Exp(-bx)));
    }
}

/// <summary>erf'(x) = 2/√π·e^(−x²), times g.</summary>
internal struct ErfGradOp : IBinaryOp
{
    private const float TwoOverSqrtPi = 1.12837917f;
    private const double TwoOverSqrtPiD = 1.12837916709551257390;
    public float Apply(float a, float b) => b * TwoOverSqrtPi * MathF.Exp(-a * a);
    public double Apply(double a, double b) => b * TwoOverSqrtPiD * Math.Exp(-a * a);
    public V Apply(V a, V b) => b * Vector256.Create(TwoOverSqrtPi) * Vector256.Exp(-a * a);
    public H Apply(H a, H b) => b * Vector128.Create(TwoOverSqrtPi) * Vector128.Exp(-a * a);
}
