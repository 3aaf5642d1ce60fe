using DeepSharp.Layers;

namespace DeepSharp.Layers.Tests;

/// <summary>
/// The initializers' formulas (torch.nn.init): fans from the shape, Xavier (Glorot &amp; Bengio 2010) and Kaiming (He et
/// al. 2015) bounds and standard deviations with their gains, checked on tens of thousands of draws against the closed
/// forms; the stream seed of each parameter is SplitMix64 of the global seed and the parameter's number.
/// </summary>
[Collection(nameof(InitStream))]
public class InitMathTests
{
    private static float[] Drawn(int[] shape, IInitializer init)
    {
        var p = new Parameter(shape, init);
        new ParameterList(p).Initialize();
        return p.Data.ToArray<float>();
    }

    private static double Std(float[] v)
    {
        double mean = v.Average(x => (double)x);
        return Math.Sqrt(v.Sum(x => (x - mean) * (x - mean)) / v.Length);
    }

    /// <summary>All draws within ±<paramref name="bound"/>, both ends reached to 1 %, so the range is exactly the bound.</summary>
    private static void UniformWithin(float[] v, double bound)
    {
        Assert.All(v, x => Assert.InRange(x, -bound, bound));
        Assert.True(v.Min() < -0.99 * bound && v.Max() > 0.99 * bound, $"range [{v.Min()}, {v.Max()}] for bound {bound}");
    }

    /// <summary>A sample standard deviation within 3 % of <paramref name="std"/> (40 000 draws: its own error is 0.35 %).</summary>
    private static void NormalWith(float[] v, double std) =>
        Assert.True(Math.Abs(Std(v) / std - 1) < 0.03, $"std {Std(v)}, expected {std}");

    [Theory]
    [InlineData(new int[0], 1, 1)]
    [InlineData(new[] { 5 }, 5, 5)]
    [InlineData(new[] { 3, 4 }, 4, 3)]
    [InlineData(new[] { 3, 4, 5 }, 20, 15)]
    [InlineData(new[] { 3, 4, 5, 6 }, 120, 90)]
    public void FansFollowTorch(int[] shape, int fanIn, int fanOut)
    {
        var c = new InitContext("w", shape, new Generator());
        Assert.Equal(fanIn, c.FanIn);
        Assert.Equal(fanOut, c.FanOut);
    }

    [Fact]
    public void XavierUsesBothFansAndTheGain()
    {
        int[] shape = [200, 300]; // fan in 300, fan out 200
        UniformWithin(Drawn(shape, Init.XavierUniform(2f)), 2 * Math.Sqrt(6.0 / 500));
        NormalWith(Drawn(shape, Init.XavierNormal(1.5f)), 1.5 * Math.Sqrt(2.0 / 500));
    }

    [Fact]
    public void KaimingUsesTheChosenFanAndTheNonlinearitysGain()
    {
        int[] shape = [100, 400]; // fan in 400, fan out 100
        UniformWithin(Drawn(shape, Init.KaimingUniform(0f, FanMode.FanIn, Nonlinearity.Relu)), Math.Sqrt(2) * Math.Sqrt(3.0 / 400));
        UniformWithin(Drawn(shape, Init.KaimingUniform(0f, FanMode.FanOut, Nonlinearity.Linear)), Math.Sqrt(3.0 / 100));
        // PyTorch's default for Linear and Conv weights: a = √5 gives U(±1/√fanIn).
        UniformWithin(Drawn(shape, Init.KaimingUniform(MathF.Sqrt(5f))), 1 / Math.Sqrt(400));
        NormalWith(Drawn(shape, Init.KaimingNormal(0f, FanMode.FanOut, Nonlinearity.Linear)), 1 / Math.Sqrt(100));
        NormalWith(Drawn(shape, Init.KaimingNormal(0.5f, FanMode.FanIn)), Math.Sqrt(2 / 1.25) / Math.Sqrt(400));
        NormalWith(Drawn(shape, Init.KaimingNormal(0f, FanMode.FanIn, Nonlinearity.Relu)), Math.Sqrt(2) / Math.Sqrt(400));
    }

    [Fact]
    public void DenseAndConv2dDefaultsArePyTorchs()
    {
        var dense = new Dense(200, 300);
        dense.Initialize();
        UniformWithin(dense.Weight.Data.ToArray<float>(), 1 / Math.Sqrt(300));
        var conv = new Conv2d(64, 5, inChannels: 16); // fan in 16·5·5 = 400
        conv.Initialize();
        UniformWithin(conv.Weight.Data.ToArray<float>(), 1 / Math.Sqrt(400));
        Assert.All(conv.Bias!.Data.ToArray<float>(), b => Assert.Equal(0f, b));
    }

    /// <summary>SplitMix64 (Steele, Lea &amp; Flood 2014; Vigna's reference code): output number
    /// <paramref name="n"/> + 1 of the generator started at <paramref name="seed"/>.</summary>
    private static ulong SplitMix64(ulong seed, ulong n)
    {
        ulong z = unchecked(seed + (n + 1) * 0x9E3779B97F4A7C15UL);
        z = unchecked((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL);
        z = unchecked((z ^ (z >> 27)) * 0x94D049BB133111EBUL);
        return z ^ (z >> 31);
    }

    [Fact]
    public void EachParametersStreamIsSplitMixOfTheSeedAndItsNumber()
    {
        foreach (ulong seed in new ulong[] { 0, 2024, ulong.MaxValue })
        {
            Init.Seed = seed; // the same as ManualSeed
            Assert.Equal(seed, Init.Seed);
            var first = new Parameter([16], Init.Uniform());
            var second = new Parameter([16], Init.Uniform());
            new ParameterList(first, second).Initialize();
            for (ulong n = 0; n < 2; n++)
            {
                var expected = Tensor.Rand([16],
                    generator: new Generator(SplitMix64(SplitMix64(seed, n), 0)) /* round 0 of stream n */).ToArray<float>();
                Assert.Equal(expected, (n == 0 ? first : second).Data.ToArray<float>());
            }
        }
    }
}
