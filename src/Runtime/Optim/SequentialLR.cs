namespace DeepSharp.Optim;

/// <summary>
/// Runs schedulers one after another, switching at the milestones (torch.optim.lr_scheduler.SequentialLR): scheduler i
/// sets the rates from epoch milestones[i - 1] on, counting its own epochs from 0 there. A linear warm-up into cosine
/// annealing: <c>new SequentialLR(opt, [new LinearLR(opt, 0.1f, totalIters: 5), new CosineAnnealingLR(opt, 95)], [5])</c>.
/// Step only this scheduler, not the ones it holds.
/// </summary>
public sealed class SequentialLR : LRScheduler
{
    private readonly LRScheduler[] _schedulers;
    private readonly int[] _milestones;

    /// <summary>A sequence of <paramref name="schedulers"/> (all over <paramref name="optimizer"/>) switching at
    /// <paramref name="milestones"/> (one fewer, increasing); sets epoch 0's rates from the first scheduler.</summary>
    /// <exception cref="ArgumentNullException">An argument or a scheduler is null.</exception>
    /// <exception cref="ArgumentException">No scheduler; a scheduler of another optimizer, or a ReduceLROnPlateau (it has
    /// no schedule to follow); milestones that are not one fewer than the schedulers, increasing and ≥ 1.</exception>
    public SequentialLR(Optimizer optimizer, IEnumerable<LRScheduler> schedulers, IEnumerable<int> milestones) : base(optimizer)
    {
        ArgumentNullException.ThrowIfNull(schedulers);
        ArgumentNullException.ThrowIfNull(milestones);
        _schedulers = schedulers.Select((s, i) => s ?? throw new ArgumentNullException(nameof(schedulers),
            $"SequentialLR: scheduler {i} is null.")).ToArray();
        _milestones = milestones.ToArray();
        if (_schedulers.Length == 0) throw new ArgumentException("SequentialLR: give at least one scheduler.", nameof(schedulers));
        for (int i = 0; i < _schedulers.Length; i++)
        {
            if (_schedulers[i].Optimizer != optimizer)
                throw new ArgumentException($"SequentialLR: scheduler {i} ({_schedulers[i].Name}) sets another optimizer's rates.",
                    nameof(schedulers));
            if (_schedulers[i] is ReduceLROnPlateau)
                throw new ArgumentException($"SequentialLR: scheduler {i} is a ReduceLROnPlateau, which follows a metric, not a " +
                    "schedule.", nameof(schedulers));
        }
        if (_milestones.Length != _schedulers.Length - 1)
            throw new ArgumentException($"SequentialLR: {_schedulers.Length} schedulers need {_schedulers.Length - 1} milestones, " +
                $"got {_milestones.Length}.", nameof(milestones));
        for (int i = 0; i < _milestones.Length; i++)
            if (_milestones[i] < 1 || i > 0 && _milestones[i] <= _milestones[i - 1])
                throw new ArgumentException($"SequentialLR: milestones must increase from 1, got [{string.Join(", ", _milestones)}].",
                    nameof(milestones));
        Advance();
    }

    /// <summary>The schedulers, in order.</summary>
    public IReadOnlyList<LRScheduler> Schedulers => _schedulers;
    /// <summary>The epochs at which the next scheduler takes over.</summary>
    public IReadOnlyList<int> Milestones => _milestones;


    internal override double LearningRateAt(int group, double baseLr, int epoch)
    {
        int i = Schedule.CountAtOrBelow(_milestones, epoch);
        return _schedulers[i].LearningRateAt(group, baseLr, i == 0 ? epoch : epoch - _milestones[i - 1]);
    }

    private protected override IEnumerable<(string, double[])> Settings =>
        _schedulers.SelectMany((s, i) => s.SettingsForSequence.Select(x => ($"schedulers.{i}.{x.Name}", x.Values)))
            .Prepend(("milestones", _milestones.Select(m => (double)m).ToArray()));
}
