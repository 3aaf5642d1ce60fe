namespace DeepSharp.Optim;

/// <summary>Whether <see cref="ReduceLROnPlateau"/> waits for a metric to fall (a loss) or to rise (an accuracy).</summary>
public enum PlateauMode
{
    /// <summary>Lower is better (PyTorch's "min").</summary>
    Min,
    /// <summary>Higher is better ("max").</summary>
    Max,
}

/// <summary>How <see cref="ReduceLROnPlateau"/> measures an improvement against its threshold.</summary>
public enum ThresholdMode
{
    /// <summary>Relative: better than best · (1 ∓ threshold) (PyTorch's "rel").</summary>
    Rel,
    /// <summary>Absolute: better than best ∓ threshold ("abs").</summary>
    Abs,
}

/// <summary>
/// Multiplies every group's rate by <c>factor</c> when a metric has stopped improving for <c>patience</c> epochs
/// (torch.optim.lr_scheduler.ReduceLROnPlateau): call <see cref="Step(double)"/> with the validation metric once per epoch.
/// A rate never goes below <c>minLr</c>, and a change smaller than <c>eps</c> is skipped; after a reduction,
/// <c>cooldown</c> epochs pass before bad epochs count again.
/// </summary>
public sealed class ReduceLROnPlateau : LRScheduler
{
    /// <summary>A plateau schedule over <paramref name="optimizer"/>'s groups (the rates are left as they are until a
    /// reduction).</summary>
    /// <exception cref="ArgumentNullException"><paramref name="optimizer"/> is null.</exception>
    /// <exception cref="ArgumentOutOfRangeException">factor not in [0, 1); patience, cooldown, threshold, minLr or eps
    /// negative; an undefined mode.</exception>
    public ReduceLROnPlateau(Optimizer optimizer, PlateauMode mode = PlateauMode.Min, float factor = 0.1f, int patience = 10,
        float threshold = 1e-4f, ThresholdMode thresholdMode = ThresholdMode.Rel, int cooldown = 0, float minLr = 0f, float eps = 1e-8f)
        : base(optimizer)
    {
        Mode = Enum.IsDefined(mode) ? mode : throw new ArgumentOutOfRangeException(nameof(mode), $"ReduceLROnPlateau: {(int)mode} " +
            "is not a PlateauMode.");
        ThresholdMode = Enum.IsDefined(thresholdMode) ? thresholdMode : throw new ArgumentOutOfRangeException(nameof(thresholdMode),
            $"ReduceLROnPlateau: {(int)thresholdMode} is not a ThresholdMode.");
        Factor = factor is >= 0 and < 1 ? factor
            : throw new ArgumentOutOfRangeException(nameof(factor), $"ReduceLROnPlateau: factor must be in [0, 1), got {factor}.");
        Patience = patience >= 0 ? patience
            : throw new ArgumentOutOfRangeException(nameof(patience), $"ReduceLROnPlateau: patience must be >= 0, got {patience}.");
        Cooldown = cooldown >= 0 ? cooldown
            : throw new ArgumentOutOfRangeException(nameof(cooldown), $"ReduceLROnPlateau: cooldown must be >= 0, got {cooldown}.");
        Threshold = Schedule.Factor(threshold, nameof(threshold), Name);
        MinLr = Schedule.Factor(minLr, nameof(minLr), Name);
        Eps = Schedule.Factor(eps, nameof(eps), Name);
        Best = Worst;
        LastEpoch = 0;
    }

    /// <summary>Lower or higher is better.</summary>
    public PlateauMode Mode { get; }
    /// <summary>The reduction factor.</summary>
    public float Factor { get; }
    /// <summary>Epochs without improvement tolerated before a reduction.</summary>
    public int Patience { get; }
    /// <summary>The least improvement that counts.</summary>
    public float Threshold { get; }
    /// <summary>Relative or absolute threshold.</summary>
    public ThresholdMode ThresholdMode { get; }
    /// <summary>Epochs after a reduction during which bad epochs are not counted.</summary>
    public int Cooldown { get; }
    /// <summary>The lowest rate.</summary>
    public float MinLr { get; }
    /// <summary>The smallest change of rate applied.</summary>
    public float Eps { get; }
    /// <summary>The best metric so far (±∞ before the first step).</summary>
    public double Best { get; private set; }
    /// <summary>Epochs since the last improvement (reset by a reduction and during cooldown).</summary>
    public int NumBadEpochs { get; private set; }
    /// <summary>Cooldown epochs left.</summary>
    public int CooldownCounter { get; private set; }

    /// <summary>Refused: this scheduler follows a metric; call <see cref="Step(double)"/> with it (PyTorch's
    /// <c>step(metrics)</c> requires it too).</summary>
    /// <exception cref="InvalidOperationException">Always.</exception>
    public override void Step() =>
        throw new InvalidOperationException("ReduceLROnPlateau: Step needs the metric to watch; call Step(validationLoss).");

    private double Worst => Mode == PlateauMode.Min ? double.PositiveInfinity : double.NegativeInfinity;

    /// <summary>Records one epoch's metric and reduces the rates if it has not improved for more than
    /// <see cref="Patience"/> epochs.</summary>
    public void Step(double metric)
    {
        LastEpoch++;
        if (IsBetter(metric)) { Best = metric; NumBadEpochs = 0; }
        else NumBadEpochs++;
        if (CooldownCounter > 0) { CooldownCounter--; NumBadEpochs = 0; }
        if (NumBadEpochs <= Patience) return;
        for (int j = 0; j < Optimizer.ParamGroups.Count; j++)
        {
            double old = Optimizer.ParamGroups[j].LearningRate, lr = Math.Max(old * Factor, MinLr);
            if (old - lr > Eps) SetRate(j, lr);
        }
        (CooldownCounter, NumBadEpochs) = (Cooldown, 0);
    }

    private bool IsBetter(double a) => (Mode, ThresholdMode) switch
    {
        (PlateauMode.Min, ThresholdMode.Rel) => a < Best * (1 - (double)Threshold),
        (PlateauMode.Min, ThresholdMode.Abs) => a < Best - Threshold,
        (PlateauMode.Max, ThresholdMode.Rel) => a > Best * (Threshold + 1.0),
        _ => a > Best + Threshold,
    };

    internal override double LearningRateAt(int group, double baseLr, int epoch) =>
        throw new NotSupportedException("ReduceLROnPlateau follows a metric, not a schedule.");

    private protected override IEnumerable<(string, double[])> Settings =>
    [
        ("mode", [(int)Mode]), ("factor", [Factor]), ("patience", [Patience]), ("threshold", [Threshold]),
        ("threshold_mode", [(int)ThresholdMode]), ("cooldown", [Cooldown]), ("min_lr", [MinLr]), ("eps", [Eps]),
    ];

    private protected override IEnumerable<(string, Tensor)> Extra =>
    [
        ("best", Tensor.Full([], Best, DType.Float64)), ("num_bad_epochs", Tensor.Full([], NumBadEpochs, DType.Int64)),
        ("cooldown_counter", Tensor.Full([], CooldownCounter, DType.Int64)),
    ];

    private protected override Action? LoadExtra(IReadOnlyDictionary<string, Tensor> state, HashSet<string> used, List<string> problems)
    {
        double? Read(string key, DType dtype)
        {
            if (!state.TryGetValue(key, out var t) || t is null) { problems.Add($"missing '{key}'"); return null; }
            used.Add(key);
            if (t.DType == dtype && t.Count == 1) return dtype == DType.Int64 ? t.Item<long>() : t.Item<double>();
            problems.Add($"'{key}' is {t.DType.Name()} {Layout.Format(t.Shape)}, not one {dtype.Name()}");
            return null;
        }
        var best = Read("best", DType.Float64);
        var bad = Read("num_bad_epochs", DType.Int64);
        var cool = Read("cooldown_counter", DType.Int64);
        foreach (var (name, v) in new[] { ("num_bad_epochs", bad), ("cooldown_counter", cool) })
            if (v is < 0 or > int.MaxValue) problems.Add($"'{name}' is {v}");
        return () => (Best, NumBadEpochs, CooldownCounter) = (best!.Value, (int)bad!.Value, (int)cool!.Value);
    }
}
