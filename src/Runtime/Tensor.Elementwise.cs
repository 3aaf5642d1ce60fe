using DeepSharp.Backends;
using DeepSharp.Ops;

namespace DeepSharp;

public sealed partial class Tensor
{
    /// <summary>y = op(x) elementwise; x may be any strided view. The output is dense float32 on x's device.</summary>
    public static Tensor Map<TOp>(string op, Tensor x, TOp f) where TOp : struct, IUnaryOp
    {
        Check.Float32(op, x, "x");
        var y = Empty(x.Shape, DType.Float32, x.Device);
        x.Backend.Unary(x.Storage, y.Storage, StridedMap.Create(x.Layout.Shape, x.Layout, y.Layout), x.Count, f);
        return y;
    }

    /// <summary>y = op(a, b) elementwise with numpy broadcasting.</summary>
    /// <exception cref="ArgumentException">The shapes do not broadcast.</exception>
    /// <exception cref="DeviceMismatchException">a and b are on different devices.</exception>
    public static Tensor Map<TOp>(string op, Tensor a, Tensor b, TOp f) where TOp : struct, IBinaryOp
    {
        Check.Float32(op, a, "a"); Check.Float32(op, b, "b");
        Check.SameDevice(op, a, "a", b, "b");
        var shape = Check.Broadcast(op, a.Layout.Shape, b.Layout.Shape);
        var y = Empty(shape, DType.Float32, a.Device);
        var map = StridedMap.Create(shape, a.Layout.Expand(shape), b.Layout.Expand(shape), y.Layout);
        a.Backend.Binary(a.Storage, b.Storage, y.Storage, map, y.Count, f);
        return y;
    }

    /// <summary>cond ? a : b elementwise (cond is a float mask: nonzero = true), with broadcasting over all three.</summary>
    public static Tensor Where(Tensor cond, Tensor a, Tensor b)
    {
        const string op = nameof(Where);
        Check.Float32(op, cond, "cond"); Check.Float32(op, a, "a"); Check.Float32(op, b, "b");
        Check.SameDevice(op, cond, "cond", a, "a"); Check.SameDevice(op, cond, "cond", b, "b");
        var shape = Check.Broadcast(op, Check.Broadcast(op, cond.Layout.Shape, a.Layout.Shape), b.Layout.Shape);
        var y = Empty(shape, DType.Float32, a.Device);
        var map = StridedMap.Create(shape, cond.Layout.Expand(shape), a.Layout.Expand(shape), b.Layout.Expand(shape));
        a.Backend.Where(cond.Storage, a.Storage, b.Storage, y.Storage, map, y.Count);
        return y;
    }

    /// <summary>-x.</summary>
    public Tensor Neg() => Map("Neg", this, new NegOp());
    /// <summary>|x|.</summary>
    public Tensor Abs() => Map("Abs", this, new AbsOp());
    /// <summary>e^x.</summary>
    public Tensor Exp() => Map("Exp", this, new ExpOp());
    /// <summary>Natural log (NaN for x &lt; 0, -inf at 0).</summary>
    public Tensor Log() => Map("Log", this, new LogOp());
    /// <summary>Square root (NaN for x &lt; 0).</summary>
    public Tensor Sqrt() => Map("Sqrt", this, new SqrtOp());
    /// <summary>x².</summary>
    public Tensor Square() => Map("Square", this, new SquareOp());
    /// <summary>sin x.</summary>
    public Tensor Sin() => Map("Sin", this, new SinOp());
    /// <summary>cos x.</summary>
    public Tensor Cos() => Map("Cos", this, new CosOp());
    /// <summary>tanh x.</summary>
    public Tensor Tanh() => Map("Tanh", this, new TanhOp());
    /// <summary>max(x, 0).</summary>
    public Tensor Relu() => Map("Relu", this, new ReluOp());
    /// <summary>1 / (1 + e^-x).</summary>
    public Tensor Sigmoid() => Map("Sigmoid", this, new SigmoidOp());
    /// <summary>Sign: -1, 0 or 1.</summary>
    public Tensor Sign() => Map("Sign", this, new SignOp());
    /// <summary>x ** p.</summary>
    public Tensor Pow(float p) => Map("Pow", this, new RightScalar<PowOp>(p));
    /// <summary>x ** p elementwise with broadcasting.</summary>
    public Tensor Pow(Tensor p) => Map("Pow", this, p, new PowOp());
    /// <summary>Elementwise larger value (NaN propagates).</summary>
    public static Tensor Maximum(Tensor a, Tensor b) => Map("Maximum", a, b, new MaximumOp());
    /// <summary>Elementwise smaller value (NaN propagates).</summary>
    public static Tensor Minimum(Tensor a, Tensor b) => Map("Minimum", a, b, new MinimumOp());

    // Comparisons return float32 masks of 1 and 0 (usable directly in Where and in arithmetic).
    /// <summary>1 where a == b, else 0.</summary>
    public Tensor Eq(Tensor b) => Map("Eq", this, b, new EqOp());
    /// <summary>1 where a != b, else 0.</summary>
    public Tensor Ne(Tensor b) => Map("Ne", this, b, new NeOp());
    /// <summary>1 where a &lt; b, else 0.</summary>
    public Tensor Lt(Tensor b) => Map("Lt", this, b, new LtOp());
    /// <summary>1 where a &lt;= b, else 0.</summary>
    public Tensor Le(Tensor b) => Map("Le", this, b, new LeOp());
    /// <summary>1 where a &gt; b, else 0.</summary>
    public Tensor Gt(Tensor b) => Map("Gt", this, b, new GtOp());
    /// <summary>1 where a &gt;= b, else 0.</summary>
    public Tensor Ge(Tensor b) => Map("Ge", this, b, new GeOp());
    /// <summary>1 where x == s, else 0.</summary>
    public Tensor Eq(float s) => Map("Eq", this, new RightScalar<EqOp>(s));
    /// <summary>1 where x &lt; s, else 0.</summary>
    public Tensor Lt(float s) => Map("Lt", this, new RightScalar<LtOp>(s));
    /// <summary>1 where x &gt; s, else 0.</summary>
    public Tensor Gt(float s) => Map("Gt", this, new RightScalar<GtOp>(s));

    /// <summary>Elementwise sum with broadcasting.</summary>
    public static Tensor operator +(Tensor a, Tensor b) => Map("Add", a, b, new AddOp());
    /// <summary>Elementwise difference with broadcasting.</summary>
    public static Tensor operator -(Tensor a, Tensor b) => Map("Sub", a, b, new SubOp());
    /// <summary>Elementwise product with broadcasting.</summary>
    public static Tensor operator *(Tensor a, Tensor b) => Map("Mul", a, b, new MulOp());
    /// <summary>Elementwise quotient with broadcasting.</summary>
    public static Tensor operator /(Tensor a, Tensor b) => Map("Div", a, b, new DivOp());
    /// <summary>-x.</summary>
    public static Tensor operator -(Tensor x) => x.Neg();
    /// <summary>x + s.</summary>
    public static Tensor operator +(Tensor x, float s) => Map("Add", x, new RightScalar<AddOp>(s));
    /// <summary>s + x.</summary>
    public static Tensor operator +(float s, Tensor x) => Map("Add", x, new LeftScalar<AddOp>(s));
    /// <summary>x - s.</summary>
    public static Tensor operator -(Tensor x, float s) => Map("Sub", x, new RightScalar<SubOp>(s));
    /// <summary>s - x.</summary>
    public static Tensor operator -(float s, Tensor x) => Map("Sub", x, new LeftScalar<SubOp>(s));
    /// <summary>x · s.</summary>
    public static Tensor operator *(Tensor x, float s) => Map("Mul", x, new RightScalar<MulOp>(s));
    /// <summary>s · x.</summary>
    public static Tensor operator *(float s, Tensor x) => Map("Mul", x, new LeftScalar<MulOp>(s));
    /// <summary>x / s.</summary>
    public static Tensor operator /(Tensor x, float s) => Map("Div", x, new RightScalar<DivOp>(s));
    /// <summary>s / x.</summary>
    public static Tensor operator /(float s, Tensor x) => Map("Div", x, new LeftScalar<DivOp>(s));
}
