using System.Runtime.Intrinsics;
using V = System.Runtime.Intrinsics.Vector256<float>;

namespace DeepSharp.Ops;

#pragma warning disable CS1591 // One-line rules; documented on the Tensor methods that use them.
public struct AddOp : IBinaryOp { public float Apply(float a, float b) => a + b; public V Apply(V a, V b) => a + b; }
public struct SubOp : IBinaryOp { public float Apply(float a, float b) => a - b; public V Apply(V a, V b) => a - b; }
public struct MulOp : IBinaryOp { public float Apply(float a, float b) => a * b; public V Apply(V a, V b) => a * b; }
public struct DivOp : IBinaryOp { public float Apply(float a, float b) => a / b; public V Apply(V a, V b) => a / b; }
public struct PowOp : IBinaryOp { public float Apply(float a, float b) => MathF.Pow(a, b); public V Apply(V a, V b) => Lanes.Map(this, a, b); }

/// <summary>Larger of a and b; NaN if either is NaN (torch.maximum).</summary>
public struct MaximumOp : IBinaryOp
{
    public float Apply(float a, float b) => float.IsNaN(a) || a > b ? a : b;
    public V Apply(V a, V b) => Vector256.ConditionalSelect(Vector256.GreaterThan(a, b) | ~Vector256.Equals(a, a), a, b);
}

/// <summary>Smaller of a and b; NaN if either is NaN (torch.minimum).</summary>
public struct MinimumOp : IBinaryOp
{
    public float Apply(float a, float b) => float.IsNaN(a) || a < b ? a : b;
    public V Apply(V a, V b) => Vector256.ConditionalSelect(Vector256.LessThan(a, b) | ~Vector256.Equals(a, a), a, b);
}

// Comparisons give a float32 mask of 1 and 0 (IEEE rules: every comparison with NaN is false except !=).
public struct EqOp : IBinaryOp { public float Apply(float a, float b) => a == b ? 1f : 0f; public V Apply(V a, V b) => Vector256.Equals(a, b) & V.One; }
public struct NeOp : IBinaryOp { public float Apply(float a, float b) => a != b ? 1f : 0f; public V Apply(V a, V b) => ~Vector256.Equals(a, b) & V.One; }
public struct LtOp : IBinaryOp { public float Apply(float a, float b) => a < b ? 1f : 0f; public V Apply(V a, V b) => Vector256.LessThan(a, b) & V.One; }
public struct LeOp : IBinaryOp { public float Apply(float a, float b) => a <= b ? 1f : 0f; public V Apply(V a, V b) => Vector256.LessThanOrEqual(a, b) & V.One; }
public struct GtOp : IBinaryOp { public float Apply(float a, float b) => a > b ? 1f : 0f; public V Apply(V a, V b) => Vector256.GreaterThan(a, b) & V.One; }
public struct GeOp : IBinaryOp { public float Apply(float a, float b) => a >= b ? 1f : 0f; public V Apply(V a, V b) => Vector256.GreaterThanOrEqual(a, b) & V.One; }

// Backward rules of activations in one kernel each: a is the forward input (ReLU) or output (sigmoid, tanh), b is dL/dy.
public struct ReluGradOp : IBinaryOp { public float Apply(float a, float b) => a > 0f ? b : 0f; public V Apply(V a, V b) => Vector256.GreaterThan(a, V.Zero) & b; }
public struct SigmoidGradOp : IBinaryOp { public float Apply(float a, float b) => b * a * (1f - a); public V Apply(V a, V b) => b * a * (V.One - a); }
public struct TanhGradOp : IBinaryOp { public float Apply(float a, float b) => b * (1f - a * a); public V Apply(V a, V b) => b * (V.One - a * a); }

public struct SumOp : IReduceOp { public float Identity => 0f; public float Combine(float a, float b) => a + b; public V Combine(V a, V b) => a + b; }
public struct MaxOp : IReduceOp { public float Identity => float.NegativeInfinity; public float Combine(float a, float b) => default(MaximumOp).Apply(a, b); public V Combine(V a, V b) => default(MaximumOp).Apply(a, b); }
public struct MinOp : IReduceOp { public float Identity => float.PositiveInfinity; public float Combine(float a, float b) => default(MinimumOp).Apply(a, b); public V Combine(V a, V b) => default(MinimumOp).Apply(a, b); }
#pragma warning restore CS1591
