using DeepSharp;

namespace DeepSharp.Tests;

/// <summary>The activations' double-precision references: PyTorch's definitions (torch.nn.functional), evaluated in double.</summary>
public static class ActivationReference
{
    /// <summary>erf by its everywhere-positive series 2/√π·e^(−x²)·Σ 2ⁿx^(2n+1)/(2n+1)!! (no cancellation; ±1 beyond
    /// 6).</summary>
    public static double Erf(double x)
    {
        if (double.IsNaN(x)) return x;
        double t = Math.Abs(x);
        if (t > 6) return Math.Sign(x);
        double term = t, sum = t;
        for (int n = 1; n < 400 && term > 1e-18 * sum; n++) { term *= 2 * t * t / (2 * n + 1); sum += term; }
        double r = 2 / Math.Sqrt(Math.PI) * Math.Exp(-t * t) * sum;
        return x < 0 ? -r : r;
    }

    public static double LeakyRelu(double x, double slope) => x > 0 ? x : x * slope;
    public static double Gelu(double x) => 0.5 * x * (1 + Erf(x / Math.Sqrt(2)));
    public static double GeluTanh(double x) => 0.5 * x * (1 + Math.Tanh(Math.Sqrt(2 / Math.PI) * (x + 0.044715 * x * x * x)));
    public static double Clamp(double x, double min, double max) => double.IsNaN(x) ? x : Math.Min(Math.Max(x, min), max);
    public static double Elu(double x, double alpha) => x > 0 || double.IsNaN(x) ? x : alpha * (Math.Exp(x) - 1);

    public static double Softplus(double x, double beta, double threshold)
    {
        if (x * beta > threshold) return x;
        double e = Math.Exp(x * beta);
        return (e < 1e-5 ? e * (1 - e / 2 + e * e / 3) : Math.Log(1 + e)) / beta;
    }
}

/// <summary>
/// The activations beyond the table rows of <see cref="ElementwiseTests"/>: erf's accuracy in ulps, values at the kinks,
/// bounds and tails, gradients at kinks and NaN (PyTorch's conventions, exact values), and the argument checks.
/// </summary>
public class ActivationTests
{
    private const float NaN = float.NaN, Inf = float.PositiveInfinity;

    /// <summary>Distance in units of the last place between the float32-rounded reference and the result.</summary>
    private static double Ulps(double expected, float actual)
    {
        float e = (float)expected;
        if (e == actual) return 0;
        float spacing = MathF.BitIncrement(MathF.Abs(e)) - MathF.Abs(e);
        return Math.Abs(actual - expected) / spacing;
    }

    [Theory, MemberData(nameof(TestDevices.All), MemberType = typeof(TestDevices))]
    public void ErfIsWithinAFewUlpsOfTheDoubleReference(string device)
    {
        var d = TestDevices.Use(device);
        // A dense grid over [−4.5, 4.5] (both branches and the switch at 0.921875), tiny and subnormal values, and
        // 1001 elements (not a multiple of 8), so the CPU runs the vector rules and the scalar tail.
        var xs = Enumerable.Range(-4500, 9001).Select(i => i / 1000f)
            .Concat([0.921875f, MathF.BitDecrement(0.921875f), -0.921875f, 1e-20f, -3e-39f, 1e-45f, 4f, 4.01f, 10f, -10f])
            .ToArray();
        var y = Tensor.FromArray(xs, device: d).Erf().ToArray<float>();
        double limit = d.Kind is DeviceKind.Cuda or DeviceKind.OpenCL ? 8 : 2;
        double worst = 0; int at = 0;
        for (int i = 0; i < xs.Length; i++)
        {
            double u = Ulps(ActivationReference.Erf(xs[i]), y[i]);
            if (u > worst) { worst = u; at = i; }
        }
        Assert.True(worst <= limit, $"erf({xs[at]}) = {y[at]} is {worst:F2} ulps from {ActivationReference.Erf(xs[at])} on {d}");
    }

    /// <summary>Values at the kinks, bounds and tails (beyond the table's inputs), against the double references.</summary>
    public static readonly Dictionary<string, (Func<Tensor, Tensor> Op, Func<double, double> Ref)> Tails = new()
    {
        ["hardtanh"] = (x => x.Hardtanh(), x => ActivationReference.Clamp(x, -1, 1)),
        ["clamp"] = (x => x.Clamp(-1f, 1f), x => ActivationReference.Clamp(x, -1, 1)),
        ["leakyRelu"] = (x => x.LeakyRelu(0.1f), x => ActivationReference.LeakyRelu(x, 0.1)),
        ["gelu"] = (x => x.Gelu(), ActivationReference.Gelu),
        ["geluTanh"] = (x => x.Gelu("tanh"), ActivationReference.GeluTanh),
        ["silu"] = (x => x.Silu(), x => x / (1 + Math.Exp(-x))),
        ["elu"] = (x => x.Elu(2f), x => ActivationReference.Elu(x, 2)),
        ["softplus"] = (x => x.Softplus(), x => ActivationReference.Softplus(x, 1, 20)),
        ["softplusBeta"] = (x => x.Softplus(0.5f, 3f), x => ActivationReference.Softplus(x, 0.5, 3)),
    };

    public static TheoryData<string, string> TailCases()
    {
        var data = new TheoryData<string, string>();
        foreach (var dev in TestDevices.Names) foreach (var op in Tails.Keys) data.Add(dev, op);
        return data;
    }

    private static readonly float[] TailInputs =
    [
        1f, -1f, 0f, -0f, 1e-7f, -1e-7f, 1e-30f, 5f, -5f, 8f, -8f, 10f, -10f, 19.99f, 20f, 20.01f, 6f, 6.01f, -17f, -30f, 50f,
        -50f, 88f, -88f, 1e20f, -1e20f, Inf, -Inf, NaN, 0.3f, -0.3f,
    ];

    [Theory, MemberData(nameof(TailCases))]
    public void ValuesAtKinksBoundsAndTailsMatchTheReference(string device, string op)
    {
        var d = TestDevices.Use(device);
        var (f, r) = Tails[op];
        var y = f(Tensor.FromArray(TailInputs, device: d)).ToArray<float>();
        Ref.Close(TailInputs.Select(v => r(v)).ToArray(), y, TestDevices.Tol(d, 2e-6), op);
        // Relative accuracy where the value is tiny but representable (the absolute tolerance above would not see it).
        if (op is "softplus" or "elu")
            for (int i = 0; i < TailInputs.Length; i++)
                if (TailInputs[i] is 1e-7f or -1e-7f or -17f && Math.Abs(r(TailInputs[i])) > 0)
                    Assert.True(Math.Abs(y[i] / r(TailInputs[i]) - 1) < TestDevices.Tol(d, 1e-5),
                        $"{op}({TailInputs[i]}) = {y[i]}, expected {r(TailInputs[i])} to float precision");
    }

    /// <summary>Gradients of f at x for the upstream gradient g.</summary>
    private static float[] Grad(Device d, Func<Tensor, Tensor> f, float[] x, float[] g)
    {
        var t = Tensor.FromArray(x, device: d).RequiresGradient();
        f(t).Backward(Tensor.FromArray(g, device: d));
        return t.Grad!.ToArray<float>();
    }

    private static void Same(float[] expected, float[] actual, string what, double tol = 1e-6)
    {
        Assert.Equal(expected.Length, actual.Length);
        for (int i = 0; i < expected.Length; i++) LossNumericsTests.Relative(expected[i], actual[i], tol, $"{what}[{i}]");
    }

    [Theory, MemberData(nameof(TestDevices.All), MemberType = typeof(TestDevices))]
    public void GradientsAtKinksAndNaNFollowPyTorch(string device)
    {
        var d = TestDevices.Use(device);
        float[] ones = [1, 1, 1, 1, 1];
        // x = torch.tensor([0., -0., nan, 2., -2.], requires_grad=True); F.leaky_relu(x, 0.1).backward(torch.ones(5))
        // → [0.1, 0.1, 0.1, 1, 0.1]: leaky_relu_backward is x > 0 ? g : g·slope.
        Same([0.1f, 0.1f, 0.1f, 1, 0.1f], Grad(d, x => x.LeakyRelu(0.1f), [0, -0f, NaN, 2, -2], ones), "leaky_relu'");
        // F.hardtanh(x).backward for x = [-1, 1, nan, 0.5, -3] → [0, 0, 1, 1, 0] (the bounds masked, NaN passes).
        Same([0, 0, 1, 1, 0], Grad(d, x => x.Hardtanh(), [-1, 1, NaN, 0.5f, -3], ones), "hardtanh'");
        // torch.clamp(x, -1, 1).backward → [1, 1, 0, 1, 0] (the bounds pass, NaN gives 0).
        Same([1, 1, 0, 1, 0], Grad(d, x => x.Clamp(-1f, 1f), [-1, 1, NaN, 0.5f, -3], ones), "clamp'");
        // Masked gradients are exactly 0 even for an infinite upstream gradient.
        Same([0, 0, 0, 0, 0], Grad(d, x => x.Clamp(-1f, 1f), [2, -2, NaN, 3, -3], [Inf, NaN, Inf, 1, 1]), "clamp' masks inf");
        Same([0, 0], Grad(d, x => x.Hardtanh(), [1, -1], [Inf, NaN]), "hardtanh' masks inf");
        // F.elu(x, alpha=2).backward for x = [0, -0, nan, 1, -1] → [2, 2, 1, 1, 2e^-1]: x ≤ 0 takes α·e^x (so α at 0).
        Same([2, 2, 1, 1, 2 * MathF.Exp(-1)], Grad(d, x => x.Elu(2f), [0, -0f, NaN, 1, -1], ones), "elu'", TestDevices.Tol(d, 1e-6));
        // gelu'(0) = 0.5 for both forms; silu'(0) = 0.5; softplus'(0) = 0.5; softplus' = 1 above the threshold.
        float[] zero = [0];
        Same([0.5f], Grad(d, x => x.Gelu(), zero, [1]), "gelu'(0)");
        Same([0.5f], Grad(d, x => x.Gelu("tanh"), zero, [1]), "gelu_tanh'(0)");
        Same([0.5f], Grad(d, x => x.Silu(), zero, [1]), "silu'(0)");
        Same([0.5f, 1, 1], Grad(d, x => x.Softplus(2f, 10f), [0, 5.01f, 100], [1, 1, 1]), "softplus'");
        // Large |x|: gelu' → 1 and 0, silu' → 1 and 0, without NaN.
        Same([1, 0, 1, 0], Grad(d, x => x.Gelu(), [30, -30, 1e4f, -1e4f], [1, 1, 1, 1]), "gelu' tails", 1e-5);
        Same([1, 0, 1, 0], Grad(d, x => x.Gelu("tanh"), [30, -30, 1e4f, -1e4f], [1, 1, 1, 1]), "gelu_tanh' tails", 1e-5);
        Same([1, 0], Grad(d, x => x.Silu(), [100, -100], [1, 1]), "silu' tails", 1e-5);
    }

    [Fact]
    public void ParametersAreCheckedAndNamed()
    {
        var x = Tensor.Ones(3);
        Assert.Equal("approximate", Assert.Throws<ArgumentException>(() => x.Gelu("Tanh")).ParamName);
        Assert.Contains("\"Tanh\"", Assert.Throws<ArgumentException>(() => x.Gelu("Tanh")).Message);
        Assert.Equal("negativeSlope", Assert.Throws<ArgumentException>(() => x.LeakyRelu(NaN)).ParamName);
        Assert.Equal("alpha", Assert.Throws<ArgumentException>(() => x.Elu(Inf)).ParamName);
        Assert.Equal("beta", Assert.Throws<ArgumentException>(() => x.Softplus(0f)).ParamName);
        Assert.Equal("beta", Assert.Throws<ArgumentException>(() => x.Softplus(-1f)).ParamName);
        Assert.Equal("threshold", Assert.Throws<ArgumentException>(() => x.Softplus(1f, NaN)).ParamName);
        Assert.Equal("min", Assert.Throws<ArgumentException>(() => x.Hardtanh(2f, 1f)).ParamName);
        Assert.Contains("min 2", Assert.Throws<ArgumentException>(() => x.Hardtanh(2f, 1f)).Message);
        Assert.Equal("max", Assert.Throws<ArgumentException>(() => x.Hardtanh(0f, NaN)).ParamName);
        Assert.Equal("min", Assert.Throws<ArgumentException>(() => x.Clamp()).ParamName);
        Assert.Equal("max", Assert.Throws<ArgumentException>(() => x.Clamp(0f, NaN)).ParamName);
        var e = Assert.Throws<NotSupportedException>(() => Tensor.Arange(3, DType.Int64).Gelu());
        Assert.Contains("Gelu", e.Message);
    }
}
