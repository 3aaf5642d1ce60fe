using DeepSharp.Ops;

namespace DeepSharp.Optim;

/// <summary>
/// Updates parameters in place from their gradients, on their own device, one fused kernel per parameter per step.
/// Parameters keep their identity (tied weights and other references see the update); nothing is copied to the host.
/// </summary>
public abstract class Optimizer : IDisposable
{
    private readonly IParameter[] _sources;
    private readonly Dictionary<Tensor, (Tensor M, Tensor? V)> _state = new(ReferenceEqualityComparer.Instance);

    /// <summary>
    /// Takes a model's parameters (<c>net.Parameters()</c>) or tensors (<c>[w, b]</c>), or both. A model's parameters may
    /// not have data yet: each step reads their current tensors, so deferred parameters join once the first batch has
    /// created them, and frozen ones (no gradient) are skipped. A tensor given directly must be a float32 leaf that
    /// requires grad. One listed twice is updated once.
    /// </summary>
    /// <exception cref="ArgumentNullException">The sequence or one of its items is null.</exception>
    /// <exception cref="ArgumentException">A tensor given directly does not require grad, is not float32, or is not dense.</exception>
    protected Optimizer(IEnumerable<IParameter> parameters)
    {
        ArgumentNullException.ThrowIfNull(parameters);
        _sources = parameters.Distinct(ReferenceEqualityComparer.Instance).Cast<IParameter?>()
            .Select((p, i) => p ?? throw new ArgumentNullException(nameof(parameters), $"{GetType().Name}: parameter {i} is null."))
            .ToArray();
        for (int i = 0; i < _sources.Length; i++)
        {
            if (_sources[i] is not Tensor t) continue;
            if (!t.RequiresGrad || !t.IsLeaf)
                throw new ArgumentException(
                    $"{GetType().Name}: parameter {i} (shape {Layout.Format(t.Layout.ShapeArray)}) is not a leaf that " +
                    "requires grad.", nameof(parameters));
            Check(t, i, null);
        }
    }

    private void Check(Tensor p, int index, IParameter? source)
    {
        if (p.DType == DType.Float32 && p.IsContiguous) return;
        var name = source is { Path.Length: > 0 } ? $"parameter '{source.Path}'" : $"parameter {index}";
        if (p.DType != DType.Float32)
            throw new ArgumentException($"{GetType().Name}: {name} is {p.DType.Name()}; optimizers update float32 tensors.");
        throw new ArgumentException($"{GetType().Name}: {name} is a strided view; optimize the dense tensor it views.");
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
        foreach (var (m, v) in _state.Values) { m.Dispose(); v?.Dispose(); }
        _state.Clear();
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
    /// <exception cref="InvalidOperationException">A gradient does not fit its parameter (shape or device); then no
    /// parameter is changed.</exception>
    /// <exception cref="ArgumentException">A parameter that has a gradient is not a dense float32 tensor; then no parameter
    /// is changed.</exception>
    /// <exception cref="ObjectDisposedException">The optimizer was disposed.</exception>
    public void Step()
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        // Every gradient is checked before anything is queued: a bad one leaves all parameters as they were.
        for (int i = 0; i < _sources.Length; i++)
        {
            var s = _sources[i];
            if (!s.IsInitialized || s.Data is not { Grad: { } g } p) continue;
            if (g.Device != p.Device || !g.Layout.ShapeArray.SequenceEqual(p.Layout.ShapeArray))
                throw new InvalidOperationException(
                    $"{GetType().Name}: a gradient of shape {Layout.Format(g.Layout.ShapeArray)} on {g.Device} does not fit its " +
                    $"parameter {Name(s)} {Layout.Format(p.Layout.ShapeArray)} on {p.Device}.");
            Check(p, i, s);
        }
        StepCount++;
        using var _ = Autograd.NoGrad();
        try
        {
            foreach (var s in _sources)
            {
                if (!s.IsInitialized || s.Data is not { Grad: { } grad } p) continue;
                var g = grad.Dense();
                var (m, v) = State(p, g);
                Apply(p, g, m, v);
                p.Storage.Bump();
            }
            Flush();
        }
        finally { _queued.Clear(); } // nothing queued outlives a Step, even one that failed
    }

    private static string Name(IParameter s) => s.Path.Length > 0 ? $"'{s.Path}'" : "parameter";

    // Updates queued by Launch: consecutive parameters on one device with the same rule go out together (an accelerator
    // updates four per launch), and everything is sent before Step returns.
    private readonly List<Backends.UpdateItem> _queued = new();
    private Backends.IBackend? _queuedBackend;
    private object? _queuedOp;
    private Action? _send;

    /// <summary>Queues one fused update of <typeparamref name="TOp"/> over p (launched, with its neighbours, within this Step).</summary>
    private protected void Launch<TOp>(Tensor p, Tensor g, Tensor m, Tensor v, TOp op) where TOp : struct, IUpdateOp
    {
        var backend = p.Backend;
        if (_queued.Count > 0
            && (_queuedBackend != backend || _queuedOp is not TOp prev || !EqualityComparer<TOp>.Default.Equals(prev, op)))
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
            foreach (var t in new[] { s.M, s.V })
            {
                if (t is null) continue;
                using var moved = t.To(p.Device); // released here: t keeps the only hold on its new memory
                t.SetData(moved);
            }
        }
        return (s.M, s.V ?? g); // an unused slot aliases this step's gradient, never a stored one
    }
}
