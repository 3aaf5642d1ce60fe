using DeepSharp.Layers;
using DeepSharp.Optim;
using DeepSharp.Tests;

namespace DeepSharp.Layers.Tests;

/// <summary>Block.To(DType): a model converted in place to float64 and back (PyTorch's model.double() / model.float()).</summary>
public class Float64ModelTests
{
    [Theory, MemberData(nameof(TestDevices.All), MemberType = typeof(TestDevices))]
    public void AModelConvertsInPlaceAndKeepsTraining(string device)
    {
        var d = TestDevices.Use(device);
        var net = new Sequential(new Dense(8), new BatchNorm1d(8), new Relu(), new Dense(2));
        var x = Tensor.FromArray(Ref.Random(12, 5), [4, 3], d);
        var labels = Tensor.FromArray(new long[] { 0, 1, 1, 0 }, [4], d);
        net.Initialize(device: d);
        net.Call(x);
        var weight = net.Parameters().First();
        var data = weight.Data;
        var opt = new Adam(net.Parameters(), lr: 0.01f);
        void Step(Tensor input)
        {
            opt.ZeroGrad();
            Functional.CrossEntropy(net.Call(input), labels).Backward();
            opt.Step();
        }
        Step(x);

        Assert.Same(net, net.To(DType.Float64));
        Assert.Same(data, weight.Data); // the same tensor object: ties and the optimizer follow
        Assert.All(net.Parameters(), p => Assert.Equal(DType.Float64, p.DType));
        var bn = (BatchNorm1d)net[1];
        Assert.Equal(DType.Float64, bn.RunningMean!.DType);
        Assert.Equal(DType.Int64, bn.NumBatchesTracked!.DType); // integer buffers stay as they are
        var x64 = x.To(DType.Float64);
        Assert.Equal(DType.Float64, net.Call(x64).DType);
        Step(x64); // Adam's float32 moments follow the parameters to float64
        Assert.All(net.Parameters(), p => Assert.True(p.Data.ToDoubleArray().All(double.IsFinite)));

        // Back to float32: the float64 values round once; a float32 state dict loads into a float64 copy exactly.
        var values = weight.Data.ToArray<double>();
        net.To(DType.Float32);
        Assert.Equal(values.Select(v => (float)v), weight.Data.ToArray<float>());
        Step(x);
        var copy = new Sequential(new Dense(8), new BatchNorm1d(8), new Relu(), new Dense(2)).To(DType.Float64);
        copy.Call(x64.To(Device.Cpu));
        copy.LoadStateDict(net.StateDict());
        Assert.Equal(weight.Data.ToArray<float>().Select(v => (double)v), copy.Parameters().First().Data.ToArray<double>());
    }

    [Fact]
    public void DeferredParametersAreCreatedInTheModelsDType()
    {
        var net = new Sequential(new Dense(4), new LayerNorm(4)).To(DType.Float64);
        var y = net.Call(Tensor.Ones([2, 3], DType.Float64));
        Assert.Equal(DType.Float64, y.DType);
        Assert.All(net.Parameters(), p => Assert.Equal(DType.Float64, p.DType));
        var e = Assert.Throws<ArgumentException>(() => net.To(DType.Int32));
        Assert.Contains("int32", e.Message);
    }
}
