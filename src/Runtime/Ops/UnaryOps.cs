using System.Runtime.Intrinsics;
using H = System.Runtime.Intrinsics.Vector128<float>;
using V = System.Runtime.Intrinsics.Vector256<float>;

namespace DeepSharp.Ops;

// The op structs are self-describing: scalar, 8-lane and 4-lane rules, the same operations; their summaries are on the
// Tensor methods.
internal struct NegOp : IUnaryOp
{
    public float Apply(float x) => -x;
    public double Apply(double x) => -x;
    public V Apply(V x) => -x;
    public H Apply(H x) => -x;
}
internal struct AbsOp : IUnaryOp
{
    public float Apply(float x) => MathF.Abs(x);
    public double Apply(double x) => Math.Abs(x);
    public V Apply(V x) => Vector256.Abs(x);
    public H Apply(H x) => Vector128.Abs(x);
}
internal struct ExpOp : IUnaryOp
{
    public float Apply(float x) => MathF.Exp(x);
    public double Apply(double x) => Math.Exp(x);
    public V Apply(V x) => Vector256.Exp(x);
    public H Apply(H x) => Vector128.Exp(x);
}
internal struct LogOp : IUnaryOp
{
    public float Apply(float x) => MathF.Log(x);
    public double Apply(double x) => Math.Log(x);
    public V Apply(V x) => Vector256.Log(x);
    public H Apply(H x) => Vector128.Log(x);
}
internal struct SqrtOp : IUnaryOp
{
    public float Apply(float x) => MathF.Sqrt(x);
    public double Apply(double x) => Math.Sqrt(x);
    public V Apply(V x) => Vector256.Sqrt(x);
    public H Apply(H x) => Vector128.Sqrt(x);
}
internal struct SquareOp : IUnaryOp
{
    public float Apply(float x) => x * x;
    public double Apply(double x) => x * x;
    public V Apply(V x) => x * x;
    public H Apply(H x) => x * x;
}

// No vector forms in .NET 10: each lane by the scalar rule.
internal struct SinOp : IUnaryOp
{
    public float Apply(float x) => MathF.Sin(x);
    public double Apply(double x) => Math.Sin(x);
    public V Apply(V x) => Lanes.Map(this, x);
    public H Apply(H x) => Lanes.Map(this, x);
}
internal struct CosOp : IUnaryOp
{
    public float Apply(float x) => MathF.Cos(x);
    public double Apply(double x) => Math.Cos(x);
    public V Apply(V x) => Lanes.Map(this, x);
    public H Apply(H x) => Lanes.Map(this, x);
}
internal struct TanhOp : IUnaryOp
{
    public float Apply(float x) => MathF.Tanh(x);
    public double Apply(double x) => Math.Tanh(x);
    public V Apply(V x) => Lanes.Map(this, x);
    public H Apply(H x) => Lanes.Map(this, x);
}

// The docs site shows ReluOp (docs/articles/devices-and-kernels.md includes the region below).
// <relu>
/// <summary>max(x, 0); NaN stays NaN as in PyTorch.</summary>
internal struct ReluOp : IUnaryOp
{
    public float Apply(float x) => x < 0f ? 0f : x;
    public double Apply(double x) => x < 0.0 ? 0.0 : x;
    public V Apply(V x) => Vector256.ConditionalSelect(Vector256.LessThan(x, V.Zero), V.Zero, x);
    public H Apply(H x) => Vector128.ConditionalSelect(Vector128.LessThan(x, H.Zero), H.Zero, x);
}
// </relu>

/// <summary>1 / (1 + e^-x): saturates to exactly 0 or 1 for large |x|, never NaN.</summary>
internal struct SigmoidOp : IUnaryOp
{
    public float Apply(float x) => 1f / (1f + MathF.Exp(-x));
    public double Apply(double x) => 1.0 / (1.0 + Math.Exp(-x));
    public V Apply(V x) => V.One / (V.One + Vector256.Exp(-x));
    public H Apply(H x) => H.One / (H.One + Vector128.Exp(-x));
}

/// <summary>-1, 0 or 1; ±0 and NaN are returned unchanged.</summary>
internal struct SignOp : IUnaryOp
{
    public float Apply(float x) => x > 0f ? 1f : x < 0f ? -1f : x;
    public double Apply(double x) => x > 0.0 ? 1.0 : x < 0.0 ? -1.0 : x;
    public V Apply(V x) => Vector256.ConditionalSelect(Vector256.GreaterThan(x, V.Zero), V.One,
        Vector256.ConditionalSelect(Vector256.LessThan(x, V.Zero), -V.One, x));
    public H Apply(H x) => Vector128.ConditionalSelect(Vector128.GreaterThan(x, H.Zero), H.One,
        Vector128.ConditionalSelect(Vector128.LessThan(x, H.Zero), -H.One, x));
}

/// <summary>op(x, S): a binary op with a constant right operand (x + 2, x ** 3, x &gt; 0).</summary>
internal struct RightScalar<TOp>(float s) : IUnaryOp where TOp : struct, IBinaryOp
{
    public float S = s;
    public float Apply(float x) => default(TOp).Apply(x, S);
    public double Apply(double x) => default(TOp).Apply(x, S);
    public V Apply(V x) => default(TOp).Apply(x, Vector256.Create(S));
    public H Apply(H x) => default(TOp).Apply(x, Vector128.Create(S));
}

/// <summary>op(S, x): a binary op with a constant left operand (2 - x, 1 / x).</summary>
internal struct LeftScalar<TOp>(float s) : IUnaryOp where TOp : struct, IBinaryOp
{
    public float S = s;
    public float Apply(float x) => default(TOp).Apply(S, x);
    public double Apply(double x) => default(TOp).Apply(S, x);
    public V Apply(V x) => default(TOp).Apply(Vector256.Create(S), x);
    public H Apply(H x) => default(TOp).Apply(Vector128.Create(S), x);
}

/// <summary>Ignores x and returns a constant (in-place fills).</summary>
internal struct FillScalar(float value) : IUnaryOp
{
    /// <summary>The value written.</summary>
    public float Value = value;
    /// <inheritdoc/>
    public float Apply(float x) => Value;
    public double Apply(double x) => Value;
    /// <inheritdoc/>
    public V Apply(V x) => Vector256.Create(Value);
    /// <inheritdoc/>
    public H Apply(H x) => Vector128.Create(Value);
}
