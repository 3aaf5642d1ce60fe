namespace DeepSharp.Optim;

/// <summary>
/// A set of parameters with its own hyper-parameters (an entry of torch.optim's <c>param_groups</c>): e.g. weight decay for
/// the weights and none for biases and norms, <c>new Sgd([new ParamGroup(decayed, weightDecay: 5e-4f), new
/// ParamGroup(biasesAndNorms, weightDecay: 0f)], lr: 0.1f, momentum: 0.9f)</c>. A value the group does not set comes from the
/// optimizer's argument of the same name. Values are read at every step, so a scheduler (or you) may change them between
/// steps through <see cref="LearningRate"/>, <see cref="WeightDecay"/> or the indexer.
/// </summary>
/// <remarks>Hyper-parameters use PyTorch's names: <c>lr</c>, <c>weight_decay</c>, <c>momentum</c>, <c>dampening</c>,
/// <c>beta1</c> and <c>beta2</c> (PyTorch's <c>betas</c>), <c>eps</c>, <c>alpha</c>, <c>lr_decay</c>,
/// <c>initial_accumulator_value</c>. Options that change which state an optimizer keeps (<c>nesterov</c>, <c>amsgrad</c>,
/// <c>centered</c>) are the optimizer's, the same for every group.</remarks>
public sealed class ParamGroup
{
    private readonly OrderedDictionary<string, float> _values = new();
    private Optimizer? _owner;
    private int _index;

    /// <summary>A group of <paramref name="parameters"/> (a model's parameters, deferred ones included, or tensors that require
    /// grad); each hyper-parameter left null comes from the optimizer.</summary>
    /// <param name="parameters">What the group updates.</param>
    /// <param name="lr">Learning rate (PyTorch's <c>lr</c>).</param>
    /// <param name="weightDecay">Weight decay (<c>weight_decay</c>).</param>
    /// <param name="momentum">Momentum (SGD, RMSprop).</param>
    /// <param name="dampening">Dampening (SGD).</param>
    /// <param name="beta1">First-moment decay (Adam, AdamW).</param>
    /// <param name="beta2">Second-moment decay (Adam, AdamW).</param>
    /// <param name="eps">Denominator epsilon (Adam, AdamW, RMSprop, Adagrad).</param>
    /// <param name="alpha">Smoothing constant (RMSprop).</param>
    /// <param name="lrDecay">Learning-rate decay (Adagrad's <c>lr_decay</c>).</param>
    /// <param name="initialAccumulatorValue">Adagrad's starting sum.</param>
    /// <exception cref="ArgumentNullException"><paramref name="parameters"/> is null.</exception>
    /// <remarks>The values are checked when an optimizer takes the group (an <see cref="ArgumentException"/> names the group and
    /// the value); a hyper-parameter the optimizer does not have is refused there.</remarks>
    public ParamGroup(IEnumerable<IParameter> parameters, float? lr = null, float? weightDecay = null, float? momentum = null,
        float? dampening = null, float? beta1 = null, float? beta2 = null, float? eps = null, float? alpha = null, float? lrDecay = null,
        float? initialAccumulatorValue = null)
    {
        ArgumentNullException.ThrowIfNull(parameters);
        Parameters = parameters.Distinct(ReferenceEqualityComparer.Instance).Cast<IParameter>().ToArray();
        (string Name, float? Value)[] given =
        [
            ("lr", lr), ("weight_decay", weightDecay), ("momentum", momentum), ("dampening", dampening), ("beta1", beta1),
            ("beta2", beta2), ("eps", eps), ("alpha", alpha), ("lr_decay", lrDecay), ("initial_accumulator_value", initialAccumulatorValue),
        ];
        foreach (var (name, value) in given) if (value is { } v) _values[name] = v;
    }

    /// <summary>The one group of an optimizer given a plain list of parameters (messages then name "parameters").</summary>
    internal static ParamGroup Whole(IEnumerable<IParameter> parameters) => new(parameters) { IsWhole = true };

    internal bool IsWhole { get; private init; }

    /// <summary>The parameters of this group (one listed twice is kept once).</summary>
    public IReadOnlyList<IParameter> Parameters { get; }

    /// <summary>The learning rate (<c>lr</c>; ≥ 0).</summary>
    /// <exception cref="ArgumentOutOfRangeException">Set to a negative or non-finite value.</exception>
    public float LearningRate { get => this["lr"]; set => this["lr"] = value; }

    /// <summary>The weight decay (<c>weight_decay</c>; ≥ 0).</summary>
    /// <exception cref="ArgumentOutOfRangeException">Set to a negative or non-finite value.</exception>
    /// <exception cref="KeyNotFoundException">The optimizer has no weight decay.</exception>
    public float WeightDecay { get => this["weight_decay"]; set => this["weight_decay"] = value; }

    /// <summary>The learning rate the first scheduler found (PyTorch's <c>initial_lr</c>), or null when no scheduler drives
    /// this group; schedulers compute their rates from it.</summary>
    public float? InitialLearningRate { get; internal set; }

    /// <summary>A hyper-parameter by its PyTorch name (<c>group["momentum"]</c>).</summary>
    /// <exception cref="KeyNotFoundException">The group has no such hyper-parameter (the message lists those it has).</exception>
    /// <exception cref="ArgumentOutOfRangeException">Set to a value outside its range (the message names it).</exception>
    public float this[string name]
    {
        get => _values.TryGetValue(name ?? throw new ArgumentNullException(nameof(name)), out var v) ? v : throw Missing(name);
        set
        {
            ArgumentNullException.ThrowIfNull(name);
            if (_owner is null) { _values[name] = value; return; }
            if (!_values.ContainsKey(name)) throw Missing(name);
            _values[name] = _owner.CheckHyperParameter(name, value, $"group {_index}'s", nameof(value));
        }
    }

    /// <summary>Every hyper-parameter of the group and its value, in the optimizer's order.</summary>
    public IReadOnlyDictionary<string, float> HyperParameters =>
        new System.Collections.ObjectModel.ReadOnlyDictionary<string, float>(_values);

    private KeyNotFoundException Missing(string name) =>
        new($"{_owner?.DisplayName ?? "ParamGroup"}: group {_index} has no hyper-parameter '{name}'; it has " +
            $"{string.Join(", ", _values.Keys)}.");

    /// <summary>Joins <paramref name="owner"/>: checks the values the group set, refuses names the optimizer does not have and
    /// fills the others from <paramref name="defaults"/> (in the optimizer's order).</summary>
    internal void Attach(Optimizer owner, int index, IReadOnlyList<(string Name, float Value)> defaults)
    {
        if (_owner is not null)
            throw new ArgumentException($"{owner.DisplayName}: parameter group {index} already belongs to a " +
                $"{_owner.DisplayName}; give each optimizer groups of its own.", "groups");
        var unknown = _values.Keys.Where(k => defaults.All(d => d.Name != k)).ToList();
        if (unknown.Count > 0)
            throw new ArgumentException($"{owner.DisplayName}: parameter group {index} sets {string.Join(", ", unknown)}, which " +
                $"{owner.DisplayName} does not have; it has {string.Join(", ", defaults.Select(d => d.Name))}.", "groups");
        var ordered = defaults.Select(d => (d.Name, Value: _values.TryGetValue(d.Name, out var v)
            ? owner.CheckHyperParameter(d.Name, v, $"parameter group {index}'s", "groups") : d.Value)).ToList();
        _values.Clear();
        foreach (var (name, value) in ordered) _values[name] = value;
        (_owner, _index) = (owner, index);
    }

    /// <summary>Sets a value loaded from a state dict (already checked).</summary>
    internal void Load(string name, float value) => _values[name] = value;
}
