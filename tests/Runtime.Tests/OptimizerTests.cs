using DeepSharp;
using DeepSharp.Optim;

namespace DeepSharp.Tests;

/// <summary>
/// Every optimizer against a double-precision reference written from torch.optim's documented update equations, on every
/// device: two parameter groups (the second with its own learning rate and no weight decay), a parameter that skips a step
/// (no gradient: its own step count lags), and a learning rate changed mid-run. Gradients are fixed random tensors, so the
/// reference sees the same inputs. The reference functions, ported line for line to Python, agree with torch.optim 1.13 in
/// float64 on the same schedule of groups, skipped gradients and rate change to 5e-16.
/// </summary>
public class OptimizerTests
{
    /// <summary>One reference step: (p, g, state[3], t, lr, wd) → updates p and state in place.</summary>
    public delegate void RefStep(double[] p, double[] g, double[][] s, int t, double lr, double wd);

    private static readonly Dictionary<string, (Func<ParamGroup[], Optimizer> Make, RefStep Ref)> Cases = new()
    {
        ["sgd"] = (gs => new Sgd(gs, lr: 0.1f, weightDecay: 1e-2f), RefSgd(0, 0, false)),
        ["sgd-momentum-dampening"] = (gs => new Sgd(gs, lr: 0.1f, momentum: 0.9f, weightDecay: 1e-2f, dampening: 0.1f),
            RefSgd(0.9f, 0.1f, false)),
        ["sgd-nesterov"] = (gs => new Sgd(gs, lr: 0.1f, momentum: 0.9f, weightDecay: 1e-2f, nesterov: true), RefSgd(0.9f, 0, true)),
        ["adam"] = (gs => new Adam(gs, lr: 0.01f, weightDecay: 1e-2f), RefAdam(false, false)),
        ["adam-amsgrad"] = (gs => new Adam(gs, lr: 0.01f, weightDecay: 1e-2f, amsgrad: true), RefAdam(true, false)),
        ["adamw"] = (gs => new AdamW(gs, lr: 0.01f, weightDecay: 0.1f), RefAdam(false, true)),
        ["adamw-amsgrad"] = (gs => new AdamW(gs, lr: 0.01f, weightDecay: 0.1f, amsgrad: true), RefAdam(true, true)),
        ["rmsprop"] = (gs => new RmsProp(gs, lr: 0.01f, alpha: 0.9f, weightDecay: 1e-2f), RefRmsProp(0.9f, 0, false)),
        ["rmsprop-momentum-centered"] = (gs => new RmsProp(gs, lr: 0.01f, alpha: 0.9f, weightDecay: 1e-2f, momentum: 0.5f,
            centered: true), RefRmsProp(0.9f, 0.5f, true)),
        ["adagrad"] = (gs => new Adagrad(gs, lr: 0.1f, lrDecay: 0.1f, weightDecay: 1e-2f, initialAccumulatorValue: 0.1f),
            RefAdagrad(0.1f, 0.1f)),
    };

    public static TheoryData<string, string> DeviceCases()
    {
        var data = new TheoryData<string, string>();
        foreach (var d in TestDevices.Names) foreach (var c in Cases.Keys) data.Add(d, c);
        return data;
    }

    // torch.optim.SGD: d = g + wd·p; buf = d (first) or momentum·buf + (1 - dampening)·d; d = buf or d + momentum·buf.
    private static RefStep RefSgd(double momentum, double dampening, bool nesterov) => (p, g, s, t, lr, wd) =>
    {
        for (int i = 0; i < p.Length; i++)
        {
            double d = g[i] + wd * p[i];
            if (momentum != 0)
            {
                s[0][i] = t == 1 ? d : momentum * s[0][i] + (1 - dampening) * d;
                d = nesterov ? d + momentum * s[0][i] : s[0][i];
            }
            p[i] -= lr * d;
        }
    };

    // torch.optim.Adam / AdamW with their default betas (0.9, 0.999) and eps 1e-8.
    private static RefStep RefAdam(bool amsgrad, bool decoupled) => (p, g, s, t, lr, wd) =>
    {
        double b1 = 0.9f, b2 = 0.999f, eps = 1e-8f;
        for (int i = 0; i < p.Length; i++)
        {
            double d = g[i];
            if (decoupled) p[i] *= 1 - lr * wd;
            else d += wd * p[i];
            s[0][i] = b1 * s[0][i] + (1 - b1) * d;
            s[1][i] = b2 * s[1][i] + (1 - b2) * d * d;
            s[2][i] = Math.Max(s[2][i], s[1][i]);
            double denom = Math.Sqrt(amsgrad ? s[2][i] : s[1][i]) / Math.Sqrt(1 - Math.Pow(b2, t)) + eps;
            p[i] -= lr / (1 - Math.Pow(b1, t)) * s[0][i] / denom;
        }
    };

    // torch.optim.RMSprop with eps 1e-8: s0 = momentum buffer, s1 = square average, s2 = gradient average.
    private static RefStep RefRmsProp(double alpha, double momentum, bool centered) => (p, g, s, t, lr, wd) =>
    {
        for (int i = 0; i < p.Length; i++)
        {
            double d = g[i] + wd * p[i];
            s[1][i] = alpha * s[1][i] + (1 - alpha) * d * d;
            double v = s[1][i];
            if (centered) { s[2][i] = alpha * s[2][i] + (1 - alpha) * d; v -= s[2][i] * s[2][i]; }
            double q = d / (Math.Sqrt(v) + 1e-8f);
            if (momentum > 0) { s[0][i] = momentum * s[0][i] + q; q = s[0][i]; }
            p[i] -= lr * q;
        }
    };

    // torch.optim.Adagrad with eps 1e-10: s0 = the sum, starting at initial_accumulator_value.
    private static RefStep RefAdagrad(double lrDecay, double initial) => (p, g, s, t, lr, wd) =>
    {
        double clr = lr / (1 + (t - 1) * lrDecay);
        for (int i = 0; i < p.Length; i++)
        {
            if (t == 1) s[0][i] = initial;
            double d = g[i] + wd * p[i];
            s[0][i] += d * d;
            p[i] -= clr * d / (Math.Sqrt(s[0][i]) + 1e-10f);
        }
    };

    internal static readonly int[] Sizes = [19, 5, 11];

    /// <summary>The gradient of parameter i at step t (1-based), or null when it has none at that step.</summary>
    internal static float[]? Gradient(int i, int t) => i == 1 && t == 2 ? null : Ref.Random(Sizes[i], 100 * t + i, -1f, 1f);

    [Theory, MemberData(nameof(DeviceCases))]
    public void StepsMatchTorchOptimEquations(string device, string name) => StepsMatch(device, name, DType.Float32);

    /// <summary>The same schedule on float64 parameters: updated in double on every device, to the reference's last bits
    /// (the hyper-parameters are the float32 values the API holds, in both).</summary>
    [Theory, MemberData(nameof(DeviceCases))]
    public void Float64StepsMatchTorchOptimEquations(string device, string name) => StepsMatch(device, name, DType.Float64);

    private static void StepsMatch(string device, string name, DType dtype)
    {
        var d = TestDevices.Use(device);
        var (make, step) = Cases[name];
        var ps = Sizes.Select((n, i) => Tensor.FromArray(Ref.Random(n, i + 1), [n], d).To(dtype).RequiresGradient()).ToArray();
        var opt = make([new ParamGroup([ps[0], ps[1]]), new ParamGroup([ps[2]], lr: 0.05f, weightDecay: 0f)]);
        var refP = Sizes.Select((n, i) => Ref.Random(n, i + 1).Select(v => (double)v).ToArray()).ToArray();
        var refS = Sizes.Select(n => new[] { new double[n], new double[n], new double[n] }).ToArray();
        var steps = new int[Sizes.Length];
        for (int t = 1; t <= 6; t++)
        {
            if (t == 4) opt.ParamGroups[1].LearningRate = 0.02f; // as a scheduler would
            opt.ZeroGrad();
            for (int i = 0; i < ps.Length; i++)
            {
                if (Gradient(i, t) is not { } g) continue;
                ps[i].Grad = Tensor.FromArray(g, [g.Length], d).To(dtype);
                double lr = i < 2 ? opt.ParamGroups[0].LearningRate : t >= 4 ? 0.02f : 0.05f;
                double wd = i < 2 ? opt.ParamGroups[0].WeightDecay : 0;
                step(refP[i], g.Select(v => (double)v).ToArray(), refS[i], ++steps[i], lr, wd);
            }
            opt.Step();
        }
        for (int i = 0; i < ps.Length; i++)
        {
            Assert.Equal(dtype, ps[i].DType);
            if (dtype == DType.Float32) Ref.Close(refP[i], ps[i].ToArray<float>(), TestDevices.Tol(d, 1e-5), $"{name} parameter {i}");
            else
                for (int j = 0; j < refP[i].Length; j++)
                    Assert.True(Math.Abs(refP[i][j] - ps[i].ToArray<double>()[j]) <= 1e-13 * (1 + Math.Abs(refP[i][j])),
                        $"{name} parameter {i}[{j}] on {d}: {ps[i].ToArray<double>()[j]:R} vs reference {refP[i][j]:R}");
        }
        Assert.Equal(6, opt.StepCount);
    }

    [Fact]
    public void GroupsTakeTheOptimizersDefaultsAndTheirOwnValues()
    {
        var w = Tensor.Ones(3).RequiresGradient(); var b = Tensor.Zeros(2).RequiresGradient();
        var opt = new Sgd([new ParamGroup([w], weightDecay: 5e-4f), new ParamGroup([b], lr: 0.5f, weightDecay: 0f)], lr: 0.1f,
            momentum: 0.9f);
        Assert.Equal([0.1f, 0.5f], opt.ParamGroups.Select(g => g.LearningRate));
        Assert.Equal([5e-4f, 0f], opt.ParamGroups.Select(g => g.WeightDecay));
        Assert.Equal(0.9f, opt.ParamGroups[1]["momentum"]);
        Assert.Equal(["lr", "momentum", "dampening", "weight_decay"], opt.ParamGroups[0].HyperParameters.Keys);
        opt.LearningRate = 0.01f; // the optimizer-level setter sets every group
        Assert.Equal([0.01f, 0.01f], opt.ParamGroups.Select(g => g.LearningRate));
        opt.ParamGroups[1].LearningRate = 0.2f;
        Assert.Equal(0.01f, opt.LearningRate);
        Assert.Equal(0.2f, opt.ParamGroups[1].LearningRate);
        var e = Assert.Throws<ArgumentOutOfRangeException>(() => opt.ParamGroups[1].LearningRate = -1f);
        Assert.Contains("group 1's lr", e.Message);
        Assert.Contains("-1", e.Message);
        Assert.Throws<ArgumentOutOfRangeException>(() => opt.ParamGroups[0]["momentum"] = 1f);
        var k = Assert.Throws<KeyNotFoundException>(() => opt.ParamGroups[0]["beta1"]);
        Assert.Contains("momentum", k.Message);
        Assert.Equal([w, b], opt.Parameters);
    }

    [Fact]
    public void BadGroupsAndOptionsAreRefusedNamingTheValue()
    {
        var w = Tensor.Ones(3).RequiresGradient(); var b = Tensor.Zeros(2).RequiresGradient();
        var e = Assert.Throws<ArgumentException>(() => new Sgd([new ParamGroup([w], beta1: 0.5f)], lr: 0.1f));
        Assert.Contains("beta1", e.Message);
        Assert.Contains("SGD", e.Message);
        e = Assert.Throws<ArgumentException>(() => new Adam([new ParamGroup([w, b]), new ParamGroup([b])]));
        Assert.Contains("groups 0 and 1", e.Message);
        e = Assert.Throws<ArgumentException>(() => new Sgd([w], lr: 0.1f, nesterov: true));
        Assert.Contains("Nesterov", e.Message);
        var noMomentum = new ParamGroup([w], momentum: 0f);
        e = Assert.Throws<ArgumentException>(() => new Sgd([noMomentum], lr: 0.1f, momentum: 0.9f, nesterov: true));
        Assert.Contains("group 0 has momentum 0", e.Message);
        _ = new Sgd([noMomentum], lr: 0.1f, momentum: 0.9f); // the refused optimizer did not take the group
        var nesterov = new Sgd([b], lr: 0.1f, momentum: 0.9f, nesterov: true);
        Assert.Throws<ArgumentOutOfRangeException>(() => nesterov.ParamGroups[0]["momentum"] = 0f);
        var r = Assert.Throws<ArgumentOutOfRangeException>(() => new Adam([new ParamGroup([w], eps: 0f)]));
        Assert.Contains("group 0's eps", r.Message);
        r = Assert.Throws<ArgumentOutOfRangeException>(() => new RmsProp([w], alpha: 1.5f));
        Assert.Equal("alpha", r.ParamName);
        r = Assert.Throws<ArgumentOutOfRangeException>(() => new Adagrad([w], lrDecay: -1f));
        Assert.Equal("lrDecay", r.ParamName);
        var group = new ParamGroup([w]);
        _ = new Sgd([group], lr: 0.1f);
        e = Assert.Throws<ArgumentException>(() => new Sgd([group], lr: 0.1f));
        Assert.Contains("already belongs", e.Message);
        Assert.Throws<ArgumentNullException>(() => new ParamGroup(null!));
    }

    /// <summary>A parameter without a gradient keeps its state and step count; Adam's bias correction then uses the
    /// parameter's own count (as PyTorch's per-parameter 'step').</summary>
    [Fact]
    public void StateDictHoldsPerParameterStepsBuffersAndGroups()
    {
        var a = Tensor.Ones(3).RequiresGradient(); var b = Tensor.Ones(2).RequiresGradient();
        var opt = new Adam([new ParamGroup([a]), new ParamGroup([b], lr: 0.5f)], amsgrad: true);
        for (int t = 0; t < 3; t++)
        {
            opt.ZeroGrad();
            a.Grad = Tensor.Ones(3);
            if (t != 1) b.Grad = Tensor.Ones(2);
            opt.Step();
        }
        var sd = opt.StateDict();
        Assert.Equal(3L, sd["state.0.step"].Item<long>());
        Assert.Equal(2L, sd["state.1.step"].Item<long>());
        Assert.Equal([3], sd["state.0.max_exp_avg_sq"].Shape);
        Assert.Equal(0.5f, sd["param_groups.1.lr"].Item());
        Assert.Equal(1f, sd["param_groups.0.amsgrad"].Item());
        Assert.Equal([1L], sd["param_groups.1.params"].ToArray<long>());
        Assert.Equal(3L, sd["step_count"].Item<long>());
    }
}
