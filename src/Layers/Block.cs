namespace DeepSharp.Layers;

/// <summary>
/// A layer, a group of layers or a whole model. Subclasses register their children, parameters and buffers in the
/// constructor and implement <see cref="Forward"/>, which may use any C# control flow. Run a block with
/// <see cref="Call"/> (C# has no <c>__call__</c>): <c>var y = net.Call(x);</c>.
/// </summary>
public abstract partial class Block : IDisposable
{
    private readonly List<(string Name, Block Block)> _children = new();
    private readonly List<(string Name, Parameter Parameter)> _parameters = new();
    private readonly List<(string Name, Tensor Tensor)> _buffers = new();
    [ThreadStatic] private static Block? _root;

    /// <summary>The computation: input → output. Called through <see cref="Call"/>; never call it directly.</summary>
    protected abstract Tensor Forward(Tensor x);

    /// <summary>
    /// Runs the block: on the outermost call, checks that every child and parameter held in a field is registered and
    /// initializes parameters whose shapes are known; then runs <see cref="Forward"/>, where deferred parameters learn
    /// their shapes.
    /// </summary>
    /// <exception cref="UnregisteredStateException">A field holds a block, parameter or tensor that is not registered.</exception>
    /// <exception cref="NotSupportedException">This block takes something other than one tensor (a
    /// <see cref="Block{TInput, TOutput}"/>): call its own <c>Call</c>.</exception>
    public Tensor Call(Tensor x)
    {
        ArgumentNullException.ThrowIfNull(x);
        return Invoke(x, x.Device, static (b, x) => b.Forward(x));
    }

    /// <summary>What every <c>Call</c> does around a forward: the outermost call prepares the tree (registration check,
    /// known shapes initialized on <paramref name="device"/>, else the model's device); a nested call prepares this block's
    /// own parameters; <see cref="Summary(int[], Device?)"/> records the output's shapes.</summary>
    private protected TOutput Invoke<TInput, TOutput>(TInput input, Device? device, Func<Block, TInput, TOutput> forward)
    {
        if (_root != null)
        {
            if (!_ownReady) PrepareOwn(Home(device ?? _device));
            return Recorded(forward(this, input));
        }
        _root = this;
        try
        {
            PrepareRoot(Home(device ?? _device));
            return Recorded(forward(this, input));
        }
        finally { _root = null; }
    }

    /// <summary>Whether the block takes one tensor and returns one (every <see cref="Block"/> but a
    /// <see cref="Block{TInput, TOutput}"/> of other types), so <see cref="Sequential"/> can chain it.</summary>
    internal virtual bool TakesOneTensor => true;

    // True once every own parameter has data. A block called inside another's Forward without being part of its tree (one
    // made on the fly) gets its known-shape parameters here rather than failing later on a missing bias.
    private bool _ownReady;

    private void PrepareOwn(Device device)
    {
        foreach (var (_, p) in _parameters)
            if (!p.IsInitialized && !p.IsDeferred) p.Materialize(p.Shape, device);
        _ownReady = _parameters.TrueForAll(p => p.Parameter.IsInitialized);
    }

    private TOutput Recorded<TOutput>(TOutput y)
    {
        if (_recorder != null) Record(this, y);
        return y;
    }

    /// <summary>Registers a child block under <paramref name="name"/> and returns it
    /// (<c>_out = Register("out", new Dense(10));</c>).</summary>
    /// <exception cref="ArgumentException">The name is empty, contains '.', or is taken.</exception>
    protected T Register<T>(string name, T block) where T : Block
    {
        ArgumentNullException.ThrowIfNull(block);
        // A model is a tree (shared blocks allowed): a block inside its own subtree would make every walk endless.
        if (block.NamedBlocks().Any(b => ReferenceEquals(b.Block, this)))
            throw new ArgumentException($"{GetType().Name}: registering the {block.GetType().Name} '{name}' would put this block inside " +
                "itself (it is already in that block's tree); a model must be a tree.", nameof(block));
        CheckName(name);
        _children.Add((name, block));
        return block;
    }

    /// <summary>Registers a parameter under <paramref name="name"/> and returns it. Registering one parameter in two blocks ties
    /// them.</summary>
    protected Parameter Register(string name, Parameter parameter)
    {
        ArgumentNullException.ThrowIfNull(parameter);
        CheckName(name);
        _ownReady = false;
        if (parameter.Path.Length == 0) parameter.Path = name;
        _parameters.Add((name, parameter));
        return parameter;
    }

    /// <summary>Registers non-trainable state (a constant weight, running statistics): moved and saved with the model, never
    /// trained.</summary>
    protected Tensor RegisterBuffer(string name, Tensor tensor)
    {
        ArgumentNullException.ThrowIfNull(tensor);
        CheckName(name);
        var t = tensor.IsLeaf && !tensor.RequiresGrad ? tensor : tensor.Detach();
        _buffers.Add((name, t));
        return t;
    }

    /// <summary>Adds a child under the next free numeric name (for sequential containers).</summary>
    /// <exception cref="ArgumentException">A block added under a name already uses this position's number as its name.</exception>
    protected void AddChild(Block block)
    {
        var name = _children.Count.ToString(System.Globalization.CultureInfo.InvariantCulture);
        if (_children.Any(c => c.Name == name))
            throw new ArgumentException($"{GetType().Name}: the next block would be named '{name}' (its position), but a block added " +
                $"with a name already uses '{name}'; give this block a name too: Add(\"name\", block).", nameof(block));
        Register(name, block);
    }

    private void CheckName(string name)
    {
        Interlocked.Increment(ref _structureVersion); // every registration passes here: cached tree checks start over
        ArgumentNullException.ThrowIfNull(name);
        if (string.IsNullOrEmpty(name) || name.Contains('.'))
            throw new ArgumentException($"{GetType().Name}: '{name}' is not a valid name (non-empty, no '.').", nameof(name));
        if (!IsWellFormed(name))
            throw new ArgumentException(
                $"{GetType().Name}: the name '{Escape(name)}' is not well-formed UTF-16 (it has an unpaired surrogate), " +
                "so it could not be saved in a checkpoint; use another name.", nameof(name));
        if (_children.Any(c => c.Name == name) || _parameters.Any(p => p.Name == name) || _buffers.Any(b => b.Name == name))
            throw new ArgumentException($"{GetType().Name}: the name '{name}' is already registered.", nameof(name));
    }

    private static bool IsWellFormed(string s)
    {
        for (int i = 0; i < s.Length; i++)
        {
            if (char.IsHighSurrogate(s[i]) && i + 1 < s.Length && char.IsLowSurrogate(s[i + 1])) { i++; continue; }
            if (char.IsSurrogate(s[i])) return false;
        }
        return true;
    }

    private static string Escape(string s) => string.Concat(s.Select(c => char.IsSurrogate(c) ? $"\\u{(int)c:X4}" : c.ToString()));

    /// <summary>The direct children with their names, in registration order.</summary>
    public IEnumerable<(string Name, Block Block)> NamedChildren() => _children;

    /// <summary>The direct children, in registration order.</summary>
    public IEnumerable<Block> Children() => _children.Select(c => c.Block);

    /// <summary>Direct child number <paramref name="index"/> (negative counts from the end): <c>net[0][1]</c>.</summary>
    /// <exception cref="ArgumentOutOfRangeException">No such child.</exception>
    public Block this[int index]
    {
        get
        {
            int i = index < 0 ? index + _children.Count : index;
            if (i < 0 || i >= _children.Count)
                throw new ArgumentOutOfRangeException(nameof(index),
                    $"{GetType().Name} has {_children.Count} children; index {index} is out of range.");
            return _children[i].Block;
        }
    }

    /// <summary>Direct child called <paramref name="name"/>.</summary>
    /// <exception cref="KeyNotFoundException">No such child.</exception>
    public Block this[string name] => _children.FirstOrDefault(c => c.Name == (name ?? throw new ArgumentNullException(nameof(name)))).Block
        ?? throw new KeyNotFoundException(
            $"{GetType().Name} has no child '{name}'; its children are: {string.Join(", ", _children.Select(c => c.Name))}.");

    /// <summary>This block's own parameters (not its children's), in registration order.</summary>
    protected IEnumerable<(string Name, Parameter Parameter)> OwnParameters => _parameters;

    /// <summary>This block's own buffers.</summary>
    protected IEnumerable<(string Name, Tensor Tensor)> OwnBuffers => _buffers;

    internal static Block? CurrentRoot => _root;

    /// <summary>
    /// Frees the memory of every parameter, gradient and buffer in the tree at once (device memory returns to its pool)
    /// instead of waiting for the GC. The model cannot be used afterwards: its parameters throw
    /// <see cref="ObjectDisposedException"/>. Blocks shared with another model are freed too.
    /// </summary>
    public void Dispose()
    {
        Dispose(disposing: true);
        GC.SuppressFinalize(this);
    }

    /// <summary>Frees the tree's tensors; override to free more, and call the base.</summary>
    protected virtual void Dispose(bool disposing)
    {
        if (!disposing) return;
        foreach (var (_, b) in NamedBlocks())
        {
            foreach (var (_, p) in b._parameters) p.Release();
            foreach (var (_, t) in b._buffers) t.Dispose();
        }
    }
}
