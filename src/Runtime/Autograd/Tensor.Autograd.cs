using DeepSharp.Ops;

namespace DeepSharp;

public sealed partial class Tensor
{
    private bool _requiresGrad;

    /// <summary>
    /// Whether gradients flow to this tensor. Settable on leaves (tensors not computed by a recorded op), float dtypes
    /// only; a result of an op on such tensors requires grad automatically.
    /// </summary>
    /// <exception cref="InvalidOperationException">Set on a non-leaf, or true on an integer tensor.</exception>
    public bool RequiresGrad
    {
        get => _requiresGrad;
        set
        {
            if (Node != null)
                throw new InvalidOperationException(
                    $"RequiresGrad can only be changed on leaf tensors; this one was computed by {Node.Op}. Use Detach() to get a leaf.");
            if (value && !DType.IsFloat())
                throw new InvalidOperationException($"Only float tensors can require gradients; this one is {DType.Name()}.");
            _requiresGrad = value;
        }
    }

    /// <summary>The accumulated gradient of a leaf: null before the first backward, then summed over backward calls until reset.</summary>
    public Tensor? Grad { get; set; }

    /// <summary>True for tensors not produced by a recorded op (user-created tensors, parameters, detached tensors).</summary>
    public bool IsLeaf => Node is null;

    /// <summary>Name of the op that produced this tensor (null for leaves), e.g. "MatMul".</summary>
    public string? GradFn => Node?.Op;

    internal Node? Node { get; private set; }

    internal void SetNode(Node node) { Node = node; _requiresGrad = true; }

    /// <summary>Counts in-place writes to the storage; the graph uses it to refuse stale saved tensors.</summary>
    public int Version => _storage.Version;

    /// <summary>Chainable form of setting <see cref="RequiresGrad"/>: <c>var w = Tensor.Randn([3, 2]).RequiresGradient();</c>.</summary>
    public Tensor RequiresGradient(bool requires = true) { RequiresGrad = requires; return this; }

    /// <summary>The same elements as a new leaf that does not require grad (shares storage; no copy).</summary>
    public Tensor Detach() => WithLayout(Layout);

    /// <summary>
    /// Computes gradients of this tensor with respect to every leaf that requires grad, adding them into their
    /// <see cref="Grad"/>. A scalar needs no <paramref name="gradient"/>; otherwise pass dL/dthis with this shape.
    /// The graph's saved tensors are freed afterwards unless <paramref name="retainGraph"/>.
    /// </summary>
    /// <exception cref="InvalidOperationException">This tensor does not require grad, is not a scalar and no gradient was
    /// given, the graph was already freed, or a saved tensor was modified in place.</exception>
    public void Backward(Tensor? gradient = null, bool retainGraph = false)
    {
        if (!RequiresGrad)
            throw new InvalidOperationException(
                "Backward: this tensor does not require grad and has no recorded graph. Set RequiresGrad on the " +
                "leaves before computing with them (and not inside Autograd.NoGrad()).");
        if (gradient is null && Count != 1)
            throw new InvalidOperationException(
                $"Backward: this tensor has shape {Layout.Format(Layout.ShapeArray)}; only a one-element tensor " +
                "can start backward without an explicit gradient. Pass Backward(gradient) with the same shape, " +
                "or reduce it first (e.g. Sum()).");
        if (gradient != null)
        {
            Check.SameDevice(nameof(Backward), this, "this", gradient, "gradient");
            if (!gradient.Layout.ShapeArray.SequenceEqual(Layout.ShapeArray))
                throw new ArgumentException(
                    $"Backward: the gradient has shape {Layout.Format(gradient.Layout.ShapeArray)} but this tensor has " +
                    $"{Layout.Format(Layout.ShapeArray)}.");
        }
        var g = gradient ?? (Rank == 0 && DType == DType.Float32 ? One(Device) : Full(Shape, 1, DType, Device));
        if (Node is null) { AccumulateGrad(g); return; }
        Autograd.Backward(this, g, retainGraph);
    }

    /// <summary>Adds g to <see cref="Grad"/>; a <paramref name="fresh"/> g (see Autograd) becomes the gradient without a copy.</summary>
    internal void AccumulateGrad(Tensor g, bool fresh = false)
    {
        using var _ = TensorScope.Suspend(); // gradients outlive the step's scope
        if (Grad is null) Grad = fresh ? g.WithLayout(g.Layout) : g.Dense(copy: true);
        else Grad.InPlace("AccumulateGrad", g, new AddOp());
    }

    private static readonly System.Collections.Concurrent.ConcurrentDictionary<Device, Tensor> _ones = new();

    /// <summary>A scalar 1 per device, made once: the seed of Backward() (rules never write to their incoming gradient).</summary>
    private static Tensor One(Device device) => _ones.GetOrAdd(device, d =>
    {
        using var _ = TensorScope.Suspend();
        return Full([], 1, DType.Float32, d);
    });
}
