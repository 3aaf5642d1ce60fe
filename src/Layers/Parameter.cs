namespace DeepSharp.Layers;

/// <summary>
/// A trainable tensor of a block: its data (a leaf that requires grad), gradient, and initializer. The same
/// <see cref="Parameter"/> object placed in two blocks is one parameter (tied weights). Its shape may have unknown
/// dims (-1) until the first batch shows them (deferred initialization).
/// </summary>
public sealed class Parameter
{
    private Tensor? _data;
    private int[] _shape;

    /// <summary>A parameter holding <paramref name="data"/> (used as is: it becomes a leaf that requires grad).</summary>
    public Parameter(Tensor data, bool requiresGrad = true)
    {
        if (!data.IsLeaf) data = data.Detach();
        _data = data;
        _shape = data.Shape;
        data.RequiresGrad = requiresGrad;
        Initializer = Init.Zeros;
    }

    /// <summary>A parameter of <paramref name="shape"/> (-1 marks a dim the first batch decides), filled by
    /// <paramref name="initializer"/> when the model is initialized.</summary>
    public Parameter(int[] shape, IInitializer initializer, bool requiresGrad = true)
    {
        if (shape.Any(d => d < -1)) throw new ArgumentException($"Parameter: dims must be >= 0 or -1 (unknown), got {Layout.Format(shape)}.");
        _shape = (int[])shape.Clone();
        Initializer = initializer;
        RequiresGrad = requiresGrad;
    }

    /// <summary>The shape; -1 for dims not known before the first batch.</summary>
    public int[] Shape => (int[])_shape.Clone();

    /// <summary>True once the parameter has data (all dims known and initialized).</summary>
    public bool IsInitialized => _data != null;

    /// <summary>How the data is filled at initialization (and re-filled by <see cref="Block.Initialize"/>).</summary>
    public IInitializer Initializer { get; set; }

    /// <summary>Whether the optimizer should train it (frozen parameters keep RequiresGrad false).</summary>
    public bool RequiresGrad { get; set { field = value; if (_data != null) _data.RequiresGrad = value; } } = true;

    /// <summary>Dotted path where this parameter was first registered (e.g. "0.weight"), for messages.</summary>
    public string Path { get; internal set; } = "";

    /// <summary>
    /// The values. Assigning replaces them in place (the tensor object stays the same, so optimizers and ties follow);
    /// the new data must have this parameter's shape.
    /// </summary>
    /// <exception cref="UninitializedParameterException">Read before the shape is known and the model initialized.</exception>
    public Tensor Data
    {
        get => _data ?? throw new UninitializedParameterException(this);
        set
        {
            if (_data is null) { Adopt(value); return; }
            if (!value.Layout.Shape.SequenceEqual(_data.Layout.Shape))
                throw new ArgumentException($"Parameter '{Path}': new data has shape {Layout.Format(value.Layout.Shape)} but the parameter has {Layout.Format(_data.Layout.Shape)}.");
            // SetData takes the storage and layout only (no history); a dense copy made here is released after it.
            var dense = value.Contiguous();
            _data.SetData(dense);
            if (!ReferenceEquals(dense, value)) dense.Dispose();
        }
    }

    /// <summary>The gradient of the data after a backward (null before, and while uninitialized).</summary>
    public Tensor? Grad => _data?.Grad;

    /// <summary>The data, for use in tensor expressions (<c>x.MatMul(weight)</c>).</summary>
    public static implicit operator Tensor(Parameter p) => p.Data;

    /// <summary>Creates the data with a now-known shape and fills it with the initializer's stream for <paramref name="seed"/>.</summary>
    internal void Materialize(int[] shape, Device device, ulong seed)
    {
        if (shape.Length != _shape.Length || shape.Where((d, i) => _shape[i] != -1 && _shape[i] != d).Any())
            throw new InvalidOperationException($"Parameter '{Path}': shape {Layout.Format(_shape)} cannot become {Layout.Format(shape)}.");
        _shape = (int[])shape.Clone();
        var t = Tensor.Zeros(_shape, DType.Float32, device);
        using (Autograd.NoGrad()) Initializer.Fill(t, new InitContext(Path, _shape, new Generator(seed)));
        Adopt(t);
    }

    /// <summary>Re-fills existing data with the initializer.</summary>
    internal void Refill(IInitializer init, ulong seed)
    {
        using (Autograd.NoGrad()) init.Fill(Data, new InitContext(Path, _shape, new Generator(seed)));
    }

    private void Adopt(Tensor t)
    {
        if (!_shape.Select((d, i) => d == -1 || d == t.Layout.Shape[i]).All(ok => ok) || _shape.Length != t.Rank)
            throw new ArgumentException($"Parameter '{Path}': data of shape {Layout.Format(t.Layout.Shape)} does not fit {Layout.Format(_shape)}.");
        using var _ = TensorScope.Suspend();
        _data = t.IsLeaf && t.IsContiguous ? t : t.Contiguous().Detach();
        _shape = _data.Shape;
        _data.RequiresGrad = RequiresGrad;
    }

    /// <inheritdoc/>
    public override string ToString() => $"Parameter({Path}, shape {Layout.Format(_shape)}{(IsInitialized ? $", {_data!.Device}" : ", uninitialized")})";
}

/// <summary>A parameter was used before its shape was known. Nothing was changed.</summary>
public sealed class UninitializedParameterException(Parameter p) : InvalidOperationException(
    $"Parameter '{p.Path}' has no data yet: its shape {Layout.Format(p.Shape)} has dims (-1) that the first batch decides (deferred initialization). " +
    "Run one batch through the model first (net.Call(x)), call net.Materialize(inputShape), or give the layer its input size when you create it.")
{
    /// <summary>The parameter.</summary>
    public Parameter Parameter { get; } = p;
}
