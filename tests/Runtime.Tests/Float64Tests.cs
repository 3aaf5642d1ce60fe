using DeepSharp;
using DeepSharp.Ops;

namespace DeepSharp.Tests;

/// <summary>Float64 through the op set on every device: values against System.Math references (to a few ulp, every device
/// alike: the kernels compute in double), PyTorch's promotion rules, and the double special functions.</summary>
public class Float64Tests
{
    private static readonly double[] Xs = [-3.7, -1.2, -0.31, -1e-7, 0, 2.5e-9, 0.42, 0.93, 1.7, 4.1];

    private static void Close(double expected, double actual, string what, double rel = 4e-16)
    {
        if (double.IsNaN(expected)) { Assert.True(double.IsNaN(actual), $"{what}: expected NaN, got {actual:R}"); return; }
        if (double.IsInfinity(expected)) { Assert.Equal(expected, actual); return; }
        Assert.True(Math.Abs(expected - actual) <= rel * Math.Max(Math.Abs(expected), 1e-300),
            $"{what}: expected {expected:R}, got {actual:R}");
    }

    [Theory, MemberData(nameof(TestDevices.All), MemberType = typeof(TestDevices))]
    public void ElementwiseOpsComputeInDouble(string device)
    {
        var d = TestDevices.Use(device);
        var x = Tensor.FromArray(Xs, device: d);
        var cases = new (string Name, Func<Tensor, Tensor> Op, Func<double, double> Ref)[]
        {
            ("exp", t => t.Exp(), Math.Exp), ("tanh", t => t.Tanh(), Math.Tanh), ("sin", t => t.Sin(), Math.Sin),
            ("sigmoid", t => t.Sigmoid(), v => 1 / (1 + Math.Exp(-v))), ("square", t => t.Square(), v => v * v),
            ("abs+log", t => t.Abs().Log(), v => Math.Log(Math.Abs(v))), ("scalar ops", t => (t * 3f - 1f) / 7f, v => (v * 3 - 1) / 7),
            ("pow", t => t.Abs().Pow(1.5f), v => Math.Pow(Math.Abs(v), 1.5)), ("relu", t => t.Relu(), v => Math.Max(v, 0)),
        };
        foreach (var (name, op, reference) in cases)
        {
            var y = op(x);
            Assert.Equal(DType.Float64, y.DType);
            var got = y.ToArray<double>();
            for (int i = 0; i < Xs.Length; i++) Close(reference(Xs[i]), got[i], $"{name}({Xs[i]}) on {d}", 4e-15);
        }
    }

    [Theory, MemberData(nameof(TestDevices.All), MemberType = typeof(TestDevices))]
    public void ReductionsProductsAndSoftmaxComputeInDouble(string device)
    {
        var d = TestDevices.Use(device);
        var a = Enumerable.Range(0, 12).Select(i => Math.Sin(0.7 * i) + 1e-9 * i).ToArray();
        var b = Enumerable.Range(0, 20).Select(i => Math.Cos(0.3 * i) / 3).ToArray();
        var ta = Tensor.FromArray(a, [3, 4], d);
        var tb = Tensor.FromArray(b, [4, 5], d);
        var c = ta.MatMul(tb).ToArray<double>();
        for (int i = 0; i < 3; i++)
            for (int j = 0; j < 5; j++)
                Close(Enumerable.Range(0, 4).Sum(k => a[i * 4 + k] * b[k * 5 + j]), c[i * 5 + j], $"matmul[{i},{j}] on {d}", 1e-14);
        var sums = ta.Sum(1).ToArray<double>();
        var maxIdx = ta.ArgMax(1).ToArray<long>();
        var soft = Functional.Softmax(ta, 1).ToArray<double>();
        for (int i = 0; i < 3; i++)
        {
            var row = a.Skip(4 * i).Take(4).ToArray();
            Close(row.Sum(), sums[i], $"sum row {i} on {d}", 1e-15);
            Assert.Equal(Array.IndexOf(row, row.Max()), maxIdx[i]);
            double z = row.Sum(v => Math.Exp(v - row.Max()));
            for (int j = 0; j < 4; j++) Close(Math.Exp(row[j] - row.Max()) / z, soft[i * 4 + j], $"softmax[{i},{j}] on {d}", 1e-15);
        }
        // 1 + 1e-12 survives in float64 and not in float32: nothing rounds through float32 on the way.
        var tiny = (Tensor.Full([2], 1.0, DType.Float64, d) + Tensor.Full([2], 1e-12, DType.Float64, d)).Sum().Item<double>();
        Assert.Equal(2 + 2e-12, tiny, 1e-15);
    }

    [Theory, MemberData(nameof(TestDevices.All), MemberType = typeof(TestDevices))]
    public void MixedOperandsPromoteAsPyTorch(string device)
    {
        var d = TestDevices.Use(device);
        var f64 = Tensor.FromArray(new[] { 1.0, 2.0 }, device: d).RequiresGradient();
        var f32 = Tensor.FromArray(new[] { 0.5f, 0.25f }, device: d).RequiresGradient();
        var y = f64 * f32;
        Assert.Equal(DType.Float64, y.DType); // float32 with float64: float64
        Assert.Equal(DType.Float64, (f64 * Tensor.Scalar(2f, d)).DType); // a 0-dim float32 does not narrow
        Assert.Equal(DType.Float32, (f32 * Tensor.Full([], 2.0, DType.Float64, d)).DType); // nor does a 0-dim float64 widen
        Assert.Equal(DType.Float64, f64.Gt(1f).DType);
        Assert.Equal(DType.Float64, Tensor.Where(f32.Gt(0.3f), f64, f32).DType);
        y.Sum().Backward();
        Assert.Equal(DType.Float64, f64.Grad!.DType); // each input's gradient in its own dtype
        Assert.Equal(DType.Float32, f32.Grad!.DType);
        Assert.Equal(new[] { 1f, 2f }, f32.Grad.ToArray<float>());
    }

    [Theory, MemberData(nameof(TestDevices.All), MemberType = typeof(TestDevices))]
    public void ScalarsAndEdgeCasesStayInDouble(string device)
    {
        var d = TestDevices.Use(device);
        var v = Tensor.FromArray(new[] { 0.1, 0.2, 0.3 }, device: d).RequiresGradient();
        var mean = v.Mean();
        Assert.Equal((0.1 + 0.2 + 0.3) / 3, mean.Item<double>()); // divided by n in double, as PyTorch
        mean.Backward();
        Assert.Equal(1.0 / 3, v.Grad!.ToArray<double>()[0]);

        // Attention's default scale 1/√E in double: weights equal a double softmax of q·k/√3.
        var q = Tensor.FromArray(new[] { 0.3, -1.1, 0.7 }, [1, 3], d);
        var k = Tensor.FromArray(new[] { 1.0, 0.5, -0.2, 0.1, 0.9, 2.0 }, [2, 3], d);
        var (_, w) = Functional.ScaledDotProductAttentionWithWeights(q, k, k);
        double s0 = (0.3 - 0.55 - 0.14) / Math.Sqrt(3), s1 = (0.03 - 0.99 + 1.4) / Math.Sqrt(3);
        Close(1 / (1 + Math.Exp(s1 - s0)), w.ToArray<double>()[0], $"attention weight on {d}", 1e-15);
        // No keys: empty weights and an output of zeros, as float32 (and PyTorch).
        var none = Tensor.Zeros([0, 3], DType.Float64, d);
        Assert.Equal(new[] { 0.0, 0.0, 0.0 }, Functional.ScaledDotProductAttention(q, none, none).ToArray<double>());

        // A float64 mask makes float32 attention compute in float64, as any float64 operand does.
        Assert.Equal(DType.Float64, Functional.ScaledDotProductAttention(q.To(DType.Float32), k.To(DType.Float32), k.To(DType.Float32),
            Tensor.Zeros([1, 2], DType.Float64, d)).DType);

        var empty = Tensor.Zeros([2, 0], DType.Float64, d).RequiresGradient();
        Functional.Softmax(empty, 1).Sum().Backward(); // recorded like float32's
        Assert.Equal([2, 0], empty.Grad!.Shape);

        var picked = Tensor.Where(Tensor.FromArray(new[] { 1e-300, 0.0 }, device: d), Tensor.Ones([2], device: d),
            Tensor.Zeros([2], device: d));
        Assert.Equal(new[] { 1f, 0f }, picked.ToArray<float>()); // a tiny float64 mask entry is still true

        var x32 = Tensor.Ones([1], device: d);
        x32.AddInPlace(Tensor.FromArray(new[] { Math.Pow(2, -24) + Math.Pow(2, -50) }, device: d));
        Assert.Equal(1f + MathF.Pow(2, -23), x32.Item<float>()); // computed in float64, rounded once (up)
    }

    [Theory, MemberData(nameof(TestDevices.All), MemberType = typeof(TestDevices))]
    public void ClipGradNormComputesInDoubleAndMixesDTypes(string device)
    {
        var d = TestDevices.Use(device);
        var a = Tensor.Zeros([2], DType.Float64, d).RequiresGradient();
        a.Grad = Tensor.FromArray(new[] { 3.0, 4.0 + 1e-12 }, device: d);
        var total = Optim.ClipGrad.Norm([a], maxNorm: 100f);
        Assert.Equal(DType.Float64, total.DType);
        Close(Math.Sqrt(9 + (4 + 1e-12) * (4 + 1e-12)), total.Item<double>(), $"float64 norm on {d}", 1e-15);

        var b = Tensor.Zeros([1], device: d).RequiresGradient();
        b.Grad = Tensor.FromArray(new[] { 12f }, device: d);
        a.Grad = Tensor.FromArray(new[] { 1.0, 2.0 }, device: d);
        Close(Math.Cbrt(9), Optim.ClipGrad.Norm([a], maxNorm: 100f, normType: 3f).Item<double>(), $"3-norm on {d}", 1e-15);
        a.Grad = Tensor.FromArray(new[] { 3.0, 4.0 }, device: d);
        var mixed = Optim.ClipGrad.Norm([a, b], maxNorm: 6.5f); // √(3² + 4² + 12²) = 13: both scaled by 6.5 / (13 + 1e−6)
        Assert.Equal(DType.Float64, mixed.DType);
        Close(13, mixed.Item<double>(), $"mixed norm on {d}", 1e-15);
        double scale = 6.5 / (13 + 1e-6);
        Close(3 * scale, a.Grad.ToArray<double>()[0], $"float64 gradient clipped on {d}", 1e-15);
        Assert.Equal(DType.Float32, b.Grad.DType);
        Assert.Equal(12 * scale, b.Grad.ToArray<float>()[0], 1e-5);
    }

    [Fact]
    public void DoubleSpecialFunctionsAreAccurate()
    {
        // References: CPython's math.erf, math.expm1 and math.log1p (the C library's, correctly rounded or within an ulp).
        (double X, double Erf, double Expm1, double Log1pAbs)[] table =
        [
            (-7.0, -1.0, -0.9990881180344455, 2.0794415416798357),
            (-4.5, -0.9999999998033839, -0.9888910034617577, 1.7047480922384253),
            (-3.0, -0.9999779095030014, -0.950212931632136, 1.3862943611198906),
            (-2.9999, -0.9999778955735178, -0.9502079526763556, 1.3862693608073853),
            (-1.7, -0.9837904585907745, -0.8173164759472653, 0.9932517730102834),
            (-0.921875, -0.8076737045106557, -0.6022274820333884, 0.6533012720127457),
            (-0.3, -0.3286267594591274, -0.2591817793182821, 0.26236426446749106),
            (-1e-05, -1.1283791670579e-05, -9.999950000166666e-06, 9.999950000333332e-06),
            (1e-300, 1.1283791670955126e-300, 1e-300, 1e-300),
            (2e-08, 2.256758334191025e-08, 2.00000002e-08, 1.9999999800000004e-08),
            (0.1, 0.1124629160182849, 0.10517091807564763, 0.09531017980432487),
            (0.5, 0.5204998778130465, 0.6487212707001282, 0.4054651081081644),
            (0.92, 0.8067677215477617, 1.5092903899362977, 0.6523251860396903),
            (2.0, 0.9953222650189527, 6.38905609893065, 1.0986122886681096),
            (2.99, 0.9999764743969194, 18.88568249156473, 1.3837912309017721),
            (3.5, 0.9999992569016276, 32.11545195869231, 1.5040773967762742),
            (5.5, 0.9999999999999927, 243.69193226422038, 1.8718021769015913),
            (6.0, 1.0, 402.4287934927351, 1.9459101490553132),
        ];
        foreach (var (x, erf, expm1, log1p) in table)
        {
            Close(erf, ActivationMath.Erf(x), $"erf({x})", 6e-16);
            Close(expm1, ActivationMath.Expm1(x), $"expm1({x})", 6e-16);
            Close(log1p, LossMath.Log1p(Math.Abs(x)), $"log1p({Math.Abs(x)})", 6e-16);
        }
        // erf where the series and the continued fraction meet and where they are hardest (CPython's math.erf).
        (double X, double Erf)[] hard =
        [
            (0.2201, 0.24440341585328917), (0.37, 0.39920598404299923), (0.61, 0.6116812188758802), (0.88, 0.7866873191739325),
            (0.999, 0.8422852702064969), (1.0, 0.8427007929497149), (1.13, 0.8899706703629623), (1.49, 0.9648978648432042),
            (1.51, 0.9672767481287117), (1.87, 0.9918207476107067), (2.2, 0.9981371537020182), (2.61, 0.9997767113907082),
            (2.9342, 0.9999666922043342), (2.999, 0.9999777698314002),
        ];
        foreach (var (x, erf) in hard)
        {
            Close(erf, ActivationMath.Erf(x), $"erf({x})", 4.5e-16); // 2 ulp
            Close(-erf, ActivationMath.Erf(-x), $"erf({-x})", 4.5e-16);
        }
        Assert.True(double.IsNegative(ActivationMath.Expm1(-0.0)));
        Assert.True(double.IsNaN(ActivationMath.Erf(double.NaN)));
        Assert.Equal(-1.0, ActivationMath.Expm1(double.NegativeInfinity));
        Assert.True(double.IsNegative(ActivationMath.Erf(-0.0)));
    }
}
