namespace DeepSharp;

/// <summary>
/// Disposes every tensor created on this thread while it is the innermost scope, except those passed to
/// <see cref="Keep"/>. Wrap a training step in one to return its intermediates' device memory at once instead of
/// waiting for the GC. Gradients accumulated into leaves and optimizer state are never owned by a scope. Inference needs
/// none: an op built from several ops releases its own intermediates when autograd records nothing, so only the tensors
/// a caller receives are left to dispose.
/// </summary>
public sealed class TensorScope : IDisposable
{
    [ThreadStatic] private static TensorScope? _current;
    private readonly TensorScope? _parent;
    private readonly HashSet<Tensor> _owned = new(ReferenceEqualityComparer.Instance);
    private readonly bool _suspended;
    private bool _disposed;

    private TensorScope(bool suspended)
    {
        _parent = _current;
        _suspended = suspended;
        _current = this;
    }

    /// <summary>Starts a scope: <c>using (TensorScope.Begin()) { … }</c>.</summary>
    public static TensorScope Begin() => new(suspended: false);

    /// <summary>A scope that owns nothing: tensors created inside it belong to no scope (for state that must outlive a step).</summary>
    public static TensorScope Suspend() => new(suspended: true);

    internal static void Register(Tensor t)
    {
        var s = _current;
        if (s is { _suspended: false }) s._owned.Add(t);
    }

    /// <summary>Takes <paramref name="tensor"/> out of this scope (into the enclosing one, if any) and returns it.</summary>
    /// <exception cref="ArgumentNullException">tensor is null.</exception>
    public Tensor Keep(Tensor tensor)
    {
        Check.NotNull(nameof(Keep), tensor, nameof(tensor));
        if (_owned.Remove(tensor) && _parent is { _suspended: false } p) p._owned.Add(tensor);
        return tensor;
    }

    /// <summary>
    /// Runs a composite op (several ops, one result) so that its intermediates do not wait for the GC: when autograd
    /// recorded nothing for the result, nothing else holds them and they are disposed on return (their memory goes back to
    /// the pool at once, inside a TensorScope or not); when it recorded a graph, they belong where they would have
    /// belonged without this call (the enclosing scope, or none: the graph's nodes hold them). The result itself is
    /// handed to the enclosing scope. If the body throws, its intermediates are disposed.
    /// </summary>
    internal static Tensor Composite<TState>(TState state, Func<TState, Tensor> body)
    {
        var scope = new TensorScope(suspended: false);
        Tensor y;
        try { y = body(state); }
        catch { scope.Dispose(); throw; }
        if (y.GradFn is null)
        {
            scope.Keep(y);
            scope.Dispose();
            return y;
        }
        // A recorded graph may hold any intermediate: hand them all over, as if created in the enclosing scope.
        if (scope._parent is { _suspended: false } p) p._owned.UnionWith(scope._owned);
        scope._owned.Clear();
        scope.Dispose();
        return y;
    }

    /// <summary>Number of tensors this scope will dispose.</summary>
    public int Count => _owned.Count;

    /// <summary>Disposes the owned tensors and makes the enclosing scope current again.</summary>
    /// <exception cref="InvalidOperationException">Scopes were disposed out of order.</exception>
    public void Dispose()
    {
        if (_disposed) return;
        if (_current != this) throw new InvalidOperationException("TensorScope: scopes must be disposed innermost first (use 'using').");
        _disposed = true;
        _current = _parent;
        foreach (var t in _owned) t.Dispose();
        _owned.Clear();
    }
}
