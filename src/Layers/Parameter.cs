using DeepSharp.Optim;

namespace DeepSharp.Layers;

/// <summary>
/// A trainable tensor of a block: its data (a leaf that requires grad), gradient, initializer and random stream. The
/// same <see cref="Parameter"/> object placed in two blocks is one parameter (tied weights). Its shape may have unknown
/// dims (-1) until the first batch shows them (deferred initialization). An optimizer can take parameters before they
/// have data: <c>new Sgd(net.Parameters(), lr: 0.1f)</c>.
/// </summary>
public sealed class Parameter : IParameter
{
    private Tensor? _data;
    private int[] _shape;
    private DType _dtype = DType.Float32;
    private readonly ulong _seed = Init.NextStreamSeed(); // see Init: one stream per parameter, taken at construction
    private ulong _round; // initializers applied so far: each draws from a round of its own

    /// <summary>A parameter holding <paramref name="data"/> itself (no copy, as <c>nn.Parameter(t)</c>): it becomes a leaf
    /// that requires grad. A strided view (a transpose, a slice) is copied to dense memory first, which the optimizers
    /// update in one pass.</summary>
    /// <exception cref="ArgumentNullException"><paramref name="data"/> is null.</exception>
    /// <exception cref="ArgumentException"><paramref name="data"/> is not floating-point.</exception>
    public Parameter(Tensor data, bool requiresGrad = true)
    {
        ArgumentNullException.ThrowIfNull(data);
        if (!data.DType.IsFloat())
            throw new ArgumentException($"Parameter: data must be floating-point (float32, float64, float16 or bfloat16), got " +
                $"{data.DType.Name()}; convert it with .To(DType.Float32).", nameof(data));
        _dtype = data.DType;
        if (!data.IsContiguous)
        {
            using var _ = TensorScope.Suspend();
            using var __ = Autograd.NoGrad();
            data = data.Contiguous();
        }
        else if (!data.IsLeaf) data = data.Detach();
        _data = data;
        _shape = data.Shape;
        data.RequiresGrad = requiresGrad;
        Initializer = Init.Zeros;
        RequiresGrad = requiresGrad;
    }

    /// <summary>A parameter of <paramref name="shape"/> (-1 marks a dim the first batch decides), filled by
    /// <paramref name="initializer"/> when the model is initialized.</summary>
    /// <exception cref="ArgumentNullException">An argument is null.</exception>
    /// <exception cref="ArgumentException">A dim is below -1, or the known dims hold more than 2^31 - 1 elements.</exception>
    public Parameter(int[] shape, IInitializer initializer, bool requiresGrad = true)
    {
        ArgumentNullException.ThrowIfNull(shape);
        ArgumentNullException.ThrowIfNull(initializer);
        if (shape.Any(d => d < -1))
            throw new ArgumentException($"Parameter: dims must be >= 0 or -1 (unknown), got {Layout.Format(shape)}.", nameof(shape));
        Layout.Numel(shape.Select(d => Math.Max(d, 0)).ToArray()); // the known dims alone must fit a tensor
        _shape = (int[])shape.Clone();
        Initializer = initializer;
        RequiresGrad = requiresGrad;
    }

    /// <summary>The shape; -1 for dims not known before the first batch.</summary>
    public int[] Shape => (int[])_shape.Clone();

    /// <summary>The data's dtype: float32 unless converted by <see cref="Block.To(DType)"/> (deferred parameters are
    /// created in it).</summary>
    public DType DType => _data?.DType ?? _dtype;

    /// <summary>Converts the data (and gradient) to <paramref name="dtype"/> in place, keeping the tensor object; data
    /// created later is created in it.</summary>
    internal void ConvertTo(DType dtype)
    {
        _dtype = dtype;
        Block.ConvertInPlace(_data, dtype);
    }

    /// <summary>True once the parameter has data (all dims known and initialized).</summary>
    public bool IsInitialized => _data != null;

    /// <summary>True while some dim is unknown (-1) until the first batch (deferred initialization).</summary>
    public bool IsDeferred => _data is null && _shape.Contains(-1);

    /// <summary>How the data is filled at initialization (and re-filled by <see cref="Block.Initialize"/>).</summary>
    public IInitializer Initializer { get; set => field = value ?? throw new ArgumentNullException(nameof(value)); }

    /// <summary>Whether the optimizer should train it (frozen parameters keep RequiresGrad false).</summary>
    public bool RequiresGrad { get; set { field = value; if (_data != null) _data.RequiresGrad = value; } } = true;

    /// <summary>Dotted path where this parameter was first registered (e.g. "0.weight"), for messages.</summary>
    public string Path { get; internal set; } = "";

    /// <summary>
    /// The values, as the tensor that takes part in computations (a leaf that requires grad). Assigning copies the
    /// assigned values into the parameter's own storage: the tensor object stays the same, so optimizers and ties follow,
    /// and the source stays independent (editing or training one never changes the other). A parameter without data yet
    /// gets a copy on the source's device, and a deferred one takes the source's shape.
    /// To edit the values in place, use <see cref="Values"/>.
    /// </summary>
    /// <exception cref="UninitializedParameterException">Read before the parameter has data.</exception>
    /// <exception cref="ArgumentException">Assigned a tensor whose shape does not fit or that is not floating-point (its
    /// values are converted to the parameter's dtype).</exception>
    public Tensor Data
    {
        get => _data ?? throw (_released ? Released() : new UninitializedParameterException(this));
        set
        {
            ArgumentNullException.ThrowIfNull(value);
            CheckFits(value);
            using var _ = Autograd.NoGrad();
            using var __ = TensorScope.Suspend(); // the parameter's data outlives any step's scope
            if (_data is null) Adopt(value.DType == _dtype ? value.Copy(value.Device) : value.Detach().To(_dtype));
            else if (value.Device == _data.Device) _data.CopyFrom(value);
            else
            {
                using var moved = value.To(_data.Device);
                _data.CopyFrom(moved);
            }
        }
    }

    /// <summary>
    /// The data as a tensor that does not record gradients and shares the parameter's storage — PyTorch's
    /// <c>param.data</c>: edit it in place freely, e.g. <c>p.Values.AddInPlace(1f)</c> or <c>p.Values[0, 0].FillInPlace(42f)</c>
    /// (the book's <c>net[0].weight.data[:] += 1</c>). Writes bump the storage's version, so a graph that saved the old
    /// values refuses to backward through them.
    /// </summary>
    /// <exception cref="UninitializedParameterException">The parameter has no data yet.</exception>
    public Tensor Values => Data.Detach();

    /// <summary>The gradient of the data after a backward (null before, and while uninitialized).</summary>
    public Tensor? Grad => _data?.Grad;

    /// <summary>The data, for use in tensor expressions (<c>x.MatMul(weight)</c>).</summary>
    /// <exception cref="ArgumentNullException"><paramref name="p"/> is null.</exception>
    public static implicit operator Tensor(Parameter p) => (p ?? throw new ArgumentNullException(nameof(p))).Data;

    private bool _released;

    /// <summary>Frees the data and its gradient (the model was disposed); later reads throw.</summary>
    internal void Release()
    {
        _released = true;
        if (_data is null) return;
        _data.Grad?.Dispose();
        _data.Grad = null;
        _data.Dispose();
        _data = null;
    }

    private ObjectDisposedException Released() =>
        new(nameof(Parameter), $"Parameter '{Path}' belongs to a model that was disposed; its memory was freed.");

    /// <summary>Creates the data with a now-known shape on <paramref name="device"/> and fills it from the initializer.</summary>
    internal void Materialize(int[] shape, Device device)
    {
        if (_released) throw Released();
        if (shape.Length != _shape.Length || shape.Where((d, i) => _shape[i] != -1 && _shape[i] != d).Any())
            throw new InvalidOperationException($"Parameter '{Path}': shape {Layout.Format(_shape)} cannot become {Layout.Format(shape)}.");
        using var _ = TensorScope.Suspend(); // the parameter's data outlives any step's scope
        var t = Tensor.Zeros(shape, _dtype, device);
        using (Autograd.NoGrad()) Initializer.Fill(t, new InitContext(Path, (int[])shape.Clone(), Stream()));
        Adopt(t);
    }

    /// <summary>Makes <paramref name="init"/> this parameter's initializer and applies it in the next round of its stream:
    /// now if it has data, else when it gets its data.</summary>
    internal void Reinitialize(IInitializer init)
    {
        Initializer = init;
        _round++;
        if (_data is null) return;
        using (Autograd.NoGrad()) init.Fill(_data, new InitContext(Path, Shape, Stream()));
    }

    private Generator Stream() => new(Init.Mix(_seed, _round));

    private void CheckFits(Tensor t)
    {
        if (!t.DType.IsFloat())
            throw new ArgumentException(
                $"Parameter '{Path}': data must be floating-point, got {t.DType.Name()}; convert it with .To(DType.Float32).");
        var shape = t.Shape;
        if (shape.Length != _shape.Length || _shape.Where((d, i) => d != -1 && d != shape[i]).Any())
            throw new ArgumentException(
                $"Parameter '{Path}': data of shape {Layout.Format(shape)} does not fit its shape {Layout.Format(_shape)}" +
                (shape.Length != _shape.Length ? $" (rank {shape.Length}, expected {_shape.Length})." : "."));
    }

    /// <summary>Takes <paramref name="t"/> (a tensor nothing else holds) as the data.</summary>
    private void Adopt(Tensor t)
    {
        CheckFits(t);
        _data = t.IsLeaf && t.IsContiguous ? t : t.Contiguous().Detach();
        _shape = _data.Shape;
        _data.RequiresGrad = RequiresGrad;
    }

    /// <inheritdoc/>
    public override string ToString() =>
        $"Parameter({Path}, shape {Layout.Format(_shape)}{(IsInitialized ? $", {_data!.Device}" : ", uninitialized")})";
}

/// <summary>A parameter was used before it had data. Nothing was changed.</summary>
public sealed class UninitializedParameterException(Parameter p) : InvalidOperationException(Describe(p))
{
    /// <summary>The parameter.</summary>
    public Parameter Parameter { get; } = p;

    private static string Describe(Parameter p)
    {
        var name = p.Path.Length > 0 ? $"'{p.Path}'" : "(not registered in any block)";
        return p.IsDeferred
            ? $"Parameter {name} has no data yet: its shape {Layout.Format(p.Shape)} has dims (-1) that the first batch decides " +
              "(deferred initialization). Run one batch through the model first (net.Call(x)), call net.Materialize(inputShape), " +
              "or give the layer its input size when you create it."
            : $"Parameter {name} of shape {Layout.Format(p.Shape)} has no data yet: parameters get their data when the model they are " +
              "registered in is first called or initialized. Call net.Initialize() (or run a batch) on the model, and check that the " +
              "block holding it is registered in its parent with Register(\"name\", block).";
    }
}
