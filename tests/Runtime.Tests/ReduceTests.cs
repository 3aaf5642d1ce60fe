using DeepSharp;

namespace DeepSharp.Tests;

public class ReduceTests
{
    public static readonly (int[] Shape, int[]? Axes)[] Cases =
    [
        ([5], null), ([3, 4], [0]), ([3, 4], [1]), ([3, 4], [-1]), ([2, 3, 4], [0, 2]), ([2, 3, 4], [1, 2]), ([2, 3, 4], null),
        ([4, 1, 3], [1]), ([1000], null), ([3, 300], [1]), ([300, 3], [0]), ([0, 3], [0]), ([2, 3], []),
    ];

    public static TheoryData<string, int, bool> AllCases()
    {
        var d = new TheoryData<string, int, bool>();
        foreach (var dev in TestDevices.Names) for (int c = 0; c < Cases.Length; c++) { d.Add(dev, c, false); d.Add(dev, c, true); }
        return d;
    }

    /// <summary>Double-precision reference: fold over the reduced axes.</summary>
    private static (double[] Values, int[] Shape) Reference(float[] x, int[] shape, int[]? axes, bool keepDim,
        Func<IEnumerable<double>, double> fold)
    {
        var red = axes is null || axes.Length == 0 ? Enumerable.Range(0, shape.Length).ToHashSet()
            : axes.Select(a => a < 0 ? a + shape.Length : a).ToHashSet();
        var outShape = shape.Select((s, i) => red.Contains(i) ? 1 : s).ToArray();
        var groups = Ref.Indices(shape).GroupBy(i => string.Join(",", i.Select((v, d) => red.Contains(d) ? 0 : v)));
        var dict = groups.ToDictionary(g => g.Key, g => fold(g.Select(i => Ref.At(x, shape, i))));
        var values = Ref.Indices(outShape).Select(i => dict.TryGetValue(string.Join(",", i), out var v) ? v : fold([])).ToArray();
        return (values, keepDim ? outShape : shape.Where((_, i) => !red.Contains(i)).ToArray());
    }

    [Theory, MemberData(nameof(AllCases))]
    public void SumAndMeanMatchReference(string device, int c, bool keepDim)
    {
        var d = TestDevices.Use(device);
        var (shape, axes) = Cases[c];
        var data = Ref.Random(shape.Aggregate(1, (a, b) => a * b), 21 + c);
        var x = Tensor.FromArray(data, shape, d);
        var (sum, sumShape) = Reference(data, shape, axes, keepDim, v => v.Sum());
        var s = x.Sum(axes, keepDim);
        Assert.Equal(sumShape, s.Shape);
        Ref.Close(sum, s.ToArray<float>(), 1e-5, "sum");
        var (mean, _) = Reference(data, shape, axes, keepDim, v => v.Any() ? v.Average() : double.NaN);
        Ref.Close(mean, x.Mean(axes, keepDim).ToArray<float>(), 1e-5, "mean");
    }

    [Theory, MemberData(nameof(AllCases))]
    public void MaxAndMinMatchReference(string device, int c, bool keepDim)
    {
        var d = TestDevices.Use(device);
        var (shape, axes) = Cases[c];
        if (shape.Contains(0)) return; // Empty max is an error; covered below.
        var data = Ref.Random(shape.Aggregate(1, (a, b) => a * b), 31 + c);
        var x = Tensor.FromArray(data, shape, d);
        Ref.Close(Reference(data, shape, axes, keepDim, v => v.Max()).Values, x.Max(axes, keepDim).ToArray<float>(), 0, "max");
        Ref.Close(Reference(data, shape, axes, keepDim, v => v.Min()).Values, x.Min(axes, keepDim).ToArray<float>(), 0, "min");
    }

    [Theory, MemberData(nameof(TestDevices.All), MemberType = typeof(TestDevices))]
    public void MaxPropagatesNaNAndEmptyMaxThrows(string device)
    {
        var d = TestDevices.Use(device);
        var x = Tensor.FromArray(new float[] { 1, float.NaN, 3, 4, 5, 6 }, [2, 3], d);
        var m = x.Max(1).ToArray<float>();
        Assert.True(float.IsNaN(m[0]));
        Assert.Equal(6f, m[1]);
        Assert.Equal(float.PositiveInfinity, Tensor.FromArray(new float[] { 1, float.PositiveInfinity }, device: d).Sum().Item());
        var e = Assert.Throws<ArgumentException>(() => Tensor.Zeros([0, 3], device: d).Max(0));
        Assert.Contains("Max", e.Message);
        Assert.True(float.IsNaN(Tensor.Zeros([0], device: d).Mean().Item()));
        Assert.Equal(0f, Tensor.Zeros([0], device: d).Sum().Item());
    }

    [Theory, MemberData(nameof(TestDevices.All), MemberType = typeof(TestDevices))]
    public void ArgMaxTakesFirstTieAndNaN(string device)
    {
        var d = TestDevices.Use(device);
        var x = Tensor.FromArray(new float[] { 1, 5, 5, 2, 0, float.NaN, 3, float.NaN, -1, -1, 0, 0 }, [3, 4], d);
        Assert.Equal(DType.Int64, x.ArgMax(1).DType);
        Assert.Equal(new long[] { 1, 1, 2 }, x.ArgMax(1).ToArray<long>());
        Assert.Equal(new long[] { 0, 1, 0 }, x.ArgMin(1).ToArray<long>());
        Assert.Equal(new long[] { 0, 1, 0, 1 }, x.ArgMax(0).ToArray<long>());
        Assert.Equal(new long[] { 5, 1 }, x.Reshape(2, 6).ArgMax(1).ToArray<long>());
        Assert.Equal(5L, x.ArgMax().Item<long>());
        Assert.Equal(new[] { 3, 1 }, x.ArgMax(1, keepDim: true).Shape);
    }

    [Fact]
    public void LongSumIsAccurate()
    {
        // 1M values: the CPU path splits the row over cores; float accumulation error must stay small vs double.
        var data = Ref.Random(1 << 20, 77, 0, 1);
        double expected = data.Sum(v => (double)v);
        Assert.True(Math.Abs(Tensor.FromArray(data).Sum().Item() - expected) < 1e-5 * expected);
    }
}
