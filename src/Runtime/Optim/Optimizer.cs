using DeepSharp.Ops;

namespace DeepSharp.Optim;

/// <summary>
/// Updates parameters in place from their gradients, on their own device, one fused kernel per parameter per step.
/// Parameters keep their identity (tied weights and other references see the update); nothing is copied to the host.
/// Parameters come in groups (<see cref="ParamGroups"/>), each with its own hyper-parameters.
/// </summary>
public abstract partial class Optimizer : IDisposable
{
    private readonly ParamGroup[] _groups;
    private readonly IParameter[] _sources; // every group's parameters, in order: a parameter's index in the state dict
    private readonly int[] _groupOf;
    private readonly ParamState?[] _state;

    /// <summary>
    /// Takes groups of a model's parameters (<c>net.Parameters()</c>) or tensors (<c>[w, b]</c>), or both. A model's
    /// parameters may not have data yet: each step reads their current tensors, so deferred parameters join once the first
    /// batch has created them, and frozen ones (no gradient) are skipped. A tensor given directly must be a float32 leaf that
    /// requires grad. One listed twice in a group is updated once; one in two groups is refused (as PyTorch).
    /// </summary>
    private protected Optimizer(IEnumerable<ParamGroup> groups, IReadOnlyList<(string Name, float Value)> defaults)
    {
        ArgumentNullException.ThrowIfNull(groups);
        _groups = groups.Select((g, i) => g ?? throw new ArgumentNullException(nameof(groups), $"{Name}: group {i} is null.")).ToArray();
        string arg = _groups is [{ IsWhole: true }] ? "parameters" : nameof(groups); // what the caller passed
        for (int i = 0; i < defaults.Count; i++) CheckHyperParameter(defaults[i].Name, defaults[i].Value, "", ArgName(defaults[i].Name));
        var sources = new List<IParameter>();
        var groupOf = new List<int>();
        var seen = new Dictionary<IParameter, int>(ReferenceEqualityComparer.Instance);
        for (int j = 0; j < _groups.Length; j++)
        {
            foreach (var p in _groups[j].Parameters)
            {
                var item = p ?? throw new ArgumentNullException(arg, $"{Name}: parameter {sources.Count} is null.");
                if (!seen.TryAdd(item, j))
                    throw new ArgumentException($"{Name}: {Describe(item, sources.Count)} is in parameter groups {seen[item]} and " +
                        $"{j}; a parameter may belong to one group only.", nameof(groups));
                sources.Add(item);
                groupOf.Add(j);
            }
        }
        _sources = [.. sources];
        _groupOf = [.. groupOf];
        _state = new ParamState?[_sources.Length];
        for (int i = 0; i < _sources.Length; i++)
        {
            if (_sources[i] is not Tensor t) continue;
            if (!t.RequiresGrad || !t.IsLeaf)
                throw new ArgumentException(
                    $"{Name}: parameter {i} (shape {Layout.Format(t.Layout.ShapeArray)}) is not a leaf that requires grad.",
                    arg);
            Check(t, i, null);
        }
        for (int j = 0; j < _groups.Length; j++) _groups[j].Attach(this, j, defaults);
    }

    /// <summary>The optimizer's name in messages (PyTorch's class name).</summary>
    private protected virtual string Name => GetType().Name;
    internal string DisplayName => Name;

    private static string ArgName(string name) => name switch
    {
        "weight_decay" => "weightDecay",
        "lr_decay" => "lrDecay",
        "initial_accumulator_value" => "initialAccumulatorValue",
        _ => name,
    };

    /// <summary>Checks a hyper-parameter's value against its range; the message names the optimizer, the group and the value.</summary>
    internal float CheckHyperParameter(string name, float value, string whose, string argument)
    {
        var (ok, range) = name switch
        {
            "lr" or "weight_decay" or "lr_decay" or "initial_accumulator_value" => (value >= 0 && float.IsFinite(value), ">= 0"),
            "eps" => (value > 0 && float.IsFinite(value), "> 0"),
            "momentum" or "beta1" or "beta2" => (value is >= 0 and < 1, "in [0, 1)"),
            _ => (value is >= 0 and <= 1, "in [0, 1]"), // dampening, alpha
        };
        if (!ok)
            throw new ArgumentOutOfRangeException(argument, $"{Name}: {(whose.Length > 0 ? whose + " " : "")}{name} must be {range}, " +
                $"got {value}.");
        CheckGroupValue(name, value);
        return value;
    }

    /// <summary>Refuses a value that contradicts an option of the optimizer (e.g. Nesterov without momentum).</summary>
    private protected virtual void CheckGroupValue(string name, float value) { }

    private void Check(Tensor p, int index, IParameter? source)
    {
        if (p.DType.IsFloat() && p.IsContiguous) return;
        var name = Describe(source ?? p, index);
        if (!p.DType.IsFloat())
            throw new ArgumentException($"{Name}: {name} is {p.DType.Name()}; optimizers update floating-point tensors.");
        throw new ArgumentException($"{Name}: {name} is a strided view; optimize the dense tensor it views.");
    }

    private static string Describe(IParameter s, int index) => s.Path.Length > 0 ? $"parameter '{s.Path}'" : $"parameter {index}";

    /// <summary>The parameter groups, each with its hyper-parameters (a scheduler sets their learning rates).</summary>
    public IReadOnlyList<ParamGroup> ParamGroups => _groups;

    /// <summary>The first group's learning rate; setting it sets every group's (as a schedule of one rate would).</summary>
    /// <exception cref="ArgumentOutOfRangeException">Set to a negative or non-finite value.</exception>
    public float LearningRate
    {
        get => _groups.Length > 0 ? _groups[0].LearningRate : throw new InvalidOperationException($"{Name}: there are no groups.");
        set
        {
            CheckHyperParameter("lr", value, "", nameof(value));
            foreach (var g in _groups) g.LearningRate = value;
        }
    }

    /// <summary>The tensors this optimizer updates (those of deferred parameters once they exist).</summary>
    public IReadOnlyList<Tensor> Parameters =>
        _sources.Where(s => s.IsInitialized).Select(s => s.Data).Distinct(ReferenceEqualityComparer.Instance).Cast<Tensor>().ToList();

    /// <summary>Frees the optimizer's state (momentum buffers, moment estimates) at once; the parameters are not touched.
    /// The optimizer cannot step afterwards.</summary>
    public void Dispose()
    {
        Dispose(disposing: true);
        GC.SuppressFinalize(this);
    }

    /// <summary>Frees the state tensors; override to free more, and call the base.</summary>
    protected virtual void Dispose(bool disposing)
    {
        if (!disposing || _disposed) return;
        _disposed = true;
        for (int i = 0; i < _state.Length; i++) { _state[i]?.Dispose(); _state[i] = null; }
        DropPending();
    }

    private bool _disposed;

    /// <summary>Number of steps taken.</summary>
    public int StepCount { get; private set; }

    /// <summary>Resets every parameter's gradient to null (the next backward starts fresh).</summary>
    public void ZeroGrad()
    {
        foreach (var s in _sources)
            if (s.IsInitialized && s.Data is { } p) { p.Grad?.Dispose(); p.Grad = null; }
    }

    /// <summary>Applies one update to every parameter that has a gradient.</summary>
    /// <exception cref="InvalidOperationException">A gradient does not fit its parameter (shape, device or dtype), or state loaded
    /// for a deferred parameter does not fit the tensor it got; then no parameter is changed.</exception>
    /// <exception cref="ArgumentException">A parameter that has a gradient is not a dense float32 or float64 tensor; then no
    /// parameter is changed.</exception>
    /// <exception cref="ObjectDisposedException">The optimizer was disposed.</exception>
    public void Step()
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        // Every gradient is checked before anything is queued: a bad one leaves all parameters as they were.
        for (int i = 0; i < _sources.Length; i++)
        {
            var s = _sources[i];
            if (!s.IsInitialized || s.Data is not { Grad: { } g } p) continue;
            if (g.Device != p.Device || !g.Layout.ShapeArray.SequenceEqual(p.Layout.ShapeArray) || g.DType != p.DType)
                throw new InvalidOperationException(
                    $"{Name}: a {g.DType.Name()} gradient of shape {Layout.Format(g.Layout.ShapeArray)} on {g.Device} does not fit " +
                    $"its {Describe(s, i)}, {p.DType.Name()} {Layout.Format(p.Layout.ShapeArray)} on {p.Device}.");
            Check(p, i, s);
            CheckPending(i, p);
        }
        StepCount++;
        using var _ = Autograd.NoGrad();
        var done = new HashSet<Tensor>(ReferenceEqualityComparer.Instance); // a tensor under two parameters is updated once
        List<(Tensor P, Tensor Master, Tensor Grad)>? halves = null; // only with 16-bit parameters
        try
        {
            for (int i = 0; i < _sources.Length; i++)
            {
                var s = _sources[i];
                if (!s.IsInitialized || s.Data is not { Grad: { } grad } p || !done.Add(p)) continue;
                var g = grad.Dense();
                var state = StateOf(i, p);
                state.Step++;
                if (Autocast.IsHalf(p))
                {
                    // A 16-bit parameter: the rule updates its float32 master weights with the widened gradient, and the
                    // parameter takes them rounded once, so steps below its spacing still add up.
                    var master = MasterOf(state, p);
                    var wide = g.To(DType.Float32);
                    (halves ??= []).Add((p, master, wide));
                    Update(_groups[_groupOf[i]], state, master, wide);
                }
                else Update(_groups[_groupOf[i]], state, p, g);
                p.Storage.Bump();
            }
            Flush();
            foreach (var (p, master, _) in halves ?? []) p.CopyFrom(master);
        }
        finally
        {
            _queued.Clear(); // nothing queued outlives a Step, even one that failed
            foreach (var (_, _, wide) in halves ?? []) wide.Dispose();
        }
    }

    /// <summary>Queues one parameter's update (<see cref="Launch"/>), creating the state it needs (<see cref="SlotOf"/>).</summary>
    private protected abstract void Update(ParamGroup group, ParamState state, Tensor p, Tensor g);

    /// <summary>The state-dict names of the three state slots (null for a slot the optimizer never uses).</summary>
    private protected abstract string?[] SlotNames { get; }

    /// <summary>Options that fix which state the optimizer keeps (<c>nesterov</c>, <c>amsgrad</c>, <c>centered</c>), as 0 or 1;
    /// saved with every group and checked when a state dict is loaded.</summary>
    private protected virtual IReadOnlyList<(string Name, bool Value)> Options => [];

    private ParamState StateOf(int i, Tensor p)
    {
        var state = _state[i] ??= TakePending(i, p) ?? new ParamState();
        state.Follow(p.Device, Autocast.IsHalf(p) ? DType.Float32 : p.DType); // the model moved or changed dtype: the state follows
        return state;
    }

    /// <summary>The state-dict name of a 16-bit parameter's float32 master weights.</summary>
    private const string MasterKey = "master_param";

    /// <summary>A 16-bit parameter's float32 master weights, made from its values at its first step (or loaded).</summary>
    private static Tensor MasterOf(ParamState state, Tensor p)
    {
        if (state.Master is { } m && m.Layout.ShapeArray.SequenceEqual(p.Layout.ShapeArray)) return m;
        using var _ = TensorScope.Suspend(); // the master weights outlive every step's scope
        state.Master?.Dispose();
        return state.Master = p.Detach().To(DType.Float32);
    }

    /// <summary>State slot <paramref name="k"/> of a parameter, created as <paramref name="fill"/> (of p's shape) if new.</summary>
    internal static Tensor SlotOf(ParamState state, int k, Tensor p, float fill = 0f)
    {
        if (state.Slots[k] is { } t) return t;
        using var _ = TensorScope.Suspend(); // optimizer state outlives every step's scope
        return state.Slots[k] = Tensor.Full(p.Shape, fill, p.DType, p.Device);
    }

    // Updates queued by Launch: consecutive parameters on one device with the same rule go out together (an accelerator
    // updates four per launch), and everything is sent before Step returns.
    private readonly List<Backends.UpdateItem> _queued = new();
    private Backends.IBackend? _queuedBackend;
    private object? _queuedOp;
    private Action? _send;

    /// <summary>Queues one fused update of <typeparamref name="TOp"/> over p (launched, with its neighbours, within this Step);
    /// a state slot that does not exist is given the gradient, which the rule leaves alone.</summary>
    private protected void Launch<TOp>(Tensor p, Tensor g, ParamState state, TOp op) where TOp : struct, IUpdateOp
    {
        var backend = p.Backend;
        if (_queued.Count > 0
            && (_queuedBackend != backend || _queuedOp is not TOp prev || !EqualityComparer<TOp>.Default.Equals(prev, op)
                || _queued[0].P.DType != p.DType)) // one dtype per backend call
            Flush();
        if (_queued.Count == 0)
        {
            (_queuedBackend, _queuedOp) = (backend, op);
            _send = () => backend.Update(_queued, op);
        }
        var (m, v, w) = (state.Slots[0] ?? g, state.Slots[1] ?? g, state.Slots[2] ?? g);
        _queued.Add(new Backends.UpdateItem(p.Storage, p.Layout.Offset, g.Storage, g.Layout.Offset, m.Storage, v.Storage, w.Storage,
            p.Count));
    }

    private void Flush()
    {
        if (_queued.Count == 0) return;
        try { _send!(); }
        finally { _queued.Clear(); _queuedBackend = null; _queuedOp = null; _send = null; }
    }
}
