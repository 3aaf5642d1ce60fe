using DeepSharp;

namespace DeepSharp.Tests;

/// <summary>
/// The gradient check in float64, as PyTorch's gradcheck: every case of <see cref="GradCheckTests"/> (the float32 table)
/// runs with float64 inputs on every device, against central differences of float64 forward passes on the CPU with
/// eps 1e−6, and must agree to 1e−6 relative — tight enough that a gradient rule 1e−4 wrong fails (the float32 check allows
/// 2 %). The fused float32 ops (norms, windows, pooling, recurrent cells, attention's softmax, cross-entropy) run their
/// float64 composites here (Functional.Float64.cs); <see cref="GradCheckTests"/> checks the fused rules themselves against
/// these float64 gradients.
/// </summary>
public class GradCheck64Tests
{
    /// <summary>Cases that are float32 by design: a round trip through float32 cannot be checked to 1e−6.</summary>
    private static readonly HashSet<string> Float32Only = ["dtype_roundtrip"];

    public static TheoryData<string, string> All()
    {
        var d = new TheoryData<string, string>();
        foreach (var dev in TestDevices.Names)
            foreach (var name in GradCheckTests.Cases.Keys.Where(n => !Float32Only.Contains(n)))
                d.Add(dev, name);
        return d;
    }

    private static double[][] Values(GradCheckTests.Case c)
    {
        var init = c.Init ?? ((i, j) => (float)Math.Sin(1.3 * j + 0.7 * i + 0.2) * 1.5f);
        return c.Shapes.Select((s, i) => Enumerable.Range(0, s.Aggregate(1, (a, b) => a * b)).Select(j => (double)init(i, j)).ToArray())
            .ToArray();
    }

    private static Tensor Weights(int[] shape, Device device) => Tensor.FromArray(Enumerable.Range(0, shape.Aggregate(1, (a, b) => a * b))
        .Select(j => Math.Cos(0.9 * j + 0.3)).ToArray(), shape, device);

    [Theory, MemberData(nameof(All))]
    public void AnalyticGradientMatchesFiniteDifferencesInFloat64(string device, string name)
    {
        var d = TestDevices.Use(device);
        var c = GradCheckTests.Cases[name];
        var values = Values(c);
        var inputs = values.Select((v, i) => Tensor.FromArray(v, c.Shapes[i], d).RequiresGradient()).ToArray();
        var y = c.F(inputs);
        Assert.Equal(DType.Float64, y.DType); // computed in float64, not rounded through float32 on the way
        (y * Weights(y.Shape, d)).Sum().Backward();

        const double eps = 1e-6;
        for (int i = 0; i < inputs.Length; i++)
        {
            Assert.NotNull(inputs[i].Grad);
            Assert.Equal(DType.Float64, inputs[i].Grad!.DType);
            var analytic = inputs[i].Grad!.ToArray<double>();
            for (int j = 0; j < values[i].Length; j++)
            {
                double Loss(double delta)
                {
                    using var _ = Autograd.NoGrad();
                    var v = values.Select(a => (double[])a.Clone()).ToArray();
                    v[i][j] += delta;
                    var yy = c.F(v.Select((a, k) => Tensor.FromArray(a, c.Shapes[k])).ToArray());
                    return yy.ToArray<double>().Zip(Weights(yy.Shape, Device.Cpu).ToArray<double>(), (p, q) => p * q).Sum();
                }
                double numeric = (Loss(eps) - Loss(-eps)) / (2 * eps);
                Assert.True(Math.Abs(numeric - analytic[j]) <= 1e-6 * (1 + Math.Abs(numeric)),
                    $"{name}: d/dx{i}[{j}] autograd {analytic[j]:R} vs finite differences {numeric:R} on {d}");
            }
        }
    }
}
