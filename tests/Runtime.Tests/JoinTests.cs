using DeepSharp;

namespace DeepSharp.Tests;

public class JoinTests
{
    [Theory, MemberData(nameof(TestDevices.All), MemberType = typeof(TestDevices))]
    public void ConcatAndStack(string device)
    {
        var d = TestDevices.Use(device);
        var a = Tensor.Arange(0, 6, 1, device: d).Reshape(2, 3);
        var b = Tensor.Arange(6, 10, 1, device: d).Reshape(2, 2);
        var c = Tensor.Concat([a, b], axis: 1);
        Assert.Equal(new[] { 2, 5 }, c.Shape);
        Assert.Equal(new float[] { 0, 1, 2, 6, 7, 3, 4, 5, 8, 9 }, c.ToArray<float>());
        Assert.Equal(new float[] { 0, 1, 2, 3, 4, 5, 0, 3, 1, 4, 2, 5 }, Tensor.Concat([a.Reshape(3, 2), a.T]).ToArray<float>());
        var s = Tensor.Stack([a, a * 2f], axis: 1);
        Assert.Equal(new[] { 2, 2, 3 }, s.Shape);
        Assert.Equal(new float[] { 0, 1, 2, 0, 2, 4, 3, 4, 5, 6, 8, 10 }, s.ToArray<float>());
        Assert.Equal(new long[] { 1, 2, 3 },
            Tensor.Concat([Tensor.FromArray(new long[] { 1 }, device: d), Tensor.FromArray(new long[] { 2, 3 }, device: d)])
                .ToArray<long>());
        var e = Assert.Throws<ArgumentException>(() => Tensor.Concat([a, b], axis: 0));
        Assert.Contains("[2, 2]", e.Message); Assert.Contains("[2, 3]", e.Message);
        Assert.Throws<ArgumentException>(() => Tensor.Stack([a, b]));
        Assert.Throws<ArgumentException>(() => Tensor.Concat([]));
    }

    [Theory, MemberData(nameof(TestDevices.All), MemberType = typeof(TestDevices))]
    public void GatherRowsLikeAnEmbedding(string device)
    {
        var d = TestDevices.Use(device);
        var table = Tensor.Arange(0, 12, 1, device: d).Reshape(4, 3);
        var idx = Tensor.FromArray(new long[] { 3, 0, -1, 1 }, [2, 2], d);
        var y = table.GatherRows(idx);
        Assert.Equal(new[] { 2, 2, 3 }, y.Shape);
        Assert.Equal(new float[] { 9, 10, 11, 0, 1, 2, 9, 10, 11, 3, 4, 5 }, y.ToArray<float>());
        Assert.Equal(new float[] { 6, 7, 8 }, table.GatherRows(Tensor.FromArray(new[] { 2 }, device: d)).ToArray<float>());
        var e = Assert.Throws<ArgumentOutOfRangeException>(() => table.GatherRows(Tensor.FromArray(new long[] { 0, 4 }, device: d)));
        Assert.Contains("GatherRows", e.Message);
        Assert.Contains("4 rows", e.Message);
        Assert.Equal("index", e.ParamName);
        Assert.Equal(4L, e.ActualValue);
        Assert.Throws<ArgumentException>(() => table.GatherRows(Tensor.Zeros([2], device: d)));
    }
}
