namespace DeepSharp.Optim;

/// <summary>Decays each group's rate by <c>gamma</c> every <c>stepSize</c> epochs: lr = base · γ^⌊epoch / stepSize⌋
/// (torch.optim.lr_scheduler.StepLR).</summary>
public sealed class StepLR : LRScheduler
{
    /// <summary>A step schedule over <paramref name="optimizer"/>'s groups; sets epoch 0's rates.</summary>
    /// <exception cref="ArgumentNullException"><paramref name="optimizer"/> is null.</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="stepSize"/> &lt; 1, or gamma negative or not
    /// finite.</exception>
    public StepLR(Optimizer optimizer, int stepSize, float gamma = 0.1f) : base(optimizer)
    {
        StepSize = stepSize >= 1 ? stepSize
            : throw new ArgumentOutOfRangeException(nameof(stepSize), $"StepLR: stepSize must be >= 1, got {stepSize}.");
        Gamma = Schedule.Factor(gamma, nameof(gamma), Name);
        Advance();
    }

    /// <summary>Epochs between decays.</summary>
    public int StepSize { get; }
    /// <summary>The decay factor.</summary>
    public float Gamma { get; }


    internal override double LearningRateAt(int group, double baseLr, int epoch) => baseLr * Math.Pow(Gamma, epoch / StepSize);
    private protected override IEnumerable<(string, double[])> Settings => [("step_size", [StepSize]), ("gamma", [Gamma])];
}

/// <summary>Decays each group's rate by <c>gamma</c> at each milestone: lr = base · γ^(milestones ≤ epoch)
/// (torch.optim.lr_scheduler.MultiStepLR; a milestone listed twice counts twice).</summary>
public sealed class MultiStepLR : LRScheduler
{
    private readonly int[] _milestones;

    /// <summary>A milestone schedule over <paramref name="optimizer"/>'s groups; sets epoch 0's rates.</summary>
    /// <exception cref="ArgumentNullException">An argument is null.</exception>
    /// <exception cref="ArgumentOutOfRangeException">A milestone is negative, or gamma is negative or not finite.</exception>
    public MultiStepLR(Optimizer optimizer, IEnumerable<int> milestones, float gamma = 0.1f) : base(optimizer)
    {
        ArgumentNullException.ThrowIfNull(milestones);
        _milestones = milestones.Order().ToArray();
        if (_milestones.Length > 0 && _milestones[0] < 0)
            throw new ArgumentOutOfRangeException(nameof(milestones), $"MultiStepLR: milestones must be >= 0, got {_milestones[0]}.");
        Gamma = Schedule.Factor(gamma, nameof(gamma), Name);
        Advance();
    }

    /// <summary>The epochs at which the rate decays, sorted.</summary>
    public IReadOnlyList<int> Milestones => _milestones;
    /// <summary>The decay factor.</summary>
    public float Gamma { get; }


    internal override double LearningRateAt(int group, double baseLr, int epoch) =>
        baseLr * Math.Pow(Gamma, Schedule.CountAtOrBelow(_milestones, epoch));
    private protected override IEnumerable<(string, double[])> Settings =>
        [("milestones", _milestones.Select(m => (double)m).ToArray()), ("gamma", [Gamma])];
}

/// <summary>Decays each group's rate by <c>gamma</c> every epoch: lr = base · γ^epoch
/// (torch.optim.lr_scheduler.ExponentialLR).</summary>
public sealed class ExponentialLR : LRScheduler
{
    /// <summary>An exponential schedule over <paramref name="optimizer"/>'s groups; sets epoch 0's rates.</summary>
    /// <exception cref="ArgumentNullException"><paramref name="optimizer"/> is null.</exception>
    /// <exception cref="ArgumentOutOfRangeException">gamma is negative or not finite.</exception>
    public ExponentialLR(Optimizer optimizer, float gamma) : base(optimizer)
    {
        Gamma = Schedule.Factor(gamma, nameof(gamma), Name);
        Advance();
    }

    /// <summary>The decay factor.</summary>
    public float Gamma { get; }


    internal override double LearningRateAt(int group, double baseLr, int epoch) => baseLr * Math.Pow(Gamma, epoch);
    private protected override IEnumerable<(string, double[])> Settings => [("gamma", [Gamma])];
}

/// <summary>Cosine annealing (SGDR without restarts; torch.optim.lr_scheduler.CosineAnnealingLR's closed form):
/// lr = η_min + (base - η_min)·(1 + cos(π·epoch / T_max)) / 2. For a linear warm-up first, put a <see cref="LinearLR"/>
/// before it in a <see cref="SequentialLR"/>.</summary>
public sealed class CosineAnnealingLR : LRScheduler
{
    /// <summary>A cosine schedule over <paramref name="optimizer"/>'s groups; sets epoch 0's rates.</summary>
    /// <param name="optimizer">Whose rates to set.</param>
    /// <param name="tMax">Epochs from the initial rate to <paramref name="etaMin"/> (PyTorch's <c>T_max</c>, ≥ 1).</param>
    /// <param name="etaMin">The lowest rate (≥ 0).</param>
    /// <exception cref="ArgumentNullException"><paramref name="optimizer"/> is null.</exception>
    /// <exception cref="ArgumentOutOfRangeException">tMax &lt; 1, or etaMin negative or not finite.</exception>
    public CosineAnnealingLR(Optimizer optimizer, int tMax, float etaMin = 0f) : base(optimizer)
    {
        TMax = tMax >= 1 ? tMax : throw new ArgumentOutOfRangeException(nameof(tMax), $"CosineAnnealingLR: tMax must be >= 1, got {tMax}.");
        EtaMin = Schedule.Factor(etaMin, nameof(etaMin), Name);
        Advance();
    }

    /// <summary>Epochs of the half cosine.</summary>
    public int TMax { get; }
    /// <summary>The lowest rate.</summary>
    public float EtaMin { get; }


    internal override double LearningRateAt(int group, double baseLr, int epoch) =>
        EtaMin + (baseLr - EtaMin) * (1 + Math.Cos(Math.PI * epoch / TMax)) / 2;
    private protected override IEnumerable<(string, double[])> Settings => [("T_max", [TMax]), ("eta_min", [EtaMin])];
}

/// <summary>Scales each group's rate by a factor that moves linearly from <c>startFactor</c> to <c>endFactor</c> over
/// <c>totalIters</c> epochs, then stays (torch.optim.lr_scheduler.LinearLR): a linear warm-up.</summary>
public sealed class LinearLR : LRScheduler
{
    /// <summary>A linear schedule over <paramref name="optimizer"/>'s groups; sets epoch 0's rates (base · startFactor).</summary>
    /// <param name="optimizer">Whose rates to set.</param>
    /// <param name="startFactor">The factor at epoch 0, in (0, 1].</param>
    /// <param name="endFactor">The factor from epoch <paramref name="totalIters"/> on, in [0, 1].</param>
    /// <param name="totalIters">Epochs of the ramp (≥ 1).</param>
    /// <exception cref="ArgumentNullException"><paramref name="optimizer"/> is null.</exception>
    /// <exception cref="ArgumentOutOfRangeException">A factor or totalIters is out of range (as PyTorch checks).</exception>
    public LinearLR(Optimizer optimizer, float startFactor = 1f / 3, float endFactor = 1f, int totalIters = 5) : base(optimizer)
    {
        StartFactor = startFactor is > 0 and <= 1 ? startFactor
            : throw new ArgumentOutOfRangeException(nameof(startFactor), $"LinearLR: startFactor must be in (0, 1], got {startFactor}.");
        EndFactor = endFactor is >= 0 and <= 1 ? endFactor
            : throw new ArgumentOutOfRangeException(nameof(endFactor), $"LinearLR: endFactor must be in [0, 1], got {endFactor}.");
        TotalIters = totalIters >= 1 ? totalIters
            : throw new ArgumentOutOfRangeException(nameof(totalIters), $"LinearLR: totalIters must be >= 1, got {totalIters}.");
        Advance();
    }

    /// <summary>The factor at epoch 0.</summary>
    public float StartFactor { get; }
    /// <summary>The factor at the end of the ramp.</summary>
    public float EndFactor { get; }
    /// <summary>Epochs of the ramp.</summary>
    public int TotalIters { get; }


    internal override double LearningRateAt(int group, double baseLr, int epoch) =>
        baseLr * (StartFactor + (EndFactor - (double)StartFactor) * Math.Min(epoch, TotalIters) / TotalIters);
    private protected override IEnumerable<(string, double[])> Settings =>
        [("start_factor", [StartFactor]), ("end_factor", [EndFactor]), ("total_iters", [TotalIters])];
}

/// <summary>Checks shared by the schedulers.</summary>
internal static class Schedule
{
    public static float Factor(float value, string name, string scheduler) => value >= 0 && float.IsFinite(value) ? value
        : throw new ArgumentOutOfRangeException(name, $"{scheduler}: {name} must be >= 0 and finite, got {value}.");

    /// <summary>How many of the sorted values are ≤ x (Python's bisect_right).</summary>
    public static int CountAtOrBelow(int[] sorted, int x)
    {
        int n = 0;
        while (n < sorted.Length && sorted[n] <= x) n++;
        return n;
    }
}
