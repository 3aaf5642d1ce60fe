using DeepSharp.Layers;
using DeepSharp.Optim;
using DeepSharp.Tests;

namespace DeepSharp.IO.Tests;

/// <summary>A model, its optimizer and its scheduler saved in one checkpoint file resume bit for bit where the saved run
/// would have gone (every optimizer, every device, a never-run model with deferred parameters on the resuming side), and a
/// file that does not fit is refused with everything left as it was.</summary>
public class TrainingCheckpointTests
{
    private static readonly Dictionary<string, Func<IEnumerable<IParameter>, Optimizer>> Optimizers = new()
    {
        ["sgd"] = ps => new Sgd(ps, lr: 0.1f, momentum: 0.9f, weightDecay: 1e-3f, nesterov: true),
        ["adam"] = ps => new Adam(ps, lr: 0.01f, weightDecay: 1e-3f, amsgrad: true),
        ["adamw"] = ps => new AdamW(ps, lr: 0.01f),
        ["rmsprop"] = ps => new RmsProp(ps, lr: 0.01f, momentum: 0.5f, centered: true),
        ["adagrad"] = ps => new Adagrad(ps, lr: 0.05f, lrDecay: 0.01f),
    };

    public static TheoryData<string, string> Cases()
    {
        var data = new TheoryData<string, string>();
        foreach (var d in TestDevices.Names) foreach (var o in Optimizers.Keys) data.Add(d, o);
        return data;
    }

    private static Sequential Mlp(Device d) => (Sequential)new Sequential(new Dense(8), new Relu(), new Dense(3)).To(d);

    private static (Tensor X, Tensor Y) Data(Device d)
    {
        var g = new Generator(7);
        var x = Tensor.Randn([16, 5], generator: g, device: d);
        return (x, x.Slice(1, 0, 3).ArgMax(1));
    }

    private static void Train(Block net, Optimizer opt, LRScheduler sched, (Tensor X, Tensor Y) data, int steps)
    {
        for (int i = 0; i < steps; i++)
        {
            using var scope = TensorScope.Begin();
            opt.ZeroGrad();
            Functional.CrossEntropy(net.Call(data.X), data.Y).Backward();
            opt.Step();
            sched.Step();
        }
    }

    [Theory, MemberData(nameof(Cases))]
    public void ResumingFromOneFileEndsBitForBitWhereTheUninterruptedRunDoes(string device, string optimizer)
    {
        var d = TestDevices.Use(device);
        using var dir = new TempDir();
        var data = Data(d);
        var whole = Mlp(d);
        whole.Call(data.X); // creates the deferred weights
        var start = whole.StateDict().ToDictionary(kv => kv.Key, kv => kv.Value.Copy(d));
        var wholeOpt = Optimizers[optimizer](whole.Parameters());
        Train(whole, wholeOpt, new StepLR(wholeOpt, 2, 0.5f), data, 6);

        var first = Mlp(d);
        first.LoadStateDict(start);
        var firstOpt = Optimizers[optimizer](first.Parameters());
        var firstSched = new StepLR(firstOpt, 2, 0.5f);
        Train(first, firstOpt, firstSched, data, 3);
        first.Save(dir.File("run.ckpt"), firstOpt, firstSched);

        var resumed = Mlp(d); // never run: its shapes, the optimizer's state and the schedule come from the file
        var resumedOpt = Optimizers[optimizer](resumed.Parameters());
        var resumedSched = new StepLR(resumedOpt, 2, 0.5f);
        resumed.Load(dir.File("run.ckpt"), resumedOpt, resumedSched);
        Assert.Equal(3, resumedOpt.StepCount);
        Assert.Equal(3, resumedSched.LastEpoch);
        Train(resumed, resumedOpt, resumedSched, data, 3);
        foreach (var (key, t) in whole.StateDict()) Assert.Equal(t.ToArray<float>(), resumed.StateDict()[key].ToArray<float>());
    }

    private static float[][] Weights(Block net) => net.StateDict().Values.Select(t => t.ToArray<float>()).ToArray();

    [Fact]
    public void AFileThatDoesNotFitIsRefusedAndLeavesModelOptimizerAndSchedulerAsTheyWere()
    {
        var d = Device.Cpu;
        using var dir = new TempDir();
        var data = Data(d);
        var net = Mlp(d);
        var opt = new Adam(net.Parameters(), lr: 0.01f);
        var sched = new StepLR(opt, 2, 0.5f);
        Train(net, opt, sched, data, 2);
        net.Save(dir.File("adam.ckpt"), opt, sched);
        net.Save(dir.File("model.params"));

        var other = Mlp(d);
        var sgd = new Sgd(other.Parameters(), lr: 0.1f, momentum: 0.9f);
        var sgdSched = new StepLR(sgd, 2, 0.5f);
        Train(other, sgd, sgdSched, data, 1);
        var before = Weights(other);
        var e = Assert.Throws<StateDictMismatchException>(() => other.Load(dir.File("adam.ckpt"), sgd, sgdSched));
        Assert.Contains("Adam", e.Message);
        Assert.Contains("Sgd", e.Message);
        e = Assert.Throws<StateDictMismatchException>(() => other.Load(dir.File("model.params"), sgd));
        Assert.Contains("no optimizer state", e.Message);

        // Same optimizer type, but over the first layer only: the parameter count differs.
        var partial = new Adam(other.Parameters().Take(2), lr: 0.01f);
        e = Assert.Throws<StateDictMismatchException>(() => other.Load(dir.File("adam.ckpt"), partial));
        Assert.Contains("this Adam has 2", e.Message);
        Assert.Equal(before, Weights(other));

        // The model does not fit (another width) after the optimizer and scheduler were read: they are put back.
        var wide = (Sequential)new Sequential(new Dense(9), new Relu(), new Dense(3)).To(d);
        var wideOpt = new Adam(wide.Parameters(), lr: 0.01f);
        var wideSched = new StepLR(wideOpt, 2, 0.5f);
        Train(wide, wideOpt, wideSched, data, 1);
        var optBefore = wideOpt.StateDict().Select(kv => (kv.Key, kv.Value.ToDoubleArray())).ToList();
        Assert.Throws<StateDictMismatchException>(() => wide.Load(dir.File("adam.ckpt"), wideOpt, wideSched));
        Assert.Equal(1, wideOpt.StepCount);
        Assert.Equal(1, wideSched.LastEpoch);
        Assert.Equal(0.01f, wideOpt.LearningRate);
        var optAfter = wideOpt.StateDict().Select(kv => (kv.Key, kv.Value.ToDoubleArray())).ToList();
        Assert.Equal(optBefore.Select(e => e.Key), optAfter.Select(e => e.Key));
        for (int i = 0; i < optBefore.Count; i++) Assert.Equal(optBefore[i].Item2, optAfter[i].Item2);

        // A scheduler of another type is named; the model alone loads from a training checkpoint.
        var fresh = Mlp(d);
        var freshOpt = new Adam(fresh.Parameters(), lr: 0.01f);
        e = Assert.Throws<StateDictMismatchException>(() => fresh.Load(dir.File("adam.ckpt"), freshOpt, new ExponentialLR(freshOpt, 0.9f)));
        Assert.Contains("StepLR", e.Message);
        fresh.Load(dir.File("adam.ckpt"));
        Assert.Equal(Weights(net), Weights(fresh));
        Assert.Equal(0, freshOpt.StepCount);
    }

    /// <summary>Loss-scaled steps; the first overflows (its gradient is scaled past float32) and is skipped.</summary>
    private static void TrainScaled(Block net, Optimizer opt, GradScaler scaler, (Tensor X, Tensor Y) data, int steps, bool overflowFirst)
    {
        for (int i = 0; i < steps; i++)
        {
            using var scope = TensorScope.Begin();
            opt.ZeroGrad();
            var loss = Functional.CrossEntropy(net.Call(data.X), data.Y);
            (i == 0 && overflowFirst ? scaler.Scale(loss) * 1e38f : scaler.Scale(loss)).Backward();
            Assert.Equal(!(i == 0 && overflowFirst), scaler.Step(opt));
            scaler.Update();
        }
    }

    [Theory, MemberData(nameof(TestDevices.All), MemberType = typeof(TestDevices))]
    public void TheGradScalerResumesWithTheOptimizerAndAMismatchChangesNothing(string device)
    {
        var d = TestDevices.Use(device);
        using var dir = new TempDir();
        var data = Data(d);
        var whole = Mlp(d);
        whole.Call(data.X);
        var start = whole.StateDict().ToDictionary(kv => kv.Key, kv => kv.Value.Copy(d));
        var wholeOpt = new Adam(whole.Parameters(), lr: 0.01f);
        var wholeScaler = new GradScaler(initScale: 1024f, growthInterval: 2);
        TrainScaled(whole, wholeOpt, wholeScaler, data, 6, overflowFirst: true);

        var first = Mlp(d);
        first.LoadStateDict(start);
        var firstOpt = new Adam(first.Parameters(), lr: 0.01f);
        var firstScaler = new GradScaler(initScale: 1024f, growthInterval: 2);
        TrainScaled(first, firstOpt, firstScaler, data, 4, overflowFirst: true); // backed off to 512, grew to 1024, one clean step
        first.Save(dir.File("run.ckpt"), firstOpt, scaler: firstScaler);

        var resumed = Mlp(d);
        var resumedOpt = new Adam(resumed.Parameters(), lr: 0.01f);
        var resumedScaler = new GradScaler(initScale: 1024f, growthInterval: 2);
        resumed.Load(dir.File("run.ckpt"), resumedOpt, scaler: resumedScaler);
        Assert.Equal((1024f, 1), (resumedScaler.GetScale(), resumedScaler.GrowthTracker));
        TrainScaled(resumed, resumedOpt, resumedScaler, data, 2, overflowFirst: false);
        Assert.Equal(wholeScaler.GetScale(), resumedScaler.GetScale());
        foreach (var (key, t) in whole.StateDict()) Assert.Equal(t.ToArray<float>(), resumed.StateDict()[key].ToArray<float>());

        // A scaler with other settings, or none in the file: refused, and the scaler, model and optimizer stay as they were.
        var other = Mlp(d);
        var otherOpt = new Adam(other.Parameters(), lr: 0.01f);
        var otherScaler = new GradScaler(initScale: 8f, growthInterval: 3);
        var e = Assert.Throws<StateDictMismatchException>(() => other.Load(dir.File("run.ckpt"), otherOpt, scaler: otherScaler));
        Assert.Contains("growth_interval", e.Message);
        Assert.Equal(8f, otherScaler.GetScale());
        Assert.Equal(0, otherOpt.StepCount);
        first.Save(dir.File("plain.ckpt"), firstOpt);
        e = Assert.Throws<StateDictMismatchException>(() => other.Load(dir.File("plain.ckpt"), otherOpt, scaler: new GradScaler()));
        Assert.Contains("no gradient scaler state", e.Message);
        // A scaler that fits, with a model that does not: the scaler is put back as it was.
        var wide = (Sequential)new Sequential(new Dense(9), new Relu(), new Dense(3)).To(d);
        var wideOpt = new Adam(wide.Parameters(), lr: 0.01f);
        var wideScaler = new GradScaler(initScale: 8f, growthInterval: 2);
        Assert.Throws<StateDictMismatchException>(() => wide.Load(dir.File("run.ckpt"), wideOpt, scaler: wideScaler));
        Assert.Equal((8f, 0), (wideScaler.GetScale(), wideScaler.GrowthTracker));
    }
}
