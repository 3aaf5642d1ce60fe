using DeepSharp.Ops;

namespace DeepSharp.Optim;

/// <summary>
/// Updates parameters in place from their gradients, on their own device, one fused kernel per parameter per step.
/// Parameters keep their identity (tied weights and other references see the update); nothing is copied to the host.
/// </summary>
public abstract class Optimizer
{
    private readonly Tensor[] _parameters;
    private readonly Dictionary<Tensor, (Tensor M, Tensor? V)> _state = new(ReferenceEqualityComparer.Instance);

    /// <summary>Takes any sequence of float32 tensors that require grad; a tensor listed twice is updated once.</summary>
    /// <exception cref="ArgumentNullException">parameters or one of its tensors is null.</exception>
    /// <exception cref="ArgumentException">A tensor does not require grad, is not float32, or is not dense.</exception>
    protected Optimizer(IEnumerable<Tensor> parameters)
    {
        Check.NotNull(GetType().Name, parameters, nameof(parameters));
        _parameters = parameters.Distinct(ReferenceEqualityComparer.Instance).Cast<Tensor>().ToArray();
        for (int i = 0; i < _parameters.Length; i++)
        {
            var p = _parameters[i] ?? throw new ArgumentNullException(nameof(parameters), $"{GetType().Name}: parameter {i} is null.");
            if (!p.RequiresGrad || !p.IsLeaf) throw new ArgumentException($"{GetType().Name}: parameter {i} (shape {Layout.Format(p.Layout.Shape)}) is not a leaf that requires grad.");
            if (p.DType != DType.Float32) throw new ArgumentException($"{GetType().Name}: parameter {i} is {p.DType.Name()}; optimizers update float32 tensors.");
            if (!p.IsContiguous) throw new ArgumentException($"{GetType().Name}: parameter {i} is a strided view; optimize the dense tensor it views.");
        }
    }

    /// <summary>The parameters this optimizer updates.</summary>
    public IReadOnlyList<Tensor> Parameters => _parameters;

    /// <summary>Number of steps taken.</summary>
    public int StepCount { get; private set; }

    /// <summary>Resets every parameter's gradient to null (the next backward starts fresh).</summary>
    public void ZeroGrad()
    {
        foreach (var p in _parameters) { p.Grad?.Dispose(); p.Grad = null; }
    }

    /// <summary>Applies one update to every parameter that has a gradient.</summary>
    /// <exception cref="InvalidOperationException">A gradient does not fit its parameter (shape or device); then no
    /// parameter is changed.</exception>
    public void Step()
    {
        // Every gradient is checked before anything is queued: a bad one leaves all parameters as they were.
        foreach (var p in _parameters)
            if (p.Grad is { } g && (g.Device != p.Device || !g.Layout.Shape.SequenceEqual(p.Layout.Shape)))
                throw new InvalidOperationException($"{GetType().Name}: a gradient of shape {Layout.Format(g.Layout.Shape)} on {g.Device} does not fit its parameter {Layout.Format(p.Layout.Shape)} on {p.Device}.");
        StepCount++;
        using var _ = Autograd.NoGrad();
        try
        {
            foreach (var p in _parameters)
            {
                if (p.Grad is not { } g) continue;
                g = g.Dense();
                var (m, v) = State(p, g);
                Apply(p, g, m, v);
                p.Storage.Bump();
            }
            Flush();
        }
        finally { _queued.Clear(); } // nothing queued outlives a Step, even one that failed
    }

    // Updates queued by Launch: consecutive parameters on one device with the same rule go out together (an accelerator
    // updates four per launch), and everything is sent before Step returns.
    private readonly List<Backends.UpdateItem> _queued = new();
    private Backends.IBackend? _queuedBackend;
    private object? _queuedOp;
    private Action? _send;

    /// <summary>Queues one fused update of <typeparamref name="TOp"/> over p (launched, with its neighbours, within this Step).</summary>
    protected void Launch<TOp>(Tensor p, Tensor g, Tensor m, Tensor v, TOp op) where TOp : struct, IUpdateOp
    {
        var backend = p.Backend;
        if (_queued.Count > 0 && (_queuedBackend != backend || _queuedOp is not TOp prev || !EqualityComparer<TOp>.Default.Equals(prev, op)))
            Flush();
        if (_queued.Count == 0)
        {
            (_queuedBackend, _queuedOp) = (backend, op);
            _send = () => backend.Update(_queued, op);
        }
        _queued.Add(new Backends.UpdateItem(p.Storage, p.Layout.Offset, g.Storage, g.Layout.Offset, m.Storage, v.Storage, p.Count));
    }

    private void Flush()
    {
        if (_queued.Count == 0) return;
        try { _send!(); }
        finally { _queued.Clear(); _queuedBackend = null; _queuedOp = null; _send = null; }
    }

    /// <summary>Applies the rule to one parameter; m and v are its state (the gradient itself where a state is unused).</summary>
    protected abstract void Apply(Tensor p, Tensor g, Tensor m, Tensor v);

    /// <summary>How many state tensors of the parameter's shape the rule keeps (0, 1 or 2).</summary>
    protected abstract int StateCount { get; }

    /// <summary>True on the first step for this parameter (its state was just created).</summary>
    protected bool IsFirstStep(Tensor p) => _fresh.Contains(p);
    private readonly HashSet<Tensor> _fresh = new(ReferenceEqualityComparer.Instance);

    private (Tensor M, Tensor V) State(Tensor p, Tensor g)
    {
        _fresh.Remove(p);
        if (StateCount == 0) return (g, g);
        if (!_state.TryGetValue(p, out var s))
        {
            using var _ = TensorScope.Suspend(); // optimizer state outlives every step's scope
            s = (Tensor.Zeros(p.Shape, DType.Float32, p.Device), StateCount > 1 ? Tensor.Zeros(p.Shape, DType.Float32, p.Device) : null);
            _state[p] = s;
            _fresh.Add(p);
        }
        if (s.M.Device != p.Device) // the model moved (Block.To): its state follows
        {
            using var _ = TensorScope.Suspend();
            s.M.SetData(s.M.To(p.Device));
            s.V?.SetData(s.V.To(p.Device));
        }
        return (s.M, s.V ?? g); // an unused slot aliases this step's gradient, never a stored one
    }
}
