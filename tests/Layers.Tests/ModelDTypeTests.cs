using DeepSharp.Layers;
using DeepSharp.Optim;
using DeepSharp.Tests;

namespace DeepSharp.Layers.Tests;

/// <summary>Block.To(DType): a model converted in place to float64, 16 bits and back (PyTorch's model.double(),
/// model.bfloat16(), model.float()), and the optimizers' float32 master weights for 16-bit parameters.</summary>
public class ModelDTypeTests
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

    [Theory, MemberData(nameof(TestDevices.All), MemberType = typeof(TestDevices))]
    public void AFloat64ModelSavesLoadsAndAveragesInDouble(string device)
    {
        var d = TestDevices.Use(device);
        Sequential Make() => new(new Dense(3, inFeatures: 2), new Tanh(), new Dense(1));
        var net = Make();
        net.Initialize(device: d);
        net.To(DType.Float64);
        net.Call(Tensor.Ones([1, 2], DType.Float64, d));
        var w = net.Parameters().First();
        using (Autograd.NoGrad()) w.Data.AddInPlace(Tensor.Full([], 1e-12, DType.Float64, d)); // below float32's resolution
        var copy = Make().To(DType.Float64);
        copy.Initialize(device: d);
        copy.LoadStateDict(net.StateDict()); // loaded as float64: nothing rounds through float32
        Assert.Equal(w.Data.ToArray<double>(), copy.Parameters().First().Data.ToArray<double>());

        var ema = new ExponentialMovingAverage(net.Parameters(), decay: 0.5f);
        ema.Update();
        using (Autograd.NoGrad()) w.Data.AddInPlace(Tensor.Full([], 1e-12, DType.Float64, d));
        ema.Update(); // the average moves by half of 1e−12, in double
        var avg = ema.StateDict()["average.0"];
        Assert.Equal(DType.Float64, avg.DType);
        Assert.Equal(w.Data.ToArray<double>()[0] - 0.5e-12, avg.ToArray<double>()[0], 1e-16);
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

    [Theory, MemberData(nameof(TestDevices.All), MemberType = typeof(TestDevices))]
    public void MasterWeightsKeepStepsBelowTheSpacingOfA16BitParameter(string device)
    {
        var d = TestDevices.Use(device);
        var p = new Parameter(Tensor.Ones([4], device: d).To(DType.BFloat16));
        var plain = Tensor.Ones([4], device: d).To(DType.BFloat16).RequiresGradient(); // what rounding every step would do
        var opt = new Sgd([p], lr: 1e-3f);
        float master = 1f;
        for (int step = 0; step < 10; step++)
        {
            opt.ZeroGrad();
            p.Data.Grad = Tensor.Ones([4], device: d).To(DType.BFloat16);
            opt.Step();
            master -= 1e-3f;
            using (Autograd.NoGrad()) plain.SubInPlace(Tensor.Full([4], 1e-3, DType.BFloat16, d));
        }
        Assert.Equal(DType.BFloat16, p.DType);
        float expected = Tensor.Full([], master).To(DType.BFloat16).To(DType.Float32).Item<float>();
        Assert.All(p.Data.To(DType.Float32).ToArray<float>(), v => Assert.Equal(expected, v)); // 0.98828125, not 1
        Assert.All(plain.To(DType.Float32).ToArray<float>(), v => Assert.Equal(1f, v)); // each 1e-3 step rounded away
        var state = opt.StateDict();
        Assert.Equal(DType.Float32, state["state.0.master_param"].DType);
        Assert.Equal(master, state["state.0.master_param"].ToArray<float>()[0], 1e-6);
        var again = new Sgd([new Parameter(Tensor.Ones([4], device: d).To(DType.BFloat16))], lr: 1e-3f);
        again.LoadStateDict(state);
        Assert.Equal(master, again.StateDict()["state.0.master_param"].ToArray<float>()[0], 1e-6);
    }

    [Theory, MemberData(nameof(TestDevices.All), MemberType = typeof(TestDevices))]
    public void ABFloat16ModelTrainsWithFloat32MasterWeights(string device)
    {
        var d = TestDevices.Use(device);
        var net = new Sequential(new Conv2d(4, 3, padding: 1, inChannels: 1), new BatchNorm2d(4), new Relu(), new Flatten(),
            new Dense(2, inFeatures: 4 * 36));
        net.Initialize(device: d);
        net.To(DType.BFloat16);
        var x = Tensor.FromArray(Ref.Random(72, 7), [2, 1, 6, 6], d);
        var labels = Tensor.FromArray(new long[] { 0, 1 }, [2], d);
        var opt = new Adam(net.Parameters(), lr: 0.01f);
        var losses = new List<float>();
        for (int step = 0; step < 8; step++)
        {
            opt.ZeroGrad();
            var loss = Functional.CrossEntropy(net.Call(x), labels);
            loss.Backward();
            opt.Step();
            losses.Add(loss.To(DType.Float32).Item<float>());
        }
        Assert.All(net.Parameters(), p => Assert.Equal(DType.BFloat16, p.DType));
        Assert.All(net.Parameters(), p => Assert.Equal(DType.BFloat16, p.Grad!.DType));
        Assert.Equal(DType.BFloat16, ((BatchNorm2d)net[1]).RunningMean!.DType);
        Assert.True(losses[^1] < losses[0] * 0.8f, $"the loss fell from {losses[0]} to {losses[^1]} only");
    }
}
