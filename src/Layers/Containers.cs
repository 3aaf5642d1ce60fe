using System.Collections;
using System.Diagnostics.CodeAnalysis;
using System.Globalization;

namespace DeepSharp.Layers;

/// <summary>
/// A registered list of blocks (PyTorch's <c>nn.ModuleList</c>): its blocks are children named "0", "1", …, so they are in
/// the model's parameters, state dict, device moves and checkpoints. It has no Forward of its own: iterate it in your
/// block's Forward (<c>foreach (var layer in _layers) x = layer.Call(x);</c>).
/// </summary>
public sealed class BlockList : Block, IReadOnlyList<Block>
{
    /// <summary>A list holding <paramref name="blocks"/> (add more with <see cref="Add"/>).</summary>
    public BlockList(params IEnumerable<Block> blocks)
    {
        ArgumentNullException.ThrowIfNull(blocks);
        foreach (var b in blocks) Add(b);
    }

    /// <summary>Appends a block (named by its position) and returns this list.</summary>
    public BlockList Add(Block block)
    {
        AddChild(block);
        return this;
    }

    /// <summary>Number of blocks.</summary>
    public int Count => Children().Count();

    /// <inheritdoc/>
    public IEnumerator<Block> GetEnumerator() => Children().GetEnumerator();
    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();

    /// <summary>A list has no computation of its own.</summary>
    /// <exception cref="NotSupportedException">Always: call its blocks instead.</exception>
    protected override Tensor Forward(Tensor x) => throw NoForward(this);

    internal static NotSupportedException NoForward(Block b) => new(
        $"{b.GetType().Name} is a container of registered blocks or parameters and has no Forward: use its items in your own block's " +
            "Forward.");
}

/// <summary>
/// A registered dictionary of blocks (PyTorch's <c>nn.ModuleDict</c>): each block is a child under its key, in insertion
/// order. It has no Forward of its own.
/// </summary>
public sealed class BlockDict : Block, IReadOnlyDictionary<string, Block>
{
    /// <summary>A dictionary holding <paramref name="blocks"/> (add more with <see cref="Add"/>).</summary>
    /// <exception cref="ArgumentException">A key is empty, contains '.', or repeats.</exception>
    public BlockDict(IEnumerable<KeyValuePair<string, Block>>? blocks = null)
    {
        foreach (var (k, v) in blocks ?? []) Add(k, v);
    }

    /// <summary>Registers <paramref name="block"/> under <paramref name="key"/> and returns this dictionary.</summary>
    /// <exception cref="ArgumentException">The key is empty, contains '.', or is taken.</exception>
    public BlockDict Add(string key, Block block)
    {
        ArgumentNullException.ThrowIfNull(key);
        Register(key, block);
        return this;
    }

    /// <inheritdoc/>
    public int Count => Children().Count();
    /// <inheritdoc/>
    public IEnumerable<string> Keys => NamedChildren().Select(c => c.Name);
    /// <inheritdoc/>
    public IEnumerable<Block> Values => Children();
    /// <inheritdoc/>
    public bool ContainsKey(string key) => TryGetValue(key, out _);

    /// <inheritdoc/>
    public bool TryGetValue(string key, [MaybeNullWhen(false)] out Block value)
    {
        ArgumentNullException.ThrowIfNull(key);
        value = NamedChildren().FirstOrDefault(c => c.Name == key).Block;
        return value is not null;
    }

    /// <inheritdoc/>
    public IEnumerator<KeyValuePair<string, Block>> GetEnumerator() =>
        NamedChildren().Select(c => new KeyValuePair<string, Block>(c.Name, c.Block)).GetEnumerator();
    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();

    /// <summary>A dictionary has no computation of its own.</summary>
    /// <exception cref="NotSupportedException">Always: call its blocks instead.</exception>
    protected override Tensor Forward(Tensor x) => throw BlockList.NoForward(this);
}

/// <summary>
/// A registered list of parameters (PyTorch's <c>nn.ParameterList</c>), named "0", "1", …: trained, saved and moved with
/// the model. It has no Forward of its own.
/// </summary>
public sealed class ParameterList : Block, IReadOnlyList<Parameter>
{
    private readonly List<Parameter> _items = new();

    /// <summary>A list holding <paramref name="parameters"/> (add more with <see cref="Add"/>).</summary>
    public ParameterList(params IEnumerable<Parameter> parameters)
    {
        ArgumentNullException.ThrowIfNull(parameters);
        foreach (var p in parameters) Add(p);
    }

    /// <summary>Appends a parameter (named by its position) and returns this list.</summary>
    public ParameterList Add(Parameter parameter)
    {
        _items.Add(Register(_items.Count.ToString(CultureInfo.InvariantCulture), parameter));
        return this;
    }

    /// <summary>Parameter number <paramref name="index"/> (negative counts from the end).</summary>
    /// <exception cref="ArgumentOutOfRangeException">No such parameter.</exception>
    public new Parameter this[int index] =>
        index >= -_items.Count && index < _items.Count ? _items[index < 0 ? index + _items.Count : index]
        : throw new ArgumentOutOfRangeException(nameof(index),
            $"ParameterList has {_items.Count} parameters; index {index} is out of range.");

    /// <summary>Number of parameters.</summary>
    public int Count => _items.Count;

    /// <inheritdoc/>
    public IEnumerator<Parameter> GetEnumerator() => _items.GetEnumerator();
    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();

    /// <summary>A list has no computation of its own.</summary>
    /// <exception cref="NotSupportedException">Always: use its parameters instead.</exception>
    protected override Tensor Forward(Tensor x) => throw BlockList.NoForward(this);
}

/// <summary>
/// A registered dictionary of parameters (PyTorch's <c>nn.ParameterDict</c>), in insertion order: trained, saved and moved
/// with the model. It has no Forward of its own.
/// </summary>
public sealed class ParameterDict : Block, IReadOnlyDictionary<string, Parameter>
{
    private readonly List<(string Key, Parameter Value)> _items = new();

    /// <summary>A dictionary holding <paramref name="parameters"/> (add more with <see cref="Add"/>).</summary>
    /// <exception cref="ArgumentException">A key is empty, contains '.', or repeats.</exception>
    public ParameterDict(IEnumerable<KeyValuePair<string, Parameter>>? parameters = null)
    {
        foreach (var (k, v) in parameters ?? []) Add(k, v);
    }

    /// <summary>Registers <paramref name="parameter"/> under <paramref name="key"/> and returns this dictionary.</summary>
    /// <exception cref="ArgumentException">The key is empty, contains '.', or is taken.</exception>
    public ParameterDict Add(string key, Parameter parameter)
    {
        ArgumentNullException.ThrowIfNull(key);
        _items.Add((key, Register(key, parameter)));
        return this;
    }

    /// <summary>The parameter under <paramref name="key"/>.</summary>
    /// <exception cref="KeyNotFoundException">No such key; the message lists the keys.</exception>
    public new Parameter this[string key] => TryGetValue(key, out var p) ? p
        : throw new KeyNotFoundException($"ParameterDict has no key '{key}'; its keys are: {string.Join(", ", Keys)}.");

    /// <inheritdoc/>
    public int Count => _items.Count;
    /// <inheritdoc/>
    public IEnumerable<string> Keys => _items.Select(x => x.Key);
    /// <inheritdoc/>
    public IEnumerable<Parameter> Values => _items.Select(x => x.Value);
    /// <inheritdoc/>
    public bool ContainsKey(string key) => TryGetValue(key, out _);

    /// <inheritdoc/>
    public bool TryGetValue(string key, [MaybeNullWhen(false)] out Parameter value)
    {
        ArgumentNullException.ThrowIfNull(key);
        value = _items.Find(x => x.Key == key).Value;
        return value is not null;
    }

    /// <inheritdoc/>
    public IEnumerator<KeyValuePair<string, Parameter>> GetEnumerator() =>
        _items.Select(x => new KeyValuePair<string, Parameter>(x.Key, x.Value)).GetEnumerator();
    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();

    /// <summary>A dictionary has no computation of its own.</summary>
    /// <exception cref="NotSupportedException">Always: use its parameters instead.</exception>
    protected override Tensor Forward(Tensor x) => throw BlockList.NoForward(this);
}
