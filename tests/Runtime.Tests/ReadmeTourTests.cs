using DeepSharp;

namespace DeepSharp.Tests;

/// <summary>The README's tour, run as written (on the best available device), so the documentation cannot rot.</summary>
public class ReadmeTourTests
{
    [Fact]
    public void TourRuns()
    {
        var d = Device.TryGpu();
        Assert.Contains("cpu", Device.Describe());
        var x = Tensor.Randn([2, 3], generator: new Generator(42), device: d);
        var w = Tensor.Ones([3, 4], device: d);
        var y = (x.MatMul(w) + 1f).Relu();
        Assert.StartsWith("tensor([[", y.ToString());
        Assert.Equal(new[] { 1, 4 }, y.Sum(axis: 0, keepDim: true).Shape);
        var v = x.T.Slice(0, 1).Reshape(-1);
        Assert.Equal(4, v.Count);
        var h = y.To(Device.Cpu).ToArray<float>();
        Assert.All(h, value => Assert.True(value >= 0));
        if (d != Device.Cpu)
            Assert.Contains("Add: argument 'b' is on cpu", Assert.Throws<DeviceMismatchException>(() => y + Tensor.Ones(4)).Message);
    }
}
