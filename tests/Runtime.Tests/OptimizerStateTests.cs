using DeepSharp;
using DeepSharp.Optim;

namespace DeepSharp.Tests;

/// <summary>Optimizer state dicts: a resumed run ends bit for bit where an uninterrupted one does (every optimizer, every
/// device), a dict that does not fit is refused whole, and deferred parameters take their state at their first step.</summary>
public class OptimizerStateTests
{
    public static readonly Dictionary<string, Func<ParamGroup[], Optimizer>> Make = new()
    {
        ["sgd-nesterov"] = gs => new Sgd(gs, lr: 0.1f, momentum: 0.9f, weightDecay: 1e-2f, nesterov: true),
        ["adam-amsgrad"] = gs => new Adam(gs, lr: 0.01f, weightDecay: 1e-2f, amsgrad: true),
        ["adamw"] = gs => new AdamW(gs, lr: 0.01f),
        ["rmsprop"] = gs => new RmsProp(gs, lr: 0.01f, momentum: 0.5f, centered: true),
        ["adagrad"] = gs => new Adagrad(gs, lr: 0.1f, lrDecay: 0.1f, initialAccumulatorValue: 0.1f),
    };

    public static TheoryData<string, string> DeviceCases()
    {
        var data = new TheoryData<string, string>();
        foreach (var d in TestDevices.Names) foreach (var c in Make.Keys) data.Add(d, c);
        return data;
    }

    private static void Train(Optimizer opt, Tensor[] ps, int from, int to, Device d)
    {
        for (int t = from; t <= to; t++)
        {
            opt.ZeroGrad();
            for (int i = 0; i < ps.Length; i++)
                if (OptimizerTests.Gradient(i, t) is { } g) ps[i].Grad = Tensor.FromArray(g, [g.Length], d);
            opt.Step();
        }
    }

    private static (Tensor[] Ps, Optimizer Opt) Fresh(string name, Device d, float[][]? values = null)
    {
        var ps = OptimizerTests.Sizes.Select((n, i) => Tensor.FromArray(values?[i] ?? Ref.Random(n, i + 1), [n], d).RequiresGradient())
            .ToArray();
        return (ps, Make[name]([new ParamGroup([ps[0], ps[1]]), new ParamGroup([ps[2]], lr: 0.05f)]));
    }

    [Theory, MemberData(nameof(DeviceCases))]
    public void ResumingFromAStateDictEndsBitForBitWhereAnUninterruptedRunDoes(string device, string name)
    {
        var d = TestDevices.Use(device);
        var (whole, wholeOpt) = Fresh(name, d);
        Train(wholeOpt, whole, 1, 7, d);
        var (first, firstOpt) = Fresh(name, d);
        Train(firstOpt, first, 1, 3, d);
        firstOpt.ParamGroups[1].LearningRate = 0.04f; // a changed rate travels with the state
        var saved = firstOpt.StateDict().ToDictionary(kv => kv.Key, kv => kv.Value.Copy(Device.Cpu)); // as a file holds it
        var (second, secondOpt) = Fresh(name, d, first.Select(p => p.ToArray<float>()).ToArray());
        secondOpt.LoadStateDict(saved);
        Assert.Equal(3, secondOpt.StepCount);
        Assert.Equal(0.04f, secondOpt.ParamGroups[1].LearningRate);
        secondOpt.ParamGroups[1].LearningRate = 0.05f;
        Train(secondOpt, second, 4, 7, d);
        for (int i = 0; i < whole.Length; i++) Assert.Equal(whole[i].ToArray<float>(), second[i].ToArray<float>());
        Assert.Equal(7, secondOpt.StepCount);
    }

    [Fact]
    public void ADictThatDoesNotFitIsRefusedWholeAndNamesEveryProblem()
    {
        var d = Device.Cpu;
        var (ps, sgd) = Fresh("sgd-nesterov", d);
        Train(sgd, ps, 1, 2, d);
        var (_, adam) = Fresh("adam-amsgrad", d);
        var e = Assert.Throws<ArgumentException>(() => adam.LoadStateDict(sgd.StateDict()));
        Assert.Contains("momentum_buffer", e.Message);
        Assert.Contains("missing 'param_groups.0.beta1'", e.Message);
        Assert.Equal(0, adam.StepCount);

        var (_, plainAdam) = Fresh("adam-amsgrad", d);
        var (aps, amsAdam) = Fresh("adam-amsgrad", d);
        Train(amsAdam, aps, 1, 2, d);
        var sd = amsAdam.StateDict();
        sd["param_groups.0.amsgrad"] = Tensor.Full([], 0);
        e = Assert.Throws<ArgumentException>(() => plainAdam.LoadStateDict(sd));
        Assert.Contains("amsgrad", e.Message);
        var (wps, adamw) = Fresh("adamw", d);
        Train(adamw, wps, 1, 1, d);
        e = Assert.Throws<ArgumentException>(() => Fresh("adam-amsgrad", d).Opt.LoadStateDict(adamw.StateDict()));
        Assert.Contains("decoupled_weight_decay = True but this Adam has decoupled_weight_decay = False", e.Message);

        var other = new[] { 19, 4, 11 }.Select(n => Tensor.Zeros(n).RequiresGradient()).ToArray();
        var wrongShape = new Sgd([new ParamGroup([other[0], other[1]]), new ParamGroup([other[2]])], lr: 0.1f, momentum: 0.9f,
            nesterov: true);
        e = Assert.Throws<ArgumentException>(() => wrongShape.LoadStateDict(sgd.StateDict()));
        Assert.Contains("'state.1.momentum_buffer' is float32 [5]", e.Message);
        Assert.Contains("[4]", e.Message);
        var oneGroup = new Sgd(other, lr: 0.1f, momentum: 0.9f, nesterov: true);
        e = Assert.Throws<ArgumentException>(() => oneGroup.LoadStateDict(sgd.StateDict()));
        Assert.Contains("2 parameter groups but this SGD has 1", e.Message);
        sd = sgd.StateDict();
        sd["param_groups.1.lr"] = Tensor.Full([], -1);
        var fresh = Fresh("sgd-nesterov", d).Opt;
        e = Assert.Throws<ArgumentException>(() => fresh.LoadStateDict(sd));
        Assert.Contains("group 1's lr must be >= 0, got -1", e.Message);
        Assert.Equal(0.05f, fresh.ParamGroups[1].LearningRate); // nothing changed
        Assert.DoesNotContain(fresh.StateDict().Keys, k => k.StartsWith("state.", StringComparison.Ordinal));
    }

    /// <summary>A parameter whose tensor the first batch creates (a model's deferred parameter).</summary>
    private sealed class Deferred(string path) : IParameter
    {
        public Tensor? Tensor;
        public bool IsInitialized => Tensor is not null;
        public Tensor Data => Tensor ?? throw new InvalidOperationException("no data yet");
        public string Path => path;
    }

    [Fact]
    public void StateLoadedBeforeDeferredParametersExistIsAppliedAtTheirFirstStep()
    {
        var d = Device.Cpu;
        var (ps, opt) = Fresh("adam-amsgrad", d);
        Train(opt, ps, 1, 3, d);
        var saved = opt.StateDict().ToDictionary(kv => kv.Key, kv => kv.Value.Copy(d)); // the buffers are live: copy them
        var values = ps.Select(p => p.ToArray<float>()).ToArray();
        Train(opt, ps, 4, 5, d);

        var deferred = OptimizerTests.Sizes.Select((_, i) => new Deferred($"layer.{i}")).ToArray();
        var resumed = Make["adam-amsgrad"]([new ParamGroup([deferred[0], deferred[1]]), new ParamGroup([deferred[2]], lr: 0.05f)]);
        resumed.LoadStateDict(saved); // no tensors yet: kept aside
        Assert.Equal(saved.Keys, resumed.StateDict().Keys);
        var tensors = values.Select((v, i) => Tensor.FromArray(v, [v.Length], d).RequiresGradient()).ToArray();
        for (int i = 0; i < 3; i++) deferred[i].Tensor = tensors[i];
        Train(resumed, tensors, 4, 5, d);
        for (int i = 0; i < 3; i++) Assert.Equal(ps[i].ToArray<float>(), tensors[i].ToArray<float>());

        // State for a deferred parameter that turns out to have another shape is refused at that step, before any update.
        var late = OptimizerTests.Sizes.Select((_, i) => new Deferred($"layer.{i}")).ToArray();
        var wrong = Make["adam-amsgrad"]([new ParamGroup([late[0], late[1]]), new ParamGroup([late[2]], lr: 0.05f)]);
        wrong.LoadStateDict(saved);
        var t0 = Tensor.Ones(19).RequiresGradient(); var t2 = Tensor.Ones(7).RequiresGradient();
        (late[0].Tensor, late[2].Tensor) = (t0, t2);
        t0.Grad = Tensor.Ones(19); t2.Grad = Tensor.Ones(7);
        var e = Assert.Throws<InvalidOperationException>(wrong.Step);
        Assert.Contains("'layer.2'", e.Message);
        Assert.Contains("[11]", e.Message);
        Assert.Equal(Enumerable.Repeat(1f, 19), t0.ToArray<float>());
    }
}
