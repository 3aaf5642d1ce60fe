using DeepSharp.Backends;
using DeepSharp.Ops;

namespace DeepSharp;

public sealed partial class Tensor
{
    /// <summary>y = op(x) elementwise; x may be any strided view. The output is dense float32 on x's device (16-bit inputs
    /// are widened).</summary>
    internal static Tensor Map<TOp>(string op, Tensor x, TOp f) where TOp : struct, IUnaryOp
    {
        if (Autocast.IsHalf(Check.NotNull(op, x, "x"))) return Autocast.InFloat32(x, DType.Float32, w => Map(op, w, f)); // masks
        Check.Computes(op, x, "x");
        var y = Allocate(x.Shape, x.DType, x.Device);
        x.Backend.Unary(x.Storage, y.Storage, StridedMap.Create(x.Layout.ShapeArray, x.Layout, y.Layout), x.Count, f);
        return y;
    }

    /// <summary>y = op(a, b) elementwise with numpy broadcasting.</summary>
    /// <exception cref="ArgumentException">The shapes do not broadcast.</exception>
    /// <exception cref="DeviceMismatchException">a and b are on different devices.</exception>
    internal static Tensor Map<TOp>(string op, Tensor a, Tensor b, TOp f) where TOp : struct, IBinaryOp
    {
        if (Autocast.IsHalf(Check.NotNull(op, a, "a")) || Autocast.IsHalf(Check.NotNull(op, b, "b")))
            return Autocast.InFloat32(a, b, DType.Float32, (p, q) => Map(op, p, q, f)); // a float64 operand's result stays float64
        if (Autocast.Mixed(a, b)) return Autocast.Promoted(a, b, (p, q) => Map(op, p, q, f));
        Check.Computes(op, a, "a"); Check.Computes(op, b, "b");
        Check.SameDevice(op, a, "a", b, "b");
        var shape = Check.Broadcast(op, a.Layout.ShapeArray, b.Layout.ShapeArray);
        var y = Allocate(shape, a.DType, a.Device);
        var map = StridedMap.Create(shape, a.Layout.Expand(shape), b.Layout.Expand(shape), y.Layout);
        a.Backend.Binary(a.Storage, b.Storage, y.Storage, map, y.Count, f);
        return y;
    }

    /// <summary>cond ? a : b elementwise (cond is a float mask: nonzero = true), with broadcasting over all three.
    /// Differentiable in a and b.</summary>
    public static Tensor Where(Tensor cond, Tensor a, Tensor b)
    {
        const string op = nameof(Where);
        if (Autocast.IsHalf(Check.NotNull(op, cond, "cond")) || Autocast.IsHalf(Check.NotNull(op, a, "a")) ||
            Autocast.IsHalf(Check.NotNull(op, b, "b")))
            return Autocast.InFloat32(a, b, Autocast.PromoteOperands(a, b),
                (p, q) => Where(Autocast.IsHalf(cond) ? cond.To(DType.Float32) : cond, p, q));
        if (Autocast.Mixed(a, b)) return Autocast.Promoted(a, b, (p, q) => Where(cond, p, q));
        Check.Computes(op, cond, "cond"); Check.Computes(op, a, "a"); Check.Computes(op, b, "b");
        Check.SameDevice(op, cond, "cond", a, "a"); Check.SameDevice(op, cond, "cond", b, "b");
        if (cond.DType != a.DType) // a mask of the other float dtype: nonzero → 1 in its own dtype first (1e−300 stays true)
            return TensorScope.Composite((cond, a, b), static s => Where(s.cond.Detach().Ne(0f).To(s.a.DType), s.a, s.b));
        var shape = Check.Broadcast(op, Check.Broadcast(op, cond.Layout.ShapeArray, a.Layout.ShapeArray), b.Layout.ShapeArray);
        var y = Allocate(shape, a.DType, a.Device);
        var map = StridedMap.Create(shape, cond.Layout.Expand(shape), a.Layout.Expand(shape), b.Layout.Expand(shape));
        a.Backend.Where(cond.Storage, a.Storage, b.Storage, y.Storage, map, y.Count);
        return Autograd.Record(y, op, [a, b], g => Grads.Where(cond, a, b, g), cond);
    }

    /// <summary>A recorded unary op: y = f(x), dL/dx = rule(x, y, dL/dy).</summary>
    private static Tensor Unary<TOp>(string op, Tensor x, TOp f, UnaryGradient rule) where TOp : struct, IUnaryOp
    {
        if (Autocast.IsHalf(Check.NotNull(op, x, "x"))) return Autocast.InFloat32(x, x.DType, w => Unary(op, w, f, rule));
        var y = Map(op, x, f);
        return Autograd.Needed(x) ? RecordUnary(op, x, y, rule) : y;
    }

    private static Tensor RecordUnary(string op, Tensor x, Tensor y, UnaryGradient rule) =>
        Autograd.Record(y, op, [x], g => [rule(x, y, g)], x, y);

    /// <summary>A recorded binary op with broadcasting: the rule's gradients are summed back to each input's shape here.</summary>
    private static Tensor Binary<TOp>(string op, Tensor a, Tensor b, TOp f, BinaryGradient rule) where TOp : struct, IBinaryOp
    {
        if (Autocast.IsHalf(Check.NotNull(op, a, "a")) || Autocast.IsHalf(Check.NotNull(op, b, "b")))
            return Autocast.InFloat32(a, b, Autocast.PromoteOperands(a, b), (p, q) => Binary(op, p, q, f, rule));
        if (Autocast.Mixed(a, b)) return Autocast.Promoted(a, b, (p, q) => Binary(op, p, q, f, rule));
        var y = Map(op, a, b, f);
        return Autograd.Needed(a, b) ? RecordBinary(op, a, b, y, rule) : y;
    }

    private static Tensor RecordBinary(string op, Tensor a, Tensor b, Tensor y, BinaryGradient rule) =>
        Autograd.Record(y, op, [a, b], g =>
        {
            var (ga, gb) = rule(a, b, y, g);
            return [ga?.SumTo(a.Layout.ShapeArray), gb?.SumTo(b.Layout.ShapeArray)];
        }, a, b, y);


    /// <summary>-x.</summary>
    public Tensor Neg() => Unary("Neg", this, new NegOp(), Grads.Neg);
    /// <summary>|x| (gradient sign(x), 0 at 0).</summary>
    public Tensor Abs() => Unary("Abs", this, new AbsOp(), Grads.Abs);
    /// <summary>e^x.</summary>
    public Tensor Exp() => Unary("Exp", this, new ExpOp(), Grads.Exp);
    /// <summary>Natural log (NaN for x &lt; 0, -inf at 0).</summary>
    public Tensor Log() => Unary("Log", this, new LogOp(), Grads.Log);
    /// <summary>Square root (NaN for x &lt; 0).</summary>
    public Tensor Sqrt() => Unary("Sqrt", this, new SqrtOp(), Grads.Sqrt);
    /// <summary>x².</summary>
    public Tensor Square() => Unary("Square", this, new SquareOp(), Grads.Square);
    /// <summary>sin x.</summary>
    public Tensor Sin() => Unary("Sin", this, new SinOp(), Grads.Sin);
    /// <summary>cos x.</summary>
    public Tensor Cos() => Unary("Cos", this, new CosOp(), Grads.Cos);
    /// <summary>tanh x.</summary>
    public Tensor Tanh() => Unary("Tanh", this, new TanhOp(), Grads.Tanh);
    /// <summary>max(x, 0); NaN stays NaN. Gradient: 0 where x ≤ 0 (relu'(0) = 0), else passed on — also at NaN, as PyTorch.</summary>
    public Tensor Relu() => Unary("Relu", this, new ReluOp(), Grads.Relu);
    /// <summary>1 / (1 + e^-x).</summary>
    public Tensor Sigmoid() => Unary("Sigmoid", this, new SigmoidOp(), Grads.Sigmoid);
    /// <summary>Sign: -1, 0 or 1 (gradient 0).</summary>
    public Tensor Sign() => Unary("Sign", this, new SignOp(), Grads.Zero);
    /// <summary>The error function erf(x) (<c>torch.erf</c>), to about one ulp: ±1 at ±inf, NaN stays NaN. Gradient
    /// 2/√π·e^(−x²).</summary>
    public Tensor Erf() => Unary("Erf", this, new ErfOp(), Grads.Erf);
    /// <summary>
    /// x where x &gt; 0, else <paramref name="negativeSlope"/>·x (<c>F.leaky_relu</c>); NaN stays NaN. Gradient as PyTorch:
    /// 1 where x &gt; 0, else the slope (also at 0 and at NaN).
    /// </summary>
    public Tensor LeakyRelu(float negativeSlope = 0.01f)
    {
        Finite(nameof(LeakyRelu), negativeSlope, nameof(negativeSlope));
        return Unary("LeakyRelu", this, new LeakyReluOp(negativeSlope), (x, _, g) => Grads.LeakyRelu(x, g, negativeSlope));
    }
    /// <summary>
    /// GELU (<c>F.gelu</c>): with <paramref name="approximate"/> "none", x·Φ(x) = ½x(1 + erf(x/√2)); with "tanh",
    /// ½x(1 + tanh(√(2/π)(x + 0.044715x³))). NaN stays NaN, +inf gives +inf, −inf gives NaN (as PyTorch's formulas).
    /// Gradient: PyTorch's gelu_backward for each form.
    /// </summary>
    /// <exception cref="ArgumentNullException">approximate is null.</exception>
    /// <exception cref="ArgumentException">approximate is neither "none" nor "tanh".</exception>
    public Tensor Gelu(string approximate = "none") => Check.NotNull("Gelu", approximate, nameof(approximate)) switch
    {
        "none" => Unary("Gelu", this, new GeluOp(), Grads.Gelu),
        "tanh" => Unary("Gelu", this, new GeluTanhOp(), Grads.GeluTanh),
        _ => throw new ArgumentException($"Gelu: approximate must be \"none\" or \"tanh\", got \"{approximate}\".", nameof(approximate)),
    };
    /// <summary>SiLU (swish, <c>F.silu</c>): x·σ(x). Gradient σ(x)·(1 + x·(1 − σ(x))).</summary>
    public Tensor Silu() => Unary("Silu", this, new SiluOp(), Grads.Silu);
    /// <summary>
    /// x clamped to [<paramref name="min"/>, <paramref name="max"/>] (<c>F.hardtanh</c>); NaN stays NaN. Gradient as
    /// PyTorch's hardtanh_backward: 0 where x ≤ min or x ≥ max (the bounds included), else passed on (also at NaN).
    /// </summary>
    /// <exception cref="ArgumentException">min or max is NaN, or min &gt; max.</exception>
    public Tensor Hardtanh(float min = -1f, float max = 1f)
    {
        if (float.IsNaN(min) || float.IsNaN(max) || min > max)
            throw new ArgumentException($"Hardtanh: min and max must be numbers with min <= max, got min {min} and max {max}.",
                float.IsNaN(max) ? nameof(max) : nameof(min));
        return Unary("Hardtanh", this, new ClampOp(min, max), (x, _, g) => Grads.Hardtanh(x, g, min, max));
    }
    /// <summary>
    /// x clamped to [<paramref name="min"/>, <paramref name="max"/>] (<c>torch.clamp</c>; a null bound is no bound); NaN stays
    /// NaN, and min &gt; max gives max everywhere (as PyTorch). Gradient as PyTorch's clamp_backward: passed on where
    /// min ≤ x ≤ max (the bounds included), else 0 (also at NaN).
    /// </summary>
    /// <exception cref="ArgumentException">Both bounds are null, or a bound is NaN.</exception>
    public Tensor Clamp(float? min = null, float? max = null)
    {
        if (min is null && max is null) throw new ArgumentException("Clamp: at least one of min and max must be given.", nameof(min));
        if (min is float.NaN) throw new ArgumentException("Clamp: min must not be NaN.", nameof(min));
        if (max is float.NaN) throw new ArgumentException("Clamp: max must not be NaN.", nameof(max));
        float lo = min ?? float.NegativeInfinity, hi = max ?? float.PositiveInfinity;
        return Unary("Clamp", this, new ClampOp(lo, hi), (x, _, g) => Grads.Clamp(x, g, lo, hi));
    }
    /// <summary>
    /// ELU (<c>F.elu</c>): x where x &gt; 0, else α(e^x − 1) (accurate near 0). Gradient as PyTorch's elu_backward: α·e^x
    /// where x ≤ 0 (so α at 0), else 1 (also at NaN).
    /// </summary>
    /// <exception cref="ArgumentException">alpha is not finite.</exception>
    public Tensor Elu(float alpha = 1f)
    {
        Finite(nameof(Elu), alpha, nameof(alpha));
        return Unary("Elu", this, new EluOp(alpha), (x, _, g) => Grads.Elu(x, g, alpha));
    }
    /// <summary>
    /// Softplus (<c>F.softplus</c>): log(1 + e^(βx))/β, and x itself where βx &gt; <paramref name="threshold"/> (accurate for
    /// very negative x too). Gradient σ(βx), and 1 where βx &gt; threshold.
    /// </summary>
    /// <exception cref="ArgumentException">beta is not positive and finite, or threshold is NaN.</exception>
    public Tensor Softplus(float beta = 1f, float threshold = 20f)
    {
        if (!(beta > 0f && float.IsFinite(beta)))
            throw new ArgumentException($"Softplus: beta must be positive and finite, got {beta}.", nameof(beta));
        if (float.IsNaN(threshold)) throw new ArgumentException("Softplus: threshold must not be NaN.", nameof(threshold));
        return Unary("Softplus", this, new SoftplusOp(beta, threshold), (x, _, g) => Grads.Softplus(x, g, beta, threshold));
    }

    private static void Finite(string op, float value, string name)
    {
        if (!float.IsFinite(value)) throw new ArgumentException($"{op}: {name} must be finite, got {value}.", name);
    }
    /// <summary>x ** p. Gradient p·x^(p−1), and 0 everywhere for p = 0 (as PyTorch).</summary>
    public Tensor Pow(float p) => Unary("Pow", this, new RightScalar<PowOp>(p), (x, _, g) => Grads.PowScalar(x, p, g));
    /// <summary>x ** p elementwise with broadcasting. Gradients as PyTorch: p·x^(p−1) but 0 where p == 0, and x^p·log x but
    /// 0 where x == 0 and p ≥ 0 (so a zero base gives finite gradients); NaN for a negative base's exponent gradient.</summary>
    public Tensor Pow(Tensor p) => Binary("Pow", this, Check.NotNull("Pow", p, nameof(p)), new PowOp(), Grads.Pow);
    /// <summary>
    /// Elementwise larger value with broadcasting (<c>torch.maximum</c>): NaN if either is NaN. Gradient: to the larger
    /// input; on a tie (a == b) half to each; where either is NaN the whole gradient to both (as PyTorch). The loser gets
    /// exactly 0.
    /// </summary>
    public static Tensor Maximum(Tensor a, Tensor b) => Binary("Maximum", a, b, new MaximumOp(), Grads.Maximum);
    /// <summary>
    /// Elementwise smaller value with broadcasting (<c>torch.minimum</c>): NaN if either is NaN. Gradient: to the smaller
    /// input; on a tie half to each; where either is NaN the whole gradient to both (as PyTorch).
    /// </summary>
    public static Tensor Minimum(Tensor a, Tensor b) => Binary("Minimum", a, b, new MinimumOp(), Grads.Minimum);

    // Comparisons return float32 masks of 1 and 0 (usable directly in Where and in arithmetic); they carry no gradient.
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
    /// <summary>1 where x != s, else 0 (1 for NaN).</summary>
    public Tensor Ne(float s) => Map("Ne", this, new RightScalar<NeOp>(s));
    /// <summary>1 where x &lt;= s, else 0.</summary>
    public Tensor Le(float s) => Map("Le", this, new RightScalar<LeOp>(s));
    /// <summary>1 where x &gt;= s, else 0 (<c>w.Abs().Ge(5f)</c>).</summary>
    public Tensor Ge(float s) => Map("Ge", this, new RightScalar<GeOp>(s));

    /// <summary>Elementwise sum with broadcasting.</summary>
    public static Tensor operator +(Tensor a, Tensor b) => Binary("Add", a, b, new AddOp(), Grads.Add);
    /// <summary>Elementwise difference with broadcasting.</summary>
    public static Tensor operator -(Tensor a, Tensor b) => Binary("Sub", a, b, new SubOp(), Grads.Sub);
    /// <summary>Elementwise product with broadcasting.</summary>
    public static Tensor operator *(Tensor a, Tensor b) => Binary("Mul", a, b, new MulOp(), Grads.Mul);
    /// <summary>Elementwise quotient with broadcasting.</summary>
    public static Tensor operator /(Tensor a, Tensor b) => Binary("Div", a, b, new DivOp(), Grads.Div);
    /// <summary>-x.</summary>
    public static Tensor operator -(Tensor x) => Check.NotNull("Neg", x, nameof(x)).Neg();
    /// <summary>x + s.</summary>
    public static Tensor operator +(Tensor x, float s) => Unary("Add", x, new RightScalar<AddOp>(s), Grads.Identity);
    /// <summary>s + x.</summary>
    public static Tensor operator +(float s, Tensor x) => Unary("Add", x, new LeftScalar<AddOp>(s), Grads.Identity);
    /// <summary>x - s.</summary>
    public static Tensor operator -(Tensor x, float s) => Unary("Sub", x, new RightScalar<SubOp>(s), Grads.Identity);
    /// <summary>s - x.</summary>
    public static Tensor operator -(float s, Tensor x) => Unary("Sub", x, new LeftScalar<SubOp>(s), Grads.Neg);
    /// <summary>x · s.</summary>
    public static Tensor operator *(Tensor x, float s) => Unary("Mul", x, new RightScalar<MulOp>(s), (_, _, g) => Grads.Scale(g, s));
    /// <summary>s · x.</summary>
    public static Tensor operator *(float s, Tensor x) => Unary("Mul", x, new LeftScalar<MulOp>(s), (_, _, g) => Grads.Scale(g, s));
    /// <summary>x / s.</summary>
    public static Tensor operator /(Tensor x, float s) => Unary("Div", x, new RightScalar<DivOp>(s), (_, _, g) => Grads.Unscale(g, s));
    /// <summary>s / x.</summary>
    public static Tensor operator /(float s, Tensor x) => Unary("Div", x, new LeftScalar<DivOp>(s), Grads.Reciprocal);
}
