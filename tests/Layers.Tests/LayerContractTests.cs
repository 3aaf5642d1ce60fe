using DeepSharp.Layers;
using DeepSharp.Tests;

namespace DeepSharp.Layers.Tests;

/// <summary>The built-in layers' argument checks, input checks and printed configuration.</summary>
public class LayerContractTests
{
    [Fact]
    public void SizesMustBePositive()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => new Dense(0));
        Assert.Throws<ArgumentOutOfRangeException>(() => new Dense(2, 0));
        Assert.Throws<ArgumentOutOfRangeException>(() => new Dense(-1, 2));
        Assert.Equal(1, new Dense(1, 1).OutFeatures);
        foreach (var make in new Func<Conv2d>[]
                 {
                     () => new Conv2d(0, 3), () => new Conv2d(2, 0), () => new Conv2d(2, 3, stride: 0),
                     () => new Conv2d(2, 3, padding: -1), () => new Conv2d(2, 3, inChannels: 0),
                 })
            Assert.Throws<ArgumentOutOfRangeException>(make);
        Assert.Equal(0, new Conv2d(1, 1, stride: 1, padding: 0, inChannels: 1).Padding);
        Assert.Equal("kernel", Assert.Throws<ArgumentOutOfRangeException>(() => new MaxPool2d(0)).ParamName);
        Assert.Equal("kernel", Assert.Throws<ArgumentOutOfRangeException>(() => new AvgPool2d(0)).ParamName);
        Assert.Equal(1, new MaxPool2d(1).Kernel);
        Assert.Equal(1, new AvgPool2d(1).Kernel);
    }

    [Fact]
    public void PoolingStrideDefaultsToTheKernel()
    {
        Assert.Equal(3, new MaxPool2d(3).Stride);
        Assert.Equal(1, new MaxPool2d(3, stride: 1).Stride);
        Assert.Equal(3, new AvgPool2d(3).Stride);
        Assert.Equal(1, new AvgPool2d(3, stride: 1).Stride);
        Assert.Equal(2, new AvgPool2d(3, padding: 2).Padding);
    }

    [Fact]
    public void DropoutProbabilityIsInZeroToOne()
    {
        foreach (var p in new[] { 1f, 1.5f, -0.1f, float.NaN })
            Assert.Equal("p", Assert.Throws<ArgumentOutOfRangeException>(() => new Dropout(p)).ParamName);
        var none = new Dropout(0f);
        var x = Tensor.Rand([100], generator: new Generator(1));
        Assert.Equal(x.ToArray<float>(), none.Call(x).ToArray<float>()); // p = 0 keeps everything, unscaled
        Assert.Equal(0.999f, new Dropout(0.999f).P);
    }

    [Fact]
    public void DenseTakesFeaturesFromTheLastDim()
    {
        var dense = new Dense(3);
        Assert.Equal([2, 5, 3], dense.Call(Tensor.Rand([2, 5, 4])).Shape);
        Assert.Equal(4, dense.InFeatures);
        Assert.Throws<ArgumentException>(() => new Dense(3).Call(Tensor.Scalar(1f)));
        Assert.Contains("bias=false", new Dense(2, 3, bias: false).ToString());
        Assert.DoesNotContain("bias=false", new Dense(2, 3).ToString());
        Assert.Null(new Dense(2, 3, bias: false).Bias);
    }

    [Fact]
    public void Conv2dChecksItsInputAndItsBias()
    {
        var conv = new Conv2d(2, 3, inChannels: 2, bias: false);
        Assert.Null(conv.Bias);
        Assert.Equal(["weight"], conv.NamedParameters().Select(p => p.Path));
        conv.Initialize();
        Assert.Throws<ArgumentException>(() => conv.Call(Tensor.Rand([2, 5, 5])));     // not [N, C, H, W]
        Assert.Throws<ArgumentException>(() => conv.Call(Tensor.Rand([1, 3, 5, 5])));  // three channels, not two
        Assert.Equal([1, 2, 3, 3], conv.Call(Tensor.Rand([1, 2, 5, 5])).Shape);
        Assert.Equal(["weight", "bias"], new Conv2d(2, 3).NamedParameters().Select(p => p.Path));
        Assert.StartsWith("Conv2d(? → 2", new Conv2d(2, 3).ToString());
        Assert.StartsWith("Conv2d(2 → 2", conv.ToString());
    }

    [Theory, MemberData(nameof(TestDevices.Accelerators), MemberType = typeof(TestDevices))]
    public void Conv2dRefusesAnInputOnAnotherDevice(string device)
    {
        var d = TestDevices.Use(device);
        var conv = new Conv2d(2, 3, inChannels: 1);
        conv.Initialize(device: d);
        var e = Assert.Throws<DeviceMismatchException>(() => conv.Call(Tensor.Rand([1, 1, 4, 4])));
        Assert.Contains("weight", e.Message);
    }

    [Fact]
    public void FlattenKeepsTheBatchDimAndLeavesVectorsAlone()
    {
        var flat = new Flatten();
        Assert.Equal([5], flat.Call(Tensor.Rand([5])).Shape);
        Assert.Equal([2, 12], flat.Call(Tensor.Rand([2, 3, 4])).Shape);
        Assert.Equal([0, 12], flat.Call(Tensor.Zeros([0, 3, 4])).Shape);
        Assert.Equal([], flat.Call(Tensor.Scalar(1f)).Shape);
    }
}
