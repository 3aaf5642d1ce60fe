using DeepSharp;
using DeepSharp.Optim;

namespace DeepSharp.Tests;

/// <summary>Learning-rate schedulers against the closed forms in torch.optim.lr_scheduler's documentation (double
/// references), over two groups with different rates; each resumes exactly from its state dict. The same references agree
/// with torch.optim.lr_scheduler 1.13 (Python floats) to 3e-16, and its ReduceLROnPlateau reduces at the same epochs.</summary>
public class SchedulerTests
{
    private static readonly float[] Lrs = [0.1f, 0.02f];

    private static Sgd Optimizer(float momentum = 0.9f)
    {
        var a = Tensor.Ones(2).RequiresGradient(); var b = Tensor.Ones(3).RequiresGradient();
        return new Sgd([new ParamGroup([a]), new ParamGroup([b], lr: Lrs[1])], lr: Lrs[0], momentum: momentum);
    }

    /// <summary>Steps <paramref name="epochs"/> times and checks every group's rate after construction and each step.</summary>
    private static void Follows(Optimizer opt, Action step, Func<double, int, double> expected, int epochs, string what)
    {
        for (int e = 0; e <= epochs; e++)
        {
            if (e > 0) step();
            Ref.Close(Lrs.Select(lr => expected(lr, e)).ToArray(), opt.ParamGroups.Select(g => g.LearningRate).ToArray(), 1e-6,
                $"{what} epoch {e}");
        }
    }

    [Fact]
    public void StepMultiStepExponentialCosineAndLinearFollowTheirClosedForms()
    {
        var o = Optimizer(); var s1 = new StepLR(o, stepSize: 3, gamma: 0.5f);
        Follows(o, s1.Step, (b, e) => b * Math.Pow(0.5, e / 3), 10, "StepLR");
        o = Optimizer(); var s2 = new MultiStepLR(o, [5, 2, 5], gamma: 0.1f);
        Follows(o, s2.Step, (b, e) => b * Math.Pow(0.1f, (e >= 2 ? 1 : 0) + (e >= 5 ? 2 : 0)), 8, "MultiStepLR");
        o = Optimizer(); var s3 = new ExponentialLR(o, gamma: 0.9f);
        Follows(o, s3.Step, (b, e) => b * Math.Pow(0.9f, e), 8, "ExponentialLR");
        o = Optimizer(); var s4 = new CosineAnnealingLR(o, tMax: 10, etaMin: 1e-3f);
        Follows(o, s4.Step, (b, e) => 1e-3f + (b - 1e-3f) * (1 + Math.Cos(Math.PI * e / 10)) / 2, 15, "CosineAnnealingLR");
        o = Optimizer(); var s5 = new LinearLR(o, startFactor: 0.25f, endFactor: 1f, totalIters: 4);
        Follows(o, s5.Step, (b, e) => b * (0.25 + 0.75 * Math.Min(e, 4) / 4), 7, "LinearLR");
        Assert.Equal([Lrs[0], Lrs[1]], s5.BaseLearningRates);
        Assert.Equal(7, s5.LastEpoch);
        Assert.Equal(o.ParamGroups.Select(g => g.LearningRate), s5.LastLearningRates);
    }

    [Fact]
    public void SequentialLRWarmsUpLinearlyThenAnnealsFromTheInitialRate()
    {
        var o = Optimizer();
        var s = new SequentialLR(o, [new LinearLR(o, startFactor: 0.1f, totalIters: 3), new CosineAnnealingLR(o, tMax: 7)], [3]);
        Follows(o, s.Step, (b, e) => e < 3 ? b * (0.1f + (1 - 0.1f) * e / 3) : b * (1 + Math.Cos(Math.PI * (e - 3) / 7)) / 2, 12,
            "warm-up then cosine");
        Assert.Throws<ArgumentException>(() => new SequentialLR(o, [new StepLR(o, 2), new StepLR(o, 3)], []));
        Assert.Throws<ArgumentException>(() => new SequentialLR(o, [new StepLR(Optimizer(), 2)], []));
        var e = Assert.Throws<ArgumentException>(() => new SequentialLR(o, [new ReduceLROnPlateau(o)], []));
        Assert.Contains("metric", e.Message);
    }

    /// <summary>PyTorch's OneCycleLR phases: (end step, start, end) with end steps pct·total - 1, (2·pct·total - 2,) total - 1.
    /// </summary>
    private static (double Lr, double Momentum) OneCycle(int step, int total, double pct, bool cos, bool three, double maxLr = 1)
    {
        double initial = maxLr / 25, min = initial / 1e4, hi = 0.95f, lo = 0.85f;
        (double End, double L0, double L1, double M0, double M1)[] phases = three
            ? [(pct * total - 1, initial, maxLr, hi, lo), (2 * pct * total - 2, maxLr, initial, lo, hi), (total - 1, initial, min, hi, hi)]
            : [(pct * total - 1, initial, maxLr, hi, lo), (total - 1, maxLr, min, lo, hi)];
        double start = 0;
        for (int i = 0; ; i++)
        {
            var p = phases[i];
            if (step <= p.End || i == phases.Length - 1)
            {
                double t = (step - start) / (p.End - start);
                // After the last phase (step total) linear annealing would go below 0: the rate stops at 0 there.
                double Anneal(double a, double b) => cos ? b + (a - b) / 2 * (Math.Cos(Math.PI * t) + 1) : Math.Max(0, (b - a) * t + a);
                return (Anneal(p.L0, p.L1), Anneal(p.M0, p.M1));
            }
            start = p.End;
        }
    }

    [Theory]
    [InlineData(false, false)]
    [InlineData(true, false)]
    [InlineData(false, true)]
    public void OneCycleLRFollowsItsPhasesAndCyclesMomentum(bool linear, bool three)
    {
        var o = Optimizer(momentum: 0f); // cycled momentum switches the buffer on, as in PyTorch
        var s = new OneCycleLR(o, maxLr: 1f, totalSteps: 20, annealStrategy: linear ? AnnealStrategy.Linear : AnnealStrategy.Cos,
            threePhase: three);
        for (int t = 0; t <= 20; t++)
        {
            if (t > 0) s.Step();
            var (lr, m) = OneCycle(t, 20, 0.3f, !linear, three);
            Ref.Close([lr, lr], o.ParamGroups.Select(g => g.LearningRate).ToArray(), 1e-6, $"lr at {t}");
            Ref.Close([m, m], o.ParamGroups.Select(g => g["momentum"]).ToArray(), 1e-6, $"momentum at {t}");
            if (t == 19) Assert.Equal(1f / 25 / 1e4f, o.LearningRate, 1e-9f); // the last phase ends at the lowest rate
        }
        var e = Assert.Throws<InvalidOperationException>(s.Step);
        Assert.Contains("20", e.Message);
        // Landmarks from the documentation: starts at max_lr / 25, peaks at max_lr after 30 % of the steps.
        Assert.Equal(0.04, OneCycle(0, 20, 0.3f, true, false).Lr, 12);
        Assert.Equal(1, OneCycle(5, 20, 0.3f, true, false).Lr, 6);

        var adam = new Adam([Tensor.Ones(2).RequiresGradient()]);
        _ = new OneCycleLR(adam, maxLr: 0.01f, totalSteps: 10);
        Assert.Equal(0.95f, adam.ParamGroups[0]["beta1"]);
        var noMomentum = new Adagrad([Tensor.Ones(2).RequiresGradient()]);
        Assert.Throws<ArgumentException>(() => new OneCycleLR(noMomentum, maxLr: 0.01f, totalSteps: 10));
    }

    [Fact]
    public void ReduceLROnPlateauReducesAfterPatienceAndWaitsOutTheCooldown()
    {
        var o = Optimizer();
        var s = new ReduceLROnPlateau(o, factor: 0.5f, patience: 2, cooldown: 1, threshold: 0.01f, minLr: 0.008f);
        // The documented rule, in double: improvement below best·(1 - threshold); > patience bad epochs reduce (not below
        // min_lr), then cooldown epochs do not count.
        double[] metrics = [1, 0.995, 0.98, 0.98, 0.98, 0.98, 0.98, 0.98, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5];
        double best = double.PositiveInfinity; int bad = 0, cool = 0;
        double[] lr = [Lrs[0], Lrs[1]];
        foreach (var m in metrics)
        {
            if (m < best * (1 - 0.01f)) { best = m; bad = 0; } else bad++;
            if (cool > 0) { cool--; bad = 0; }
            if (bad > 2)
            {
                for (int j = 0; j < 2; j++) { double n = Math.Max(lr[j] * 0.5f, 0.008f); if (lr[j] - n > 1e-8f) lr[j] = (float)n; }
                (cool, bad) = (1, 0);
            }
            s.Step(m);
            Ref.Close(lr, o.ParamGroups.Select(g => g.LearningRate).ToArray(), 1e-7, $"epoch {s.LastEpoch}");
        }
        // By hand: reductions at epochs 6 (three bad epochs after 0.98) and 12 (three after 0.5, the cooldown epoch 7 aside).
        Assert.Equal(0.025f, o.ParamGroups[0].LearningRate, 1e-7f);
        Assert.Equal(0.008f, o.ParamGroups[1].LearningRate, 1e-7f); // 0.02 → 0.01 → the floor 0.008
        Assert.Equal(0.5, s.Best);
        LRScheduler any = s;
        Assert.Contains("metric", Assert.Throws<InvalidOperationException>(any.Step).Message); // Step(metric), as PyTorch's step(metrics)
    }

    public static TheoryData<string> Kinds => new() { "step", "multistep", "exponential", "cosine", "sequential", "onecycle", "plateau" };

    private static (Sgd Opt, Action Step, LRScheduler S) Make(string kind)
    {
        var o = Optimizer();
        int n = 0;
        switch (kind)
        {
            case "step": { var s = new StepLR(o, 2, 0.7f); return (o, s.Step, s); }
            case "multistep": { var s = new MultiStepLR(o, [1, 4]); return (o, s.Step, s); }
            case "exponential": { var s = new ExponentialLR(o, 0.8f); return (o, s.Step, s); }
            case "cosine": { var s = new CosineAnnealingLR(o, 6); return (o, s.Step, s); }
            case "sequential":
            {
                var s = new SequentialLR(o, [new LinearLR(o, 0.2f, totalIters: 2), new ExponentialLR(o, 0.9f)], [2]);
                return (o, s.Step, s);
            }
            case "onecycle": { var s = new OneCycleLR(o, 0.5f, 12); return (o, s.Step, s); }
            default: { var s = new ReduceLROnPlateau(o, patience: 1); return (o, () => s.Step(1.0 / (1 + n++ % 3)), s); }
        }
    }

    [Theory, MemberData(nameof(Kinds))]
    public void ASchedulerResumedFromItsStateDictContinuesExactly(string kind)
    {
        var (whole, wholeStep, _) = Make(kind);
        var rates = new List<float[]>();
        for (int e = 0; e < 10; e++) { wholeStep(); rates.Add(whole.ParamGroups.Select(g => g.LearningRate).ToArray()); }
        var (first, firstStep, firstS) = Make(kind);
        for (int e = 0; e < 4; e++) firstStep();
        var optState = first.StateDict();
        var schedState = firstS.StateDict();
        var (second, secondStep, secondS) = Make(kind);
        second.LoadStateDict(optState);
        secondS.LoadStateDict(schedState);
        Assert.Equal(4, secondS.LastEpoch);
        for (int e = 4; e < 10; e++)
        {
            secondStep();
            Assert.Equal(rates[e], second.ParamGroups.Select(g => g.LearningRate).ToArray());
        }
    }

    [Fact]
    public void AStateDictOfAnotherSchedulerOrSettingIsRefused()
    {
        var o = Optimizer();
        var step = new StepLR(o, 2, 0.5f);
        var e = Assert.Throws<ArgumentException>(() => new ExponentialLR(Optimizer(), 0.5f).LoadStateDict(step.StateDict()));
        Assert.Contains("'step_size'", e.Message);
        var other = new StepLR(Optimizer(), 3, 0.5f);
        e = Assert.Throws<ArgumentException>(() => other.LoadStateDict(step.StateDict()));
        Assert.Contains("step_size = 2 but this StepLR has step_size = 3", e.Message);
        Assert.Equal(0, other.LastEpoch);
        Assert.Throws<ArgumentOutOfRangeException>(() => new StepLR(o, 0));
        Assert.Throws<ArgumentOutOfRangeException>(() => new LinearLR(o, startFactor: 0f));
        Assert.Throws<ArgumentOutOfRangeException>(() => new ReduceLROnPlateau(o, factor: 1f));
    }
}
