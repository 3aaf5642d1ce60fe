using System.Globalization;

namespace DeepSharp.Optim;

/// <summary>
/// Sets an optimizer's learning rates over training (torch.optim.lr_scheduler): call the scheduler's <c>Step</c> after the
/// optimizer's, once per epoch or per batch as the schedule is written. Each group's rate is computed from its initial rate
/// (<see cref="ParamGroup.InitialLearningRate"/>, recorded by the first scheduler) with the closed form PyTorch documents, so
/// a rate set by hand between steps is replaced at the next step; combine schedules with <see cref="SequentialLR"/>.
/// Construction sets epoch 0's rates, as PyTorch's constructor does.
/// </summary>
public abstract class LRScheduler
{
    private float[] _base;
    private float[] _last;

    /// <summary>Records each group's initial rate (once, as PyTorch's <c>initial_lr</c>).</summary>
    private protected LRScheduler(Optimizer optimizer)
    {
        ArgumentNullException.ThrowIfNull(optimizer);
        Optimizer = optimizer;
        foreach (var g in optimizer.ParamGroups) g.InitialLearningRate ??= g.LearningRate;
        _base = optimizer.ParamGroups.Select(g => g.InitialLearningRate!.Value).ToArray();
        _last = optimizer.ParamGroups.Select(g => g.LearningRate).ToArray();
    }

    /// <summary>The optimizer whose groups' rates this sets.</summary>
    public Optimizer Optimizer { get; }

    /// <summary>The epoch (or step) the current rates belong to: 0 after construction, +1 per <c>Step</c>.</summary>
    public int LastEpoch { get; private protected set; } = -1;

    /// <summary>Each group's initial rate, the schedule's starting point (PyTorch's <c>base_lrs</c>).</summary>
    public IReadOnlyList<float> BaseLearningRates => _base;

    /// <summary>The rates the last step set, one per group (PyTorch's <c>get_last_lr()</c>).</summary>
    public IReadOnlyList<float> LastLearningRates => _last;

    /// <summary>The scheduler's name in messages and files.</summary>
    internal string Name => GetType().Name;

    /// <summary>The closed form: group <paramref name="group"/>'s rate at <paramref name="epoch"/> from its initial rate.</summary>
    internal abstract double LearningRateAt(int group, double baseLr, int epoch);

    /// <summary>The settings that define the schedule (saved, and checked when a state dict is loaded).</summary>
    private protected abstract IEnumerable<(string Name, double[] Values)> Settings { get; }
    internal IEnumerable<(string Name, double[] Values)> SettingsForSequence => Settings;

    /// <summary>Replaces the initial rates (OneCycleLR starts from max_lr / div_factor).</summary>
    private protected void Rebase(float[] lrs) => _base = lrs;

    /// <summary>Advances one epoch (or step) and sets every group's rate; call it after the optimizer's step.</summary>
    /// <exception cref="InvalidOperationException">A <see cref="OneCycleLR"/> past its last step, or a
    /// <see cref="ReduceLROnPlateau"/> (it needs the metric: <see cref="ReduceLROnPlateau.Step(double)"/>).</exception>
    public virtual void Step() => Advance();

    /// <summary>Advances one epoch and sets every group's rate.</summary>
    private protected void Advance()
    {
        LastEpoch++;
        for (int j = 0; j < _base.Length; j++) SetRate(j, LearningRateAt(j, _base[j], LastEpoch));
        OnEpoch(LastEpoch);
    }

    /// <summary>Sets group <paramref name="j"/>'s rate (rounded to float32).</summary>
    private protected void SetRate(int j, double lr) => Optimizer.ParamGroups[j].LearningRate = _last[j] = (float)lr;

    /// <summary>What else an epoch sets (OneCycleLR's momentum).</summary>
    private protected virtual void OnEpoch(int epoch) { }

    /// <summary>Extra state beyond the epoch and the rates (ReduceLROnPlateau's best value and counters).</summary>
    private protected virtual IEnumerable<(string Name, Tensor Value)> Extra => [];

    /// <summary>Checks and reads the extra state (problems are added to the list; nothing is applied until all is read).</summary>
    private protected virtual Action? LoadExtra(IReadOnlyDictionary<string, Tensor> state, HashSet<string> used, List<string> problems)
        => null;

    /// <summary>The scheduler's state: <c>last_epoch</c> (int64), <c>base_lrs</c> and <c>last_lrs</c> (float32, one per
    /// group), its settings (float64, e.g. <c>gamma</c>, <c>milestones</c>) and what else it counts.</summary>
    public OrderedDictionary<string, Tensor> StateDict()
    {
        using var _ = TensorScope.Suspend();
        var d = new OrderedDictionary<string, Tensor>
        {
            ["last_epoch"] = Tensor.Full([], LastEpoch, DType.Int64),
            ["base_lrs"] = Tensor.FromArray((float[])_base.Clone(), [_base.Length]),
            ["last_lrs"] = Tensor.FromArray((float[])_last.Clone(), [_last.Length]),
        };
        foreach (var (name, values) in Settings) d.Add(name, Tensor.FromArray(values, [values.Length]));
        foreach (var (name, value) in Extra) d.Add(name, value);
        return d;
    }

    /// <summary>Loads a <see cref="StateDict"/> of a scheduler of the same type and settings over as many groups; the next
    /// step continues exactly where the saved one would have. The optimizer's rates come from its own state dict.</summary>
    /// <exception cref="ArgumentNullException"><paramref name="state"/> is null.</exception>
    /// <exception cref="ArgumentException">It was saved by another scheduler type, with other settings or another number
    /// of groups (the message lists every problem); nothing was loaded.</exception>
    public void LoadStateDict(IReadOnlyDictionary<string, Tensor> state)
    {
        ArgumentNullException.ThrowIfNull(state);
        var problems = new List<string>();
        var used = new HashSet<string>();
        Tensor? Get(string key, DType dtype, int? count)
        {
            if (!state.TryGetValue(key, out var t) || t is null) { problems.Add($"missing '{key}'"); return null; }
            used.Add(key);
            if (t.DType == dtype && (count is null ? t.Count == 1 : t.Layout.Rank == 1 && t.Count == count)) return t;
            problems.Add($"'{key}' is {t.DType.Name()} {Layout.Format(t.Shape)}, not {dtype.Name()} " +
                (count is null ? "[]" : $"[{count}]"));
            return null;
        }
        long epoch = Get("last_epoch", DType.Int64, null)?.Item<long>() ?? 0;
        if (epoch is < 0 or > int.MaxValue) problems.Add($"'last_epoch' is {epoch}");
        var baseLrs = Get("base_lrs", DType.Float32, _base.Length)?.ToArray<float>();
        var lastLrs = Get("last_lrs", DType.Float32, _last.Length)?.ToArray<float>();
        foreach (var (name, values) in Settings)
        {
            if (!state.TryGetValue(name, out var t) || t is null) { problems.Add($"missing '{name}'"); continue; }
            used.Add(name);
            var saved = t.DType == DType.Float64 && t.Layout.Rank == 1 ? t.ToArray<double>() : null;
            if (saved is null || !saved.SequenceEqual(values))
                problems.Add($"it was saved with {name} = {Show(saved)} but this {Name} has {name} = {Show(values)}");
        }
        var apply = LoadExtra(state, used, problems);
        var unexpected = state.Keys.Where(k => !used.Contains(k)).ToList();
        if (unexpected.Count > 0)
            problems.Add($"unexpected keys {string.Join(", ", unexpected.Select(k => $"'{k}'"))} (was it saved by another scheduler?)");
        if (problems.Count > 0)
            throw new ArgumentException($"{Name}.LoadStateDict: the state dict does not fit this scheduler; nothing was loaded. " +
                string.Join("; ", problems) + ".", nameof(state));
        LastEpoch = (int)epoch;
        _base = baseLrs!;
        _last = lastLrs!;
        apply?.Invoke();
    }

    private static string Show(double[]? values) => values is null ? "(not float64 values)"
        : values.Length == 1 ? values[0].ToString("R", CultureInfo.InvariantCulture)
        : "[" + string.Join(", ", values.Select(v => v.ToString("R", CultureInfo.InvariantCulture))) + "]";
}
