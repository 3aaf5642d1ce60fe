using System.Collections;
using System.Diagnostics.CodeAnalysis;
using System.Runtime.CompilerServices;

namespace DeepSharp.IO;

/// <summary>
/// A dictionary (insertion-ordered) in a checkpoint tree. A loaded one keeps its entries in one array: an
/// <see cref="OrderedDictionary{TKey, TValue}"/> costs over 200 bytes even for one entry, which a file encodes in five,
/// so a file of many small dictionaries would cost 40 times its size. <see cref="CheckpointValue.AsDict"/> reads the
/// entries as they are; <see cref="Entries"/> builds the dictionary on first use, and from then on both see its changes.
/// </summary>
public sealed record DictValue : CheckpointValue
{
    private OrderedDictionary<string, CheckpointValue>? _entries;
    private readonly KeyValuePair<string, CheckpointValue>[] _loaded = [];
    // Key → position in _loaded, for lookups in a loaded dictionary of more than LinearLookup entries.
    private Dictionary<string, int>? _index;
    /// <summary>Loaded dictionaries up to this size are searched in order, without an index.</summary>
    internal const int LinearLookup = 8;

    /// <summary>A dictionary holding <paramref name="Entries"/> (not copied: later changes to it are seen).</summary>
    /// <exception cref="ArgumentNullException"><paramref name="Entries"/> is null.</exception>
    public DictValue(OrderedDictionary<string, CheckpointValue> Entries) =>
        _entries = Entries ?? throw new ArgumentNullException(nameof(Entries));

    /// <summary>A loaded dictionary: unique keys, in file order; <paramref name="index"/> maps them to positions (or is
    /// null for a small one).</summary>
    internal DictValue(KeyValuePair<string, CheckpointValue>[] loaded, Dictionary<string, int>? index) { _loaded = loaded; _index = index; }

    /// <summary>The entries, in order, as a mutable dictionary (for a loaded one, built on first use).</summary>
    public OrderedDictionary<string, CheckpointValue> Entries
    {
        get => _entries ?? Build();
        init => _entries = value ?? throw new ArgumentNullException(nameof(value));
    }

    /// <summary>Deconstructs into <see cref="Entries"/>.</summary>
    public void Deconstruct(out OrderedDictionary<string, CheckpointValue> Entries) => Entries = this.Entries;

    /// <summary>The entries read in place: the dictionary once <see cref="Entries"/> was built, else the loaded array.</summary>
    internal IReadOnlyDictionary<string, CheckpointValue> View =>
        _entries ?? (IReadOnlyDictionary<string, CheckpointValue>)new LoadedView(this);

    /// <summary>Equal when both hold the same entries object (as for any record holding a dictionary).</summary>
    public bool Equals(DictValue? other) =>
        ReferenceEquals(this, other)
        || other is not null && ReferenceEquals(_entries, other._entries) && ReferenceEquals(_loaded, other._loaded);

    /// <inheritdoc/>
    public override int GetHashCode() =>
        HashCode.Combine(RuntimeHelpers.GetHashCode(_entries), RuntimeHelpers.GetHashCode(_loaded));

    /// <summary>Prints the count, without building the dictionary.</summary>
    protected override bool PrintMembers(System.Text.StringBuilder builder)
    {
        builder.Append("Count = ").Append(View.Count);
        return true;
    }

    private OrderedDictionary<string, CheckpointValue> Build()
    {
        var d = new OrderedDictionary<string, CheckpointValue>(_loaded.Length);
        foreach (var (k, v) in _loaded) d.Add(k, v);
        return Interlocked.CompareExchange(ref _entries, d, null) ?? d;
    }

    /// <summary>Where <paramref name="key"/> sits in the loaded array, or -1.</summary>
    private int Find(string key)
    {
        ArgumentNullException.ThrowIfNull(key);
        if (_loaded.Length > LinearLookup)
        {
            if (_index == null)
            {
                var index = new Dictionary<string, int>(_loaded.Length);
                for (int i = 0; i < _loaded.Length; i++) index.Add(_loaded[i].Key, i);
                Interlocked.CompareExchange(ref _index, index, null);
            }
            return _index!.TryGetValue(key, out int at) ? at : -1;
        }
        for (int i = 0; i < _loaded.Length; i++) if (_loaded[i].Key == key) return i;
        return -1;
    }

    /// <summary>A loaded dictionary read in place; once <see cref="Entries"/> exists every call goes to it, so a view taken
    /// earlier sees later changes.</summary>
    private sealed class LoadedView(DictValue owner) : IReadOnlyDictionary<string, CheckpointValue>
    {
        private IReadOnlyDictionary<string, CheckpointValue>? Built => owner._entries;

        public int Count => Built?.Count ?? owner._loaded.Length;

        public CheckpointValue this[string key] => TryGetValue(key, out var v) ? v
            : throw new KeyNotFoundException($"The checkpoint dictionary has no key {CheckpointLimits.Show(key)}.");

        public IEnumerable<string> Keys => Built?.Keys ?? owner._loaded.Select(p => p.Key);

        public IEnumerable<CheckpointValue> Values => Built?.Values ?? owner._loaded.Select(p => p.Value);

        public bool ContainsKey(string key) => Built?.ContainsKey(key) ?? owner.Find(key) >= 0;

        public bool TryGetValue(string key, [MaybeNullWhen(false)] out CheckpointValue value)
        {
            if (Built is { } built) return built.TryGetValue(key, out value);
            int at = owner.Find(key);
            value = at >= 0 ? owner._loaded[at].Value : null;
            return at >= 0;
        }

        public IEnumerator<KeyValuePair<string, CheckpointValue>> GetEnumerator() =>
            Built?.GetEnumerator() ?? ((IEnumerable<KeyValuePair<string, CheckpointValue>>)owner._loaded).GetEnumerator();

        IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();
    }
}
