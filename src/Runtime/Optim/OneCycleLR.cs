namespace DeepSharp.Optim;

/// <summary>How <see cref="OneCycleLR"/> moves between two values within a phase.</summary>
public enum AnnealStrategy
{
    /// <summary>Half a cosine (PyTorch's "cos").</summary>
    Cos,
    /// <summary>A straight line (PyTorch's "linear").</summary>
    Linear,
}

/// <summary>
/// The 1cycle policy (Smith &amp; Topin 2018; torch.optim.lr_scheduler.OneCycleLR): the rate rises from max_lr / div_factor
/// to max_lr over the first <c>pctStart</c> of the steps, then falls to max_lr / (div_factor · final_div_factor); momentum
/// (or Adam's beta1) moves the opposite way between <c>maxMomentum</c> and <c>baseMomentum</c>. Step it after every batch,
/// <c>totalSteps</c> times (epochs × batches per epoch).
/// </summary>
public sealed class OneCycleLR : LRScheduler
{
    private readonly (double End, int Start, int Stop, int MStart, int MStop)[] _phases; // ends, and which value starts/stops
    private readonly string? _momentumName;

    /// <summary>A 1cycle schedule over every group of <paramref name="optimizer"/>; sets step 0's rates (and momenta).</summary>
    /// <param name="optimizer">Whose rates (and momenta) to set.</param>
    /// <param name="maxLr">The peak rate (&gt; 0).</param>
    /// <param name="totalSteps">Steps in the cycle (≥ 1); stepping past it throws, as PyTorch.</param>
    /// <param name="pctStart">Fraction of the cycle spent rising, in (0, 1).</param>
    /// <param name="annealStrategy">Cosine or linear phases.</param>
    /// <param name="cycleMomentum">Cycle the groups' <c>momentum</c> (or <c>beta1</c>) inversely to the rate.</param>
    /// <param name="baseMomentum">The lowest momentum (at the peak rate).</param>
    /// <param name="maxMomentum">The highest momentum (at the ends).</param>
    /// <param name="divFactor">initial rate = maxLr / divFactor (&gt; 0).</param>
    /// <param name="finalDivFactor">lowest rate = initial rate / finalDivFactor (&gt; 0).</param>
    /// <param name="threePhase">Rise, fall back to the initial rate symmetrically, then annihilate (fast.ai's form).</param>
    /// <exception cref="ArgumentNullException"><paramref name="optimizer"/> is null.</exception>
    /// <exception cref="ArgumentOutOfRangeException">A value is out of range.</exception>
    /// <exception cref="ArgumentException">cycleMomentum with an optimizer that has neither momentum nor beta1.</exception>
    public OneCycleLR(Optimizer optimizer, float maxLr, int totalSteps, float pctStart = 0.3f, AnnealStrategy annealStrategy =
        AnnealStrategy.Cos, bool cycleMomentum = true, float baseMomentum = 0.85f, float maxMomentum = 0.95f, float divFactor = 25f,
        float finalDivFactor = 1e4f, bool threePhase = false) : base(optimizer)
    {
        static float Positive(float v, string name) => v > 0 && float.IsFinite(v) ? v
            : throw new ArgumentOutOfRangeException(name, $"OneCycleLR: {name} must be > 0, got {v}.");
        MaxLr = Positive(maxLr, nameof(maxLr));
        TotalSteps = totalSteps >= 1 ? totalSteps
            : throw new ArgumentOutOfRangeException(nameof(totalSteps), $"OneCycleLR: totalSteps must be >= 1, got {totalSteps}.");
        PctStart = pctStart is > 0 and < 1 ? pctStart
            : throw new ArgumentOutOfRangeException(nameof(pctStart), $"OneCycleLR: pctStart must be in (0, 1), got {pctStart}.");
        AnnealStrategy = Enum.IsDefined(annealStrategy) ? annealStrategy
            : throw new ArgumentOutOfRangeException(nameof(annealStrategy), $"OneCycleLR: {(int)annealStrategy} is not a strategy.");
        (DivFactor, FinalDivFactor) = (Positive(divFactor, nameof(divFactor)), Positive(finalDivFactor, nameof(finalDivFactor)));
        (CycleMomentum, BaseMomentum, MaxMomentum, ThreePhase) = (cycleMomentum, baseMomentum, maxMomentum, threePhase);
        if (cycleMomentum && !(baseMomentum is >= 0 and < 1 && maxMomentum is >= 0 and < 1 && baseMomentum <= maxMomentum))
            throw new ArgumentOutOfRangeException(nameof(baseMomentum), $"OneCycleLR: momenta must satisfy 0 <= baseMomentum " +
                $"<= maxMomentum < 1, got {baseMomentum} and {maxMomentum}.");
        // Values: 0 initial, 1 max, 2 min rate; 3 max, 4 base momentum. PyTorch's phase ends are float step numbers.
        double rise = (double)pctStart * totalSteps;
        _phases = threePhase
            ? [(rise - 1, 0, 1, 3, 4), (2 * rise - 2, 1, 0, 4, 3), (totalSteps - 1, 0, 2, 3, 3)]
            : [(rise - 1, 0, 1, 3, 4), (totalSteps - 1, 1, 2, 4, 3)];
        if (cycleMomentum)
        {
            var keys = optimizer.ParamGroups.Count > 0 ? optimizer.ParamGroups[0].HyperParameters : new Dictionary<string, float>();
            _momentumName = keys.ContainsKey("momentum") ? "momentum" : keys.ContainsKey("beta1") ? "beta1"
                : throw new ArgumentException($"OneCycleLR: {optimizer.DisplayName} has neither momentum nor beta1 to cycle; " +
                    "pass cycleMomentum: false.", nameof(cycleMomentum));
        }
        float initial = (float)(maxLr / (double)divFactor);
        foreach (var g in optimizer.ParamGroups) g.InitialLearningRate = initial;
        Rebase(optimizer.ParamGroups.Select(_ => initial).ToArray());
        Advance();
    }

    /// <summary>The peak rate.</summary>
    public float MaxLr { get; }
    /// <summary>Steps in the cycle.</summary>
    public int TotalSteps { get; }
    /// <summary>Fraction of the cycle spent rising.</summary>
    public float PctStart { get; }
    /// <summary>Cosine or linear phases.</summary>
    public AnnealStrategy AnnealStrategy { get; }
    /// <summary>Whether momentum is cycled.</summary>
    public bool CycleMomentum { get; }
    /// <summary>The lowest momentum.</summary>
    public float BaseMomentum { get; }
    /// <summary>The highest momentum.</summary>
    public float MaxMomentum { get; }
    /// <summary>maxLr / initial rate.</summary>
    public float DivFactor { get; }
    /// <summary>initial rate / lowest rate.</summary>
    public float FinalDivFactor { get; }
    /// <summary>Whether the cycle has three phases.</summary>
    public bool ThreePhase { get; }

    /// <summary>Advances one step and sets the rates (and momenta). Step <see cref="TotalSteps"/> itself is allowed, as in
    /// PyTorch (its rate, never used if training stops there, is held at ≥ 0 where linear annealing would make it negative).
    /// </summary>
    /// <exception cref="InvalidOperationException">The cycle is over: it has taken <see cref="TotalSteps"/> steps.</exception>
    public override void Step()
    {
        if (LastEpoch + 1 > TotalSteps)
            throw new InvalidOperationException($"OneCycleLR: tried to step {LastEpoch + 1} times, but the cycle has {TotalSteps} " +
                "steps; make totalSteps epochs × batches per epoch.");
        Advance();
    }

    internal override double LearningRateAt(int group, double baseLr, int epoch) => At(epoch, false);

    private protected override void OnEpoch(int epoch)
    {
        if (_momentumName is null) return;
        float m = (float)At(epoch, true);
        foreach (var g in Optimizer.ParamGroups) g[_momentumName] = m;
    }

    /// <summary>PyTorch's get_lr: the phase holding the step, and the value annealed across it.</summary>
    private double At(int step, bool momentum)
    {
        double initial = MaxLr / (double)DivFactor;
        double[] values = [initial, MaxLr, initial / FinalDivFactor, MaxMomentum, BaseMomentum];
        double start = 0;
        for (int i = 0; i < _phases.Length; i++)
        {
            var ph = _phases[i];
            if (step <= ph.End || i == _phases.Length - 1)
            {
                double pct = (step - start) / (ph.End - start);
                return Anneal(values[momentum ? ph.MStart : ph.Start], values[momentum ? ph.MStop : ph.Stop], pct);
            }
            start = ph.End;
        }
        throw new InvalidOperationException("unreachable");
    }

    // Step totalSteps lies past the last phase (pct > 1): PyTorch's linear annealing goes negative there; the rate stops at 0.
    private double Anneal(double from, double to, double pct) => AnnealStrategy == AnnealStrategy.Cos
        ? to + (from - to) / 2.0 * (Math.Cos(Math.PI * pct) + 1) : Math.Max(0, (to - from) * pct + from);

    private protected override IEnumerable<(string, double[])> Settings =>
    [
        ("max_lr", [MaxLr]), ("total_steps", [TotalSteps]), ("pct_start", [PctStart]), ("anneal_strategy", [(int)AnnealStrategy]),
        ("cycle_momentum", [CycleMomentum ? 1 : 0]), ("base_momentum", [BaseMomentum]), ("max_momentum", [MaxMomentum]),
        ("div_factor", [DivFactor]), ("final_div_factor", [FinalDivFactor]), ("three_phase", [ThreePhase ? 1 : 0]),
    ];
}
