using DeepSharp;

namespace DeepSharp.Tests;

public class CreationTests
{
    [Theory, MemberData(nameof(TestDevices.All), MemberType = typeof(TestDevices))]
    public void FillsAndRanges(string device)
    {
        var d = TestDevices.Use(device);
        Assert.All(Tensor.Zeros([2, 3], device: d).ToArray<float>(), v => Assert.Equal(0f, v));
        Assert.All(Tensor.Ones([4], DType.Int32, d).ToArray<int>(), v => Assert.Equal(1, v));
        Assert.All(Tensor.Full([3], 2.5, DType.Float64, d).ToArray<double>(), v => Assert.Equal(2.5, v));
        Assert.Equal(new long[] { 0, 1, 2, 3 }, Tensor.Arange(4, DType.Int64, d).ToArray<long>());
        Assert.Equal(new float[] { 1, 1.5f, 2, 2.5f }, Tensor.Arange(1, 3, 0.5, device: d).ToArray<float>());
        Assert.Equal(new int[] { 5, 3, 1 }, Tensor.Arange(5, 0, -2, DType.Int32, d).ToArray<int>());
        Assert.Throws<ArgumentException>(() => Tensor.Arange(0, 5, -1));
    }

    [Theory, MemberData(nameof(TestDevices.All), MemberType = typeof(TestDevices))]
    public void RandomIsSeededAndIdenticalAcrossDevices(string device)
    {
        var d = TestDevices.Use(device);
        var u = Tensor.Rand([1000], -1f, 3f, new Generator(42), d).ToArray<float>();
        var uCpu = Tensor.Rand([1000], -1f, 3f, new Generator(42)).ToArray<float>();
        Assert.Equal(uCpu, u); // counter-based: same seed, same numbers on every device
        Assert.All(u, v => Assert.InRange(v, -1f, 3f));
        Assert.InRange(u.Average(), 0.85, 1.15);
        var n = Tensor.Randn([4000], 2f, 0.5f, new Generator(1), d).ToArray<float>();
        var nCpu = Tensor.Randn([4000], 2f, 0.5f, new Generator(1)).ToArray<float>();
        Ref.Close(nCpu.Select(v => (double)v).ToArray(), n, 1e-5, "randn"); // log/cos round differently on CUDA
        double mean = n.Average(), std = Math.Sqrt(n.Select(v => (v - mean) * (v - mean)).Average());
        Assert.InRange(mean, 1.97, 2.03);
        Assert.InRange(std, 0.48, 0.52);
        var g = new Generator(9);
        Assert.NotEqual(Tensor.Rand([8], generator: g, device: d).ToArray<float>(),
            Tensor.Rand([8], generator: g, device: d).ToArray<float>());
        g.ManualSeed(9);
        Assert.Equal(Tensor.Rand([8], generator: new Generator(9)).ToArray<float>(),
            Tensor.Rand([8], generator: g, device: d).ToArray<float>());
    }

    [Theory, MemberData(nameof(TestDevices.All), MemberType = typeof(TestDevices))]
    public void ArraysRoundTripWithShape(string device)
    {
        var d = TestDevices.Use(device);
        var x = Tensor.From(new float[,] { { 1, 2, 3 }, { 4, 5, 6 } }, d);
        Assert.Equal(new[] { 2, 3 }, x.Shape);
        Assert.Equal(new float[] { 1, 2, 3, 4, 5, 6 }, x.ToArray<float>());
        var l = Tensor.FromArray<long>(new long[,,] { { { 1 }, { 2 } } }, d);
        Assert.Equal(new[] { 1, 2, 1 }, l.Shape);
        Assert.Equal(DType.Int64, l.DType);
        Assert.Equal(6f, x[1, 2].Item());
        Assert.Throws<InvalidOperationException>(() => x.Item());
        Assert.Throws<InvalidOperationException>(() => x.ToArray<int>());
        Assert.Throws<ArgumentException>(() => Tensor.FromArray(new float[5], [2, 3], d));
    }

    [Theory, MemberData(nameof(TestDevices.All), MemberType = typeof(TestDevices))]
    public void DTypeConversions(string device)
    {
        var d = TestDevices.Use(device);
        var x = Tensor.FromArray(new float[] { -2.7f, -0.5f, 0f, 1.9f, 3e9f }, device: d);
        Assert.Equal(new long[] { -2, 0, 0, 1, 3_000_000_000 }, x.To(DType.Int64).ToArray<long>());
        Assert.Equal(new double[] { -2.7f, -0.5f, 0f, 1.9f, 3e9f }, x.To(DType.Float64).ToArray<double>());
        var big = Tensor.FromArray(new long[] { long.MaxValue, -5 }, device: d);
        Assert.Equal(new long[] { long.MaxValue, -5 }, big.Clone().ToArray<long>()); // same-dtype copies never convert
        Assert.Same(x, x.To(DType.Float32));
        Assert.Equal(new float[] { 1, 2 }, Tensor.FromArray(new int[] { 1, 2 }, device: d).To(DType.Float32).ToArray<float>());
    }

    [Fact]
    public void ToStringLooksLikePyTorch()
    {
        Assert.Equal("tensor([[1., 1., 1.]])", Tensor.Ones(1, 3).ToString());
        Assert.Equal("tensor([0.1000, 2.5000])", Tensor.From(new[] { 0.1f, 2.5f }).ToString());
        Assert.Equal("tensor([0, 1, 2])", Tensor.Arange(3, DType.Int64).ToString());
        Assert.Equal("tensor([0, 1], dtype=torch.int32)", Tensor.Arange(2, DType.Int32).ToString());
        Assert.Equal("tensor(3.)", Tensor.Scalar(3f).ToString());
        Assert.Equal("tensor([ 1., nan, inf])", Tensor.From(new[] { 1f, float.NaN, float.PositiveInfinity }).ToString());
        Assert.Equal("tensor([[0., 1.],\n        [2., 3.]])", Tensor.Arange(4).Reshape(2, 2).ToString());
        Assert.Equal("tensor([], size=(0, 3))", Tensor.Zeros(0, 3).ToString());
        Assert.Equal("tensor([1.0000e-05, 1.0000e+00])", Tensor.From(new[] { 1e-5f, 1f }).ToString());
        Assert.Contains("...", Tensor.Zeros(2000).ToString());
        Assert.Equal("tensor([[[0., 1.]],\n\n        [[2., 3.]]])", Tensor.Arange(4).Reshape(2, 1, 2).ToString());
    }
}
