using DeepSharp.Layers;
using DeepSharp.Optim;
using DeepSharp.Tests;

namespace DeepSharp.Layers.Tests;

/// <summary>A model and its optimizer free their device memory at once when disposed. The device's byte counters are
/// shared by every test using the device, so these run alone.</summary>
[CollectionDefinition(nameof(DisposeTests), DisableParallelization = true)]
[Collection(nameof(DisposeTests))]
public class DisposeTests
{
    public static TheoryData<string, bool> Cases()
    {
        var data = new TheoryData<string, bool>();
        foreach (var d in TestDevices.Names) { data.Add(d, false); data.Add(d, true); }
        return data;
    }

    /// <summary>Lazy: the weights are made on the device at the first batch. Eager: made on the CPU, then moved by To.</summary>
    [Theory, MemberData(nameof(Cases))]
    public void DisposingAModelAndItsOptimizerFreesTheirMemory(string device, bool eager)
    {
        var d = TestDevices.Use(device);
        Func<Block> make = eager ? () => new Sequential(new Dense(128, 64), new Relu(), new Dense(10, 128), new Scaled())
                                 : () => new Sequential(new Dense(128), new Relu(), new Dense(10), new Scaled());
        var x = Tensor.Rand([4, 64], device: d);
        var (warmNet, warmOpt) = Train(d, x, make); // the device's one-time caches (a backward's seed, launch tables) exist from here on
        warmOpt.Dispose();
        warmNet.Dispose();
        long baseline = d.Kind == DeviceKind.Cpu ? 0 : d.Stats.BytesInUse;
        var (net, opt) = Train(d, x, make);
        var weight = net.GetParameter("0.weight");
        long trained = d.Kind == DeviceKind.Cpu ? 0 : d.Stats.BytesInUse;
        opt.Dispose();
        net.Dispose();
        Assert.Throws<ObjectDisposedException>(() => weight.Data);
        Assert.Throws<ObjectDisposedException>(() => net.Call(x));
        Assert.Throws<ObjectDisposedException>(() => opt.Step());
        if (d.Kind != DeviceKind.Cpu)
        {
            // Weights, gradients, Adam's two moments and the buffer: about 4 × (64·128 + 128 + 128·10 + 10) floats.
            Assert.True(trained - baseline > 4 * 4 * (64 * 128 + 128 * 10), $"{trained - baseline} bytes in use after a step");
            Assert.True(d.Stats.BytesInUse - baseline <= 0, $"{d.Stats.BytesInUse - baseline} bytes still in use");
        }
        net.Dispose(); // twice is harmless
        opt.Dispose();
    }

    private static (Block Net, Optimizer Opt) Train(Device d, Tensor x, Func<Block> make)
    {
        var net = make();
        net.Initialize();
        net.To(d);
        var opt = new Adam(net.Parameters());
        using (TensorScope.Begin())
        {
            opt.ZeroGrad();
            net.Call(x).Sum().Backward();
            opt.Step();
        }
        return (net, opt);
    }

    private sealed class Scaled : Block
    {
        private readonly Tensor _scale;
        public Scaled() => _scale = RegisterBuffer("scale", Tensor.Full([10], 0.5f));
        protected override Tensor Forward(Tensor x) => x * _scale;
    }
}
