using System.Runtime.Intrinsics;
using H = System.Runtime.Intrinsics.Vector128<float>;
using V = System.Runtime.Intrinsics.Vector256<float>;

namespace DeepSharp.Ops;

// Scalar, 8-lane and 4-lane rules, the same operations; documented on the Tensor methods that use them.
internal struct AddOp : IBinaryOp
{
    public float Apply(float a, float b) => a + b;
    public double Apply(double a, double b) => a + b;
    public V Apply(V a, V b) => a + b;
    public H Apply(H a, H b) => a + b;
}
internal struct SubOp : IBinaryOp
{
    public float Apply(float a, float b) => a - b;
    public double Apply(double a, double b) => a - b;
    public V Apply(V a, V b) => a - b;
    public H Apply(H a, H b) => a - b;
}
internal struct MulOp : IBinaryOp
{
    public float Apply(float a, float b) => a * b;
    public double Apply(double a, double b) => a * b;
    public V Apply(V a, V b) => a * b;
    public H Apply(H a, H b) => a * b;
}
internal struct DivOp : IBinaryOp
{
    public float Apply(float a, float b) => a / b;
    public double Apply(double a, double b) => a / b;
    public V Apply(V a, V b) => a / b;
    public H Apply(H a, H b) => a / b;
}
internal struct PowOp : IBinaryOp
{
    public float Apply(float a, float b) => MathF.Pow(a, b);
    public double Apply(double a, double b) => Math.Pow(a, b);
    public V Apply(V a, V b) => Lanes.Map(this, a, b);
    public H Apply(H a, H b) => Lanes.Map(this, a, b);
}

/// <summary>Larger of a and b; NaN if either is NaN (torch.maximum).</summary>
internal struct MaximumOp : IBinaryOp
{
    public float Apply(float a, float b) => float.IsNaN(a) || a > b ? a : b;
    public double Apply(double a, double b) => double.IsNaN(a) || a > b ? a : b;
    public V Apply(V a, V b) => Vector256.ConditionalSelect(Vector256.GreaterThan(a, b) | ~Vector256.Equals(a, a), a, b);
    public H Apply(H a, H b) => Vector128.ConditionalSelect(Vector128.GreaterThan(a, b) | ~Vector128.Equals(a, a), a, b);
}

/// <summary>Smaller of a and b; NaN if either is NaN (torch.minimum).</summary>
internal struct MinimumOp : IBinaryOp
{
    public float Apply(float a, float b) => float.IsNaN(a) || a < b ? a : b;
    public double Apply(double a, double b) => double.IsNaN(a) || a < b ? a : b;
    public V Apply(V a, V b) => Vector256.ConditionalSelect(Vector256.LessThan(a, b) | ~Vector256.Equals(a, a), a, b);
    public H Apply(H a, H b) => Vector128.ConditionalSelect(Vector128.LessThan(a, b) | ~Vector128.Equals(a, a), a, b);
}

// Comparisons give a float32 mask of 1 and 0 (IEEE rules: every comparison with NaN is false except !=).
internal struct EqOp : IBinaryOp
{
    public float Apply(float a, float b) => a == b ? 1f : 0f;
    public double Apply(double a, double b) => a == b ? 1.0 : 0.0;
    public V Apply(V a, V b) => Vector256.Equals(a, b) & V.One;
    public H Apply(H a, H b) => Vector128.Equals(a, b) & H.One;
}
internal struct NeOp : IBinaryOp
{
    public float Apply(float a, float b) => a != b ? 1f : 0f;
    public double Apply(double a, double b) => a != b ? 1.0 : 0.0;
    public V Apply(V a, V b) => ~Vector256.Equals(a, b) & V.One;
    public H Apply(H a, H b) => ~Vector128.Equals(a, b) & H.One;
}
internal struct LtOp : IBinaryOp
{
    public float Apply(float a, float b) => a < b ? 1f : 0f;
    public double Apply(double a, double b) => a < b ? 1.0 : 0.0;
    public V Apply(V a, V b) => Vector256.LessThan(a, b) & V.One;
    public H Apply(H a, H b) => Vector128.LessThan(a, b) & H.One;
}
internal struct LeOp : IBinaryOp
{
    public float Apply(float a, float b) => a <= b ? 1f : 0f;
    public double Apply(double a, double b) => a <= b ? 1.0 : 0.0;
    public V Apply(V a, V b) => Vector256.LessThanOrEqual(a, b) & V.One;
    public H Apply(H a, H b) => Vector128.LessThanOrEqual(a, b) & H.One;
}
internal struct GtOp : IBinaryOp
{
    public float Apply(float a, float b) => a > b ? 1f : 0f;
    public double Apply(double a, double b) => a > b ? 1.0 : 0.0;
    public V Apply(V a, V b) => Vector256.GreaterThan(a, b) & V.One;
    public H Apply(H a, H b) => Vector128.GreaterThan(a, b) & H.One;
}
internal struct GeOp : IBinaryOp
{
    public float Apply(float a, float b) => a >= b ? 1f : 0f;
    public double Apply(double a, double b) => a >= b ? 1.0 : 0.0;
    public V Apply(V a, V b) => Vector256.GreaterThanOrEqual(a, b) & V.One;
    public H Apply(H a, H b) => Vector128.GreaterThanOrEqual(a, b) & H.One;
}

// Backward rules of activations in one kernel each: a is the forward input (ReLU) or output (sigmoid, tanh), b is dL/dy.
// ReLU masks where x ≤ 0 (PyTorch's threshold_backward): a NaN input passes its gradient on, as relu(NaN) = NaN does.
internal struct ReluGradOp : IBinaryOp
{
    public float Apply(float a, float b) => a <= 0f ? 0f : b;
    public double Apply(double a, double b) => a <= 0.0 ? 0.0 : b;
    public V Apply(V a, V b) => Vector256.AndNot(b, Vector256.LessThanOrEqual(a, V.Zero));
    public H Apply(H a, H b) => Vector128.AndNot(b, Vector128.LessThanOrEqual(a, H.Zero));
}
/// <summary>a's share of the gradient of max(a, b): 0 where a &lt; b, ½ on a tie, else 1 (also when either is NaN).</summary>
internal struct MaxShareOp : IBinaryOp
{
    public float Apply(float a, float b) => a < b ? 0f : a == b ? 0.5f : 1f;
    public double Apply(double a, double b) => a < b ? 0.0 : a == b ? 0.5 : 1.0;
    public V Apply(V a, V b) => Vector256.ConditionalSelect(Vector256.LessThan(a, b), V.Zero,
        Vector256.ConditionalSelect(Vector256.Equals(a, b), Vector256.Create(0.5f), V.One));
    public H Apply(H a, H b) => Vector128.ConditionalSelect(Vector128.LessThan(a, b), H.Zero,
        Vector128.ConditionalSelect(Vector128.Equals(a, b), Vector128.Create(0.5f), H.One));
}

/// <summary>a·b, but exactly 0 where the weight a is 0 (b may be infinite): a masked gradient.</summary>
internal struct MaskedScaleOp : IBinaryOp
{
    public float Apply(float a, float b) => a == 0f ? 0f : a * b;
    public double Apply(double a, double b) => a == 0.0 ? 0.0 : a * b;
    public V Apply(V a, V b) => Vector256.AndNot(a * b, Vector256.Equals(a, V.Zero));
    public H Apply(H a, H b) => Vector128.AndNot(a * b, Vector128.Equals(a, H.Zero));
}

/// <summary>d(a^b)/da = b·a^(b−1), and 0 where b == 0 (PyTorch's pow_backward_self).</summary>
internal struct PowBaseGradOp : IBinaryOp
{
    public float Apply(float a, float b) => b == 0f ? 0f : b * MathF.Pow(a, b - 1f);
    public double Apply(double a, double b) => b == 0.0 ? 0.0 : b * Math.Pow(a, b - 1.0);
    public V Apply(V a, V b) => Lanes.Map(this, a, b);
    public H Apply(H a, H b) => Lanes.Map(this, a, b);
}

/// <summary>d(a^b)/db = a^b·log a, and 0 where a == 0 and b ≥ 0 (PyTorch's pow_backward_exponent).</summary>
internal struct PowExponentGradOp : IBinaryOp
{
    public float Apply(float a, float b) => a == 0f && b >= 0f ? 0f : MathF.Pow(a, b) * MathF.Log(a);
    public double Apply(double a, double b) => a == 0.0 && b >= 0.0 ? 0.0 : Math.Pow(a, b) * Math.Log(a);
    public V Apply(V a, V b) => Lanes.Map(this, a, b);
    public H Apply(H a, H b) => Lanes.Map(this, a, b);
}

internal struct SigmoidGradOp : IBinaryOp
{
    public float Apply(float a, float b) => b * a * (1f - a);
    public double Apply(double a, double b) => b * a * (1.0 - a);
    public V Apply(V a, V b) => b * a * (V.One - a);
    public H Apply(H a, H b) => b * a * (H.One - a);
}
internal struct TanhGradOp : IBinaryOp
{
    public float Apply(float a, float b) => b * (1f - a * a);
    public double Apply(double a, double b) => b * (1.0 - a * a);
    public V Apply(V a, V b) => b * (V.One - a * a);
    public H Apply(H a, H b) => b * (H.One - a * a);
}

internal struct SumOp : IReduceOp
{
    public float Identity => 0f;
    double IReduceOp<double>.Identity => 0.0;
    public float Combine(float a, float b) => a + b;
    public double Combine(double a, double b) => a + b;
    public V Combine(V a, V b) => a + b;
    public H Combine(H a, H b) => a + b;
}
internal struct MaxOp : IReduceOp
{
    public float Identity => float.NegativeInfinity;
    double IReduceOp<double>.Identity => double.NegativeInfinity;
    public float Combine(float a, float b) => default(MaximumOp).Apply(a, b);
    public double Combine(double a, double b) => default(MaximumOp).Apply(a, b);
    public V Combine(V a, V b) => default(MaximumOp).Apply(a, b);
    public H Combine(H a, H b) => default(MaximumOp).Apply(a, b);
}
internal struct MinOp : IReduceOp
{
    public float Identity => float.PositiveInfinity;
    double IReduceOp<double>.Identity => double.PositiveInfinity;
    public float Combine(float a, float b) => default(MinimumOp).Apply(a, b);
    public double Combine(double a, double b) => default(MinimumOp).Apply(a, b);
    public V Combine(V a, V b) => default(MinimumOp).Apply(a, b);
    public H Combine(H a, H b) => default(MinimumOp).Apply(a, b);
}
