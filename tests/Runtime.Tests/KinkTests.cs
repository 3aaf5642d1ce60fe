using DeepSharp;

namespace DeepSharp.Tests;

/// <summary>
/// Gradients where the function has a kink, a tie or a singular point: the subgradient chosen there is a convention, so
/// these compare exact analytic values (PyTorch's choices; the numbers come from PyTorch 1.13, generating snippets in the
/// comments) rather than finite differences, which <see cref="GradCheckTests"/> keeps away from these points.
/// </summary>
public class KinkTests
{
    private const float NaN = float.NaN, Inf = float.PositiveInfinity;

    /// <summary>Gradients of f at (a, b) for the upstream gradient g (ones when null).</summary>
    private static float[][] Grads(Device d, Func<Tensor[], Tensor> f, float[]? g, params float[][] inputs)
    {
        var xs = inputs.Select(v => Tensor.FromArray(v, device: d).RequiresGradient()).ToArray();
        var y = f(xs);
        y.Backward(g is null ? Tensor.Ones(y.Shape, device: d) : Tensor.FromArray(g, device: d));
        return xs.Select(x => x.Grad!.ToArray<float>()).ToArray();
    }

    /// <summary>Exact match up to float32 rounding; NaN, ±inf and the value 0 must match exactly.</summary>
    private static void Same(float[] expected, float[] actual, string what, double tol = 1e-6)
    {
        Assert.Equal(expected.Length, actual.Length);
        for (int i = 0; i < expected.Length; i++)
            LossNumericsTests.Relative(expected[i], actual[i], tol, $"{what}[{i}]");
    }

    [Theory, MemberData(nameof(TestDevices.All), MemberType = typeof(TestDevices))]
    public void ReluAbsAndSignUsePyTorchsSubgradients(string device)
    {
        // x = torch.tensor([0., -0., nan, 1., -1.], requires_grad=True); x.relu().backward(torch.ones(5)) → [0, 0, 1, 1, 0]:
        // relu'(0) = 0, and a NaN input passes the gradient on (PyTorch masks where relu(x) ≤ 0, which NaN is not).
        var d = TestDevices.Use(device);
        Same([0, 0, 1, 1, 0], Grads(d, x => x[0].Relu(), null, [0, -0f, NaN, 1, -1])[0], "relu'");
        Same([0, 0, 0, 0], Grads(d, x => x[0].Relu(), [Inf, NaN, 0, 0], [-1, 0, -0f, -2])[0], "relu' masks inf and NaN");
        Same([0, 0, 1, -1], Grads(d, x => x[0].Abs(), null, [0, -0f, 1, -1])[0], "abs'");
        // sign' and pow(x, 0)' are zeros_like(x) in PyTorch, whatever the upstream gradient.
        Same([0, 0, 0], Grads(d, x => x[0].Sign(), [Inf, NaN, 1], [0, 2, -1])[0], "sign'");
        Same([0, 0, 0], Grads(d, x => x[0].Pow(0f), [Inf, NaN, 1], [0, 2, NaN])[0], "pow(x, 0)'");
    }

    [Theory, MemberData(nameof(TestDevices.All), MemberType = typeof(TestDevices))]
    public void MaximumAndMinimumSplitTiesAndPassNaNToBoth(string device)
    {
        // torch.maximum(a, b).backward(ones) for a = [1, 2, 3, nan, 1], b = [1, 1, 4, 1, nan]:
        // a.grad = [0.5, 1, 0, 1, 1], b.grad = [0.5, 0, 1, 1, 1]; torch.minimum: a.grad = [0.5, 0, 1, 1, 1], b.grad = [0.5, 1, 0, 1, 1].
        var d = TestDevices.Use(device);
        float[] a = [1, 2, 3, NaN, 1], b = [1, 1, 4, 1, NaN];
        var max = Grads(d, x => Tensor.Maximum(x[0], x[1]), null, a, b);
        Same([0.5f, 1, 0, 1, 1], max[0], "maximum d/da"); Same([0.5f, 0, 1, 1, 1], max[1], "maximum d/db");
        var min = Grads(d, x => Tensor.Minimum(x[0], x[1]), null, a, b);
        Same([0.5f, 0, 1, 1, 1], min[0], "minimum d/da"); Same([0.5f, 1, 0, 1, 1], min[1], "minimum d/db");
        // The loser gets exactly 0 even from an infinite gradient: a = [0, 2], b = [1, 1], g = [inf, nan] →
        // a.grad = [0, nan], b.grad = [inf, 0].
        var inf = Grads(d, x => Tensor.Maximum(x[0], x[1]), [Inf, NaN], [0, 2], [1, 1]);
        Same([0, NaN], inf[0], "maximum d/da, infinite g"); Same([Inf, 0], inf[1], "maximum d/db, infinite g");
        // Broadcast b: its halves from ties add up.
        var bc = Grads(d, x => Tensor.Maximum(x[0], x[1]), null, [1, 1, 0, 2], [1]);
        Same([0.5f, 0.5f, 0, 1], bc[0], "broadcast d/da"); Same([2f], bc[1], "broadcast d/db"); // ½ + ½ + 1
    }

    [Theory, MemberData(nameof(TestDevices.All), MemberType = typeof(TestDevices))]
    public void PowOfTensorsMasksTheBaseAndExponentGradientsAtZero(string device)
    {
        // a.pow(b).backward(ones), PyTorch 1.13 (pow_backward_self / pow_backward_exponent): d/da is 0 where b == 0,
        // d/db is 0 where a == 0 and b ≥ 0; elsewhere b·a^(b−1) and a^b·log a (NaN for a < 0).
        var d = TestDevices.Use(device);
        float[] a = [0, 0, 0, 0, 0, -0f, -2, -2, 2, 0, 2, -2, 0, -0f, -0f, -1, 1];
        float[] b = [0, 1, 2, 0.5f, -1, 2, 2, 0.5f, 0, -0f, 3, 3, -2, -1, 0.5f, 0, 5];
        float ln2 = MathF.Log(2);
        float[] da = [0, 1, 0, Inf, -Inf, -0f, -4, NaN, 0, 0, 12, 12, -Inf, -Inf, Inf, 0, 5];
        float[] db = [0, 0, 0, 0, -Inf, 0, NaN, NaN, ln2, 0, 8 * ln2, NaN, -Inf, Inf, 0, NaN, 0];
        var g = Grads(d, x => x[0].Pow(x[1]), null, a, b);
        Same(da, g[0], "d/da"); Same(db, g[1], "d/db");
        // The base's mask holds for any upstream gradient; the exponent's is a factor 0 (PyTorch: g · where(…, 0, …)).
        var inf = Grads(d, x => x[0].Pow(x[1]), [Inf, NaN], [0, 2], [0, 0]);
        Same([0, 0], inf[0], "d/da, infinite g"); Same([NaN, NaN], inf[1], "d/db, infinite g");
    }

    [Theory, MemberData(nameof(TestDevices.All), MemberType = typeof(TestDevices))]
    public void PowOfAScalarExponentMatchesItsDerivative(string device)
    {
        var d = TestDevices.Use(device);
        float[] x = [0, -0f, -2, 2, 0.5f];
        foreach (float p in new[] { 0f, 1f, 2f, 3f, -1f, -2f, 0.5f })
        {
            // p·x^(p−1) in double; p = 0 gives 0 (PyTorch's zeros_like), x^(p−1) at 0 is inf for p < 1.
            var expected = x.Select(v => p == 0 ? 0f : (float)(p * Math.Pow(v, p - 1))).ToArray();
            // At x = −0 and p = 0.5 this is +inf (C's pow(−0, −0.5)); PyTorch computes x^−0.5 as rsqrt there and gets −inf.
            Same(expected, Grads(d, t => t[0].Pow(p), null, x)[0], $"d/dx x^{p}");
        }
    }

    [Theory, MemberData(nameof(TestDevices.All), MemberType = typeof(TestDevices))]
    public void ReductionsAndPoolingSplitTiesEvenly(string device)
    {
        // x.amax(1).backward(ones) for x = [[1, 3, 3], [2, 2, 2], [1, nan, 3]] → [[0, .5, .5], [1/3, 1/3, 1/3], [nan, nan, nan]]
        var d = TestDevices.Use(device);
        float third = 1f / 3f;
        float[] x = [1, 3, 3, 2, 2, 2, 1, NaN, 3];
        Same([0, 0.5f, 0.5f, third, third, third, NaN, NaN, NaN], Grads(d, t => t[0].Reshape(3, 3).Max(1), null, x)[0], "max'");
        Same([1, 0, 0, third, third, third, NaN, NaN, NaN], Grads(d, t => t[0].Reshape(3, 3).Min(1), null, x)[0], "min'");
        // Max pooling shares the same way (PyTorch's max_pool2d sends it all to one element instead).
        Same([third, third, third, 0], Grads(d, t => Functional.MaxPool2d(t[0].Reshape(1, 1, 2, 2), 2), null, [1, 1, 1, 0])[0], "pool'");
    }

    [Theory, MemberData(nameof(TestDevices.All), MemberType = typeof(TestDevices))]
    public void SoftmaxAndLogSoftmaxAreExactAtTiedMaxima(string device)
    {
        // The max they subtract is detached, so a tie at the max changes nothing: d/dx Σ w·log_softmax(x) = w − p·Σw.
        var d = TestDevices.Use(device);
        float[] x = [2, 2, -1, 2], w = [1, -2, 0.5f, 3];
        double[] p = x.Select(v => Math.Exp(v) / x.Sum(u => Math.Exp(u))).ToArray();
        var gl = Grads(d, t => Functional.LogSoftmax(t[0]), w, x)[0];
        Same(w.Select((v, j) => (float)(v - p[j] * w.Sum())).ToArray(), gl, "log_softmax'", TestDevices.Tol(d, 1e-6));
        var gs = Grads(d, t => Functional.Softmax(t[0]), w, x)[0];
        double pw = p.Zip(w, (a, b) => a * b).Sum();
        Same(p.Select((v, j) => (float)(v * (w[j] - pw))).ToArray(), gs, "softmax'", TestDevices.Tol(d, 1e-6));
    }
}
