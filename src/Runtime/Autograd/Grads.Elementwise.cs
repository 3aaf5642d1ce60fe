namespace DeepSharp;

/// <summary>
/// Gradient rules, written with tensor ops (they run under no-grad during Backward, on the tensors' device). Elementwise
/// rules take (x, y, dL/dy) or (a, b, y, dL/dy); broadcasting is summed back to the input shapes by the caller, in one place.
/// At kinks, ties and singular points they choose PyTorch's subgradients (derivatives.yaml): relu'(0) = 0, |x|'(0) = 0,
/// sign' = 0, ties of maximum/minimum split in half, pow masked where its formula is 0·∞; a gradient masked to 0 is
/// exactly 0 even when dL/dy is infinite.
/// </summary>
internal static partial class Grads
{
    public static Tensor Identity(Tensor x, Tensor y, Tensor g) => g;
    public static Tensor Neg(Tensor x, Tensor y, Tensor g) => -g;
    public static Tensor Zero(Tensor x, Tensor y, Tensor g) => Tensor.Zeros(x.Shape, g.DType, g.Device); // zeros_like
    public static Tensor Abs(Tensor x, Tensor y, Tensor g) => g * x.Sign();
    public static Tensor Exp(Tensor x, Tensor y, Tensor g) => g * y;
    public static Tensor Log(Tensor x, Tensor y, Tensor g) => g / x;
    public static Tensor Sqrt(Tensor x, Tensor y, Tensor g) => g / (y * 2f);
    public static Tensor Square(Tensor x, Tensor y, Tensor g) => g * x * 2f;
    public static Tensor Sin(Tensor x, Tensor y, Tensor g) => g * x.Cos();
    public static Tensor Cos(Tensor x, Tensor y, Tensor g) => -g * x.Sin();
    public static Tensor Tanh(Tensor x, Tensor y, Tensor g) => Tensor.Map("TanhBackward", y, g, new Ops.TanhGradOp());
    public static Tensor Relu(Tensor x, Tensor y, Tensor g) => Tensor.Map("ReluBackward", x, g, new Ops.ReluGradOp());
    public static Tensor Sigmoid(Tensor x, Tensor y, Tensor g) => Tensor.Map("SigmoidBackward", y, g, new Ops.SigmoidGradOp());
    public static Tensor Erf(Tensor x, Tensor y, Tensor g) => Tensor.Map("ErfBackward", x, g, new Ops.ErfGradOp());
    public static Tensor LeakyRelu(Tensor x, Tensor g, float slope) =>
        Tensor.Map("LeakyReluBackward", x, g, new Ops.LeakyReluGradOp(slope));
    public static Tensor Gelu(Tensor x, Tensor y, Tensor g) => Tensor.Map("GeluBackward", x, g, new Ops.GeluGradOp());
    public static Tensor GeluTanh(Tensor x, Tensor y, Tensor g) => Tensor.Map("GeluBackward", x, g, new Ops.GeluTanhGradOp());
    public static Tensor Silu(Tensor x, Tensor y, Tensor g) => Tensor.Map("SiluBackward", x, g, new Ops.SiluGradOp());
    // hardtanh_backward masks the bounds themselves; clamp_backward passes them (min ≤ x ≤ max).
    public static Tensor Hardtanh(Tensor x, Tensor g, float min, float max) =>
        Tensor.Map("HardtanhBackward", x, g, new Ops.HardtanhGradOp(min, max));
    public static Tensor Clamp(Tensor x, Tensor g, float min, float max) =>
        Tensor.Map("ClampBackward", x, g, new Ops.ClampGradOp(min, max));
    public static Tensor Elu(Tensor x, Tensor g, float alpha) => Tensor.Map("EluBackward", x, g, new Ops.EluGradOp(alpha));
    public static Tensor Softplus(Tensor x, Tensor g, float beta, float threshold) =>
        Tensor.Map("SoftplusBackward", x, g, new Ops.SoftplusGradOp(beta, threshold));
    public static Tensor Reciprocal(Tensor x, Tensor y, Tensor g) => -g * y / x;  // d(s/x)/dx = -s/x² = -y/x
    public static Tensor Scale(Tensor g, float s) => g * s;                         // x·s and s·x
    public static Tensor Unscale(Tensor g, float s) => g / s;                       // x/s
    // p·x^(p−1), and zeros for p = 0 (PyTorch's pow_backward: 0·x^−1 would be NaN at x = 0).
    public static Tensor PowScalar(Tensor x, float p, Tensor g) => p == 0f ? Zero(x, x, g) : g * (x.Pow(p - 1f) * p);

    public static (Tensor, Tensor) Add(Tensor a, Tensor b, Tensor y, Tensor g) => (g, g);
    public static (Tensor, Tensor) Sub(Tensor a, Tensor b, Tensor y, Tensor g) => (g, -g);
    public static (Tensor, Tensor) Mul(Tensor a, Tensor b, Tensor y, Tensor g) => (g * b, g * a);
    public static (Tensor, Tensor) Div(Tensor a, Tensor b, Tensor y, Tensor g) => (g / b, -g * y / b);
    // PyTorch's pow_backward_self and pow_backward_exponent: d/da = b·a^(b−1), but 0 where b == 0 (0·0^−1 is NaN at
    // a = 0); d/db = a^b·log a, but 0 where a == 0 and b ≥ 0 (0·log 0 is NaN). Negative bases keep log a's NaN.
    public static (Tensor, Tensor) Pow(Tensor a, Tensor b, Tensor y, Tensor g) =>
        (Masked(Tensor.Map("PowBackward", a, b, new Ops.PowBaseGradOp()), g),
         g * Tensor.Map("PowBackward", a, b, new Ops.PowExponentGradOp()));

    // PyTorch's rule for torch.maximum: where(a == b, g/2, g), masked to 0 where a loses — ties split in half, and a NaN
    // on either side (no comparison holds) passes the whole gradient to both. A minimum is a maximum with the roles swapped.
    public static (Tensor, Tensor) Maximum(Tensor a, Tensor b, Tensor y, Tensor g) => (Share(a, b, g), Share(b, a, g));
    public static (Tensor, Tensor) Minimum(Tensor a, Tensor b, Tensor y, Tensor g) => (Share(b, a, g), Share(a, b, g));
    private static Tensor Share(Tensor a, Tensor b, Tensor g) => Masked(Tensor.Map("MaximumBackward", a, b, new Ops.MaxShareOp()), g);

    /// <summary>w·g, exactly 0 where the weight w is 0 (masked_fill, so an infinite g stays out).</summary>
    private static Tensor Masked(Tensor w, Tensor g) => Tensor.Map("MaskedBackward", w, g, new Ops.MaskedScaleOp());

    /// <summary>Where: g where cond holds to a, elsewhere to b, each summed back to its input's shape.</summary>
    public static Tensor?[] Where(Tensor cond, Tensor a, Tensor b, Tensor g) =>
    [
        Tensor.Where(cond, g, Tensor.Scalar(0f, g.Device)).SumTo(a.Layout.ShapeArray),
        Tensor.Where(cond, Tensor.Scalar(0f, g.Device), g).SumTo(b.Layout.ShapeArray),
    ];

    /// <summary>A cast to another float dtype: the gradient cast back.</summary>
    public static Tensor Cast(Tensor g, DType from) => g.To(from);
}
