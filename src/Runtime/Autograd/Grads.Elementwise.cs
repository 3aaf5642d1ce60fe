namespace DeepSharp;

/// <summary>
/// Gradient rules, written with tensor ops (they run under no-grad during Backward, on the tensors' device). Elementwise
/// rules take (x, y, dL/dy) or (a, b, y, dL/dy); broadcasting is summed back to the input shapes by the caller, in one place.
/// </summary>
internal static partial class Grads
{
    public static Tensor Identity(Tensor x, Tensor y, Tensor g) => g;
    public static Tensor Neg(Tensor x, Tensor y, Tensor g) => -g;
    public static Tensor Zero(Tensor x, Tensor y, Tensor g) => g * 0f;
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
    public static Tensor Reciprocal(Tensor x, Tensor y, Tensor g) => -g * y / x;  // d(s/x)/dx = -s/x² = -y/x
    public static Tensor PowScalar(Tensor x, float p, Tensor g) => p == 0f ? g * 0f : g * x.Pow(p - 1f) * p;

    public static (Tensor, Tensor) Add(Tensor a, Tensor b, Tensor y, Tensor g) => (g, g);
    public static (Tensor, Tensor) Sub(Tensor a, Tensor b, Tensor y, Tensor g) => (g, -g);
    public static (Tensor, Tensor) Mul(Tensor a, Tensor b, Tensor y, Tensor g) => (g * b, g * a);
    public static (Tensor, Tensor) Div(Tensor a, Tensor b, Tensor y, Tensor g) => (g / b, -g * y / b);
    public static (Tensor, Tensor) Pow(Tensor a, Tensor b, Tensor y, Tensor g) => (g * b * a.Pow(b - 1f), g * y * a.Log());

    // Ties send half the gradient each way (as torch.maximum does).
    public static (Tensor, Tensor) Maximum(Tensor a, Tensor b, Tensor y, Tensor g) => Split(a.Gt(b) + a.Eq(b) * 0.5f, g);
    public static (Tensor, Tensor) Minimum(Tensor a, Tensor b, Tensor y, Tensor g) => Split(a.Lt(b) + a.Eq(b) * 0.5f, g);
    private static (Tensor, Tensor) Split(Tensor toA, Tensor g) => (g * toA, g * (1f - toA));

    // binary_cross_entropy_with_logits: d/dx = (σ(x) − t)·g, d/dt = −x·g (PyTorch differentiates the targets too).
    public static Tensor?[] BceWithLogits(Tensor x, Tensor t, Tensor g) =>
    [
        x.RequiresGrad ? Tensor.Map("BceWithLogitsBackward", x, t, new Ops.BceWithLogitsGradOp()) * g : null,
        t.RequiresGrad ? -x * g : null,
    ];

    public static Tensor WhereA(Tensor cond, Tensor g) => Tensor.Where(cond, g, Tensor.Scalar(0f, g.Device));
    public static Tensor WhereB(Tensor cond, Tensor g) => Tensor.Where(cond, Tensor.Scalar(0f, g.Device), g);
}
