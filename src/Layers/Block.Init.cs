namespace DeepSharp.Layers;

public abstract partial class Block
{
    private Device _device = Device.Cpu;
    private DType _dtype = DType.Float32;

    // Whether To(Device) or Initialize(device: …) chose the tree's device: then deferred parameters are created there, and a
    // batch on another device is refused before any is (PyTorch's lazy modules after model.to(device)).
    private bool _deviceChosen;

    /// <summary>Where parameters that get their data now are created: the chosen device, else the batch's.</summary>
    private Device Home(Device batch) => _deviceChosen ? _device : batch;

    /// <summary>
    /// Initializes the tree's parameters: those with known shapes get data now, on <paramref name="device"/>; deferred ones
    /// get <paramref name="init"/> recorded and applied when their shapes are known. With an initializer, it replaces each
    /// matched parameter's own; <paramref name="where"/> picks parameters by path (relative to this block). Parameters are
    /// visited in PyTorch's <c>apply</c> order (see <see cref="Apply"/>: each child's subtree in registration order, then the
    /// block's own parameters), each once; each draws from its own random stream (see <see cref="Init"/>).
    /// </summary>
    /// <returns>How many parameters the rule touched (0 means it matched nothing — usually a typo in <paramref name="where"/>).</returns>
    public int Initialize(IInitializer? init = null, Func<string, Parameter, bool>? where = null, Device? device = null)
    {
        CheckRegistration();
        if (device != null)
        {
            Place(device);
            foreach (var (_, b) in NamedBlocks()) (b._device, b._deviceChosen) = (device, true);
        }
        int touched = 0;
        foreach (var (path, p) in ParametersInApplyOrder())
        {
            if (where != null && !where(path, p)) continue;
            touched++;
            if (init != null) p.Reinitialize(init);
            if (!p.IsInitialized && !p.IsDeferred) p.Materialize(p.Shape, device ?? _device);
        }
        return touched;
    }

    /// <summary>Each distinct parameter once with its path, block by block in <see cref="Apply"/>'s order.</summary>
    private List<(string Path, Parameter Parameter)> ParametersInApplyOrder()
    {
        var paths = new Dictionary<Parameter, string>(ReferenceEqualityComparer.Instance);
        foreach (var (path, p) in NamedParameters()) paths.Add(p, path);
        var seen = new HashSet<Parameter>(ReferenceEqualityComparer.Instance);
        var list = new List<(string, Parameter)>();
        foreach (var b in PostOrder())
            foreach (var (_, p) in b._parameters)
                if (seen.Add(p)) list.Add((paths[p], p));
        return list;
    }

    /// <summary>
    /// Infers every deferred shape from a dry run on an empty batch of <paramref name="inputShape"/> — [batch, …]: its first
    /// dim is replaced by 0, so nothing is computed; a 1-D shape is one sample without a batch dim and is run as it is —
    /// and returns the parameters with their shapes.
    /// </summary>
    public IReadOnlyList<(string Path, int[] Shape)> Materialize(int[] inputShape, Device? device = null)
    {
        ArgumentNullException.ThrowIfNull(inputShape);
        var shape = (int[])inputShape.Clone();
        if (shape.Length > 1) shape[0] = 0;
        using (Autograd.NoGrad()) Call(Tensor.Zeros(shape, _dtype, device ?? _device));
        return NamedParameters().Select(p => (p.Path, p.Parameter.Shape)).ToList();
    }

    /// <summary>Gives a deferred parameter its data once <paramref name="shape"/> is known (call from <see cref="Forward"/>),
    /// on <paramref name="device"/>, the input's.</summary>
    /// <exception cref="DeviceMismatchException">The model was moved to another device with <see cref="To(Device)"/> (or
    /// <see cref="Initialize"/>'s device); nothing is created.</exception>
    protected void Materialize(Parameter parameter, int[] shape, Device device)
    {
        ArgumentNullException.ThrowIfNull(parameter);
        ArgumentNullException.ThrowIfNull(device);
        if (parameter.IsInitialized) return;
        if (_deviceChosen && device != _device)
            throw new DeviceMismatchException($"{GetType().Name}: the model was moved to {_device}, where parameter " +
                $"{parameter.Path} will be created, but the input is on {device}. Move the input with x.To(device); nothing " +
                "is copied silently.");
        parameter.Materialize(shape, device);
    }

    /// <summary>Fails before any launch when <paramref name="x"/> and <paramref name="parameter"/> are on different devices,
    /// naming the block and the parameter's path.</summary>
    /// <exception cref="DeviceMismatchException">The devices differ.</exception>
    protected void CheckDevice(Parameter parameter, Tensor x)
    {
        if (parameter.IsInitialized && parameter.Data.Device != x.Device)
            throw new DeviceMismatchException(
                $"{GetType().Name}: parameter {parameter.Path} is on {parameter.Data.Device}, input on {x.Device}. " +
                "Move the model with net.To(device) or the input with x.To(device); nothing is copied silently.");
    }

    private void InitializeKnown(Device device)
    {
        Place(device);
        foreach (var (_, p) in NamedParameters())
            if (!p.IsInitialized && !p.IsDeferred) p.Materialize(p.Shape, device);
    }

    /// <summary>A model that has no data yet lives where its first batch (or <see cref="Initialize"/>'s device) is: the
    /// parameters are created there, and the buffers made at construction (running statistics, on the CPU) follow them,
    /// once. After that, or after <see cref="To(Device)"/>, a batch on another device is a mismatch that layers report.</summary>
    private void Place(Device device)
    {
        if (!_placed && !NamedParameters().Any(p => p.Parameter.IsInitialized))
        {
            using var _ = TensorScope.Suspend();
            using var __ = Autograd.NoGrad();
            foreach (var (_, b) in NamedBlocks())
                foreach (var (_, t) in b._buffers) MoveInPlace(t, device);
        }
        foreach (var (_, b) in NamedBlocks()) b._placed = true;
    }

    // Whether the tree has been given a device: by a first call, To or Initialize (see InitializeKnown).
    private bool _placed;

    /// <summary>
    /// Moves every parameter and buffer to <paramref name="device"/> in place: the parameter and tensor objects stay the
    /// same, so ties and optimizer references survive. Deferred parameters will be created there.
    /// </summary>
    public Block To(Device device)
    {
        ArgumentNullException.ThrowIfNull(device);
        CheckRegistration();
        using var _ = TensorScope.Suspend();
        using var __ = Autograd.NoGrad();
        foreach (var (_, b) in NamedBlocks())
        {
            (b._device, b._deviceChosen) = (device, true);
            b._placed = true;
            foreach (var (_, t) in b._buffers) MoveInPlace(t, device);
        }
        foreach (var p in Parameters())
            if (p.IsInitialized) MoveInPlace(p.Data, device);
        return this;
    }

    /// <summary>
    /// Converts every parameter and floating-point buffer to <paramref name="dtype"/> in place (PyTorch's
    /// <c>model.double()</c>, <c>model.float()</c>, <c>model.bfloat16()</c>): the parameter and tensor objects stay the
    /// same, so ties and optimizer references survive (an optimizer's state follows at its next step); gradients are
    /// converted too, and deferred parameters will be created in it.
    /// <list type="bullet">
    /// <item>Float64: the model computes in double on every device, for exact checks (a float64 gradient check of a whole
    /// model).</item>
    /// <item>Float16 or BFloat16: weights held in half the memory; each op widens them to float32 and rounds its result to
    /// its inputs' dtype, and the optimizers keep float32 master weights (updated with the widened gradients, the
    /// parameter rounded from them once per step). To keep float32 weights and compute in 16 bits instead, use
    /// <c>Autocast.Enable</c>.</item>
    /// </list>
    /// </summary>
    /// <example><code>
    /// var net = new Sequential(new Dense(8), new Relu(), new Dense(1)).To(DType.Float64);
    /// var y = net.Call(Tensor.Randn([4, 3]).To(DType.Float64));   // float64 all the way
    /// </code></example>
    /// <exception cref="ArgumentException">dtype is not a floating-point dtype.</exception>
    public Block To(DType dtype)
    {
        if (!dtype.IsFloat())
            throw new ArgumentException($"Block.To: a model's dtype is Float32, Float64, Float16 or BFloat16, got {dtype.Name()}.",
                nameof(dtype));
        CheckRegistration();
        using var _ = TensorScope.Suspend();
        using var __ = Autograd.NoGrad();
        foreach (var (_, b) in NamedBlocks())
        {
            b._dtype = dtype;
            foreach (var (_, t) in b._buffers)
                if (t.DType.IsFloat()) ConvertInPlace(t, dtype);
        }
        foreach (var p in Parameters()) p.ConvertTo(dtype);
        return this;
    }

    /// <summary>Makes <paramref name="t"/> (if any) hold its elements as <paramref name="dtype"/>, keeping the tensor object.</summary>
    internal static void ConvertInPlace(Tensor? t, DType dtype)
    {
        if (t is null || t.DType == dtype) return;
        using var _ = TensorScope.Suspend();
        using var __ = Autograd.NoGrad();
        using var converted = t.To(dtype);
        t.SetData(converted);
    }

    /// <summary>Makes <paramref name="t"/> hold its elements on <paramref name="device"/>, keeping the tensor object. The
    /// copy's own hold on the new memory is released at once, so disposing t later frees it.</summary>
    private static void MoveInPlace(Tensor t, Device device)
    {
        if (t.Device == device) return;
        using var moved = t.To(device);
        t.SetData(moved);
    }
}

/// <summary>Extensions for initializers.</summary>
public static class InitializerExtensions
{
    /// <summary>Fills <paramref name="parameter"/> now if it has data, else records this initializer for when it gets data.</summary>
    public static void ApplyTo(this IInitializer init, Parameter parameter)
    {
        ArgumentNullException.ThrowIfNull(init);
        ArgumentNullException.ThrowIfNull(parameter);
        parameter.Reinitialize(init);
    }
}
