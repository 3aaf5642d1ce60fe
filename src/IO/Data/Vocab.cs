namespace DeepSharp.Data;

/// <summary>
/// A vocabulary (Dive into Deep Learning's <c>Vocab</c>): token ↔ index. Index 0 is <see cref="Unknown"/>
/// (<c>&lt;unk&gt;</c>), then the reserved tokens in the order given, then every other token seen at least
/// <c>minFreq</c> times, most frequent first; tokens of equal frequency keep the order of their first occurrence (as the
/// book's stable sort of a Python <c>Counter</c> does). A token not in the vocabulary maps to index 0.
/// </summary>
public sealed class Vocab
{
    /// <summary>The unknown token, always at index 0.</summary>
    public const string Unknown = "<unk>";

    private readonly string[] _tokens;
    private readonly Dictionary<string, int> _index = new(StringComparer.Ordinal);
    private readonly KeyValuePair<string, int>[] _frequencies;

    /// <summary>A vocabulary of the tokens of every line of <paramref name="lines"/> (what <see cref="Text.Tokenize"/>
    /// returns).</summary>
    /// <inheritdoc cref="Vocab(IEnumerable{string}, int, IEnumerable{string}?)"/>
    public Vocab(IEnumerable<IEnumerable<string>> lines, int minFreq = 0, IEnumerable<string>? reservedTokens = null)
        : this((lines ?? throw new ArgumentNullException(nameof(lines))).SelectMany(
            (l, i) => l ?? throw new ArgumentNullException(nameof(lines), $"Vocab: line {i} is null.")), minFreq, reservedTokens)
    { }

    /// <summary>A vocabulary of <paramref name="tokens"/>.</summary>
    /// <param name="tokens">The tokens, in corpus order (the order decides ties of frequency).</param>
    /// <param name="minFreq">Tokens seen fewer times are left out (they map to <see cref="Unknown"/>); 0 or 1 keeps all.</param>
    /// <param name="reservedTokens">Tokens given indices 1, 2, … whatever their frequency (e.g. <c>&lt;pad&gt;</c>).</param>
    /// <exception cref="ArgumentNullException">tokens or one of its elements, or a reserved token, is null.</exception>
    /// <exception cref="ArgumentOutOfRangeException">minFreq is negative.</exception>
    /// <exception cref="ArgumentException">A reserved token is <c>&lt;unk&gt;</c> or appears twice.</exception>
    public Vocab(IEnumerable<string> tokens, int minFreq = 0, IEnumerable<string>? reservedTokens = null)
    {
        ArgumentNullException.ThrowIfNull(tokens);
        if (minFreq < 0) throw new ArgumentOutOfRangeException(nameof(minFreq), minFreq, "Vocab: minFreq must be >= 0.");
        var counts = new Dictionary<string, int>(StringComparer.Ordinal);
        var order = new List<string>();
        foreach (var t in tokens)
        {
            if (t is null) throw new ArgumentNullException(nameof(tokens), "Vocab: a token is null.");
            if (counts.TryGetValue(t, out int n)) counts[t] = n + 1;
            else { counts[t] = 1; order.Add(t); }
        }
        // OrderBy is a stable sort: equal counts keep the order of first occurrence.
        _frequencies = order.OrderByDescending(t => counts[t]).Select(t => KeyValuePair.Create(t, counts[t])).ToArray();
        var list = new List<string> { Unknown };
        _index[Unknown] = 0;
        foreach (var r in reservedTokens ?? [])
        {
            if (r is null) throw new ArgumentNullException(nameof(reservedTokens), "Vocab: a reserved token is null.");
            if (!_index.TryAdd(r, list.Count))
                throw new ArgumentException($"Vocab: the reserved token '{r}' is <unk> or appears twice.", nameof(reservedTokens));
            list.Add(r);
        }
        foreach (var (t, n) in _frequencies)
            if (n >= minFreq && _index.TryAdd(t, list.Count)) list.Add(t);
        _tokens = [.. list];
    }

    /// <summary>The number of tokens, <see cref="Unknown"/> and the reserved tokens included.</summary>
    public int Count => _tokens.Length;

    /// <summary>The tokens by index (index 0 is <see cref="Unknown"/>).</summary>
    public IReadOnlyList<string> Tokens => _tokens;

    /// <summary>Every distinct token of the corpus with its count, most frequent first (ties: first occurrence first),
    /// including those left out by <c>minFreq</c> (the book's <c>token_freqs</c>).</summary>
    public IReadOnlyList<KeyValuePair<string, int>> TokenFrequencies => _frequencies;

    /// <summary>The index of <paramref name="token"/>; 0 (<see cref="Unknown"/>) if it is not in the vocabulary.</summary>
    /// <exception cref="ArgumentNullException">token is null.</exception>
    public int this[string token] =>
        _index.TryGetValue(token ?? throw new ArgumentNullException(nameof(token)), out int i) ? i : 0;

    /// <summary>Whether <paramref name="token"/> has its own index (<see cref="Unknown"/> included).</summary>
    /// <exception cref="ArgumentNullException">token is null.</exception>
    public bool Contains(string token) => _index.ContainsKey(token ?? throw new ArgumentNullException(nameof(token)));

    /// <summary>The token at <paramref name="index"/>.</summary>
    /// <exception cref="ArgumentOutOfRangeException">index is outside [0, <see cref="Count"/>).</exception>
    public string ToToken(long index) => index >= 0 && index < _tokens.Length ? _tokens[index]
        : throw new ArgumentOutOfRangeException(nameof(index), index,
            $"Vocab.ToToken: index {index} is out of range for a vocabulary of {_tokens.Length} tokens " +
            $"(expected 0..{_tokens.Length - 1}).");

    /// <summary>The index of each token (unknown tokens → 0).</summary>
    /// <exception cref="ArgumentNullException">tokens or one of its elements is null.</exception>
    public int[] Encode(IEnumerable<string> tokens)
    {
        ArgumentNullException.ThrowIfNull(tokens);
        return tokens.Select(t => this[t]).ToArray();
    }

    /// <summary>The token of each index: <c>Decode(Encode(tokens))</c> gives the tokens back when all are in the
    /// vocabulary.</summary>
    /// <exception cref="ArgumentNullException">indices is null.</exception>
    /// <exception cref="ArgumentOutOfRangeException">An index is outside [0, <see cref="Count"/>).</exception>
    public string[] Decode(IEnumerable<int> indices)
    {
        ArgumentNullException.ThrowIfNull(indices);
        return indices.Select(i => ToToken(i)).ToArray();
    }

    /// <summary>The token of each index of an int64 tensor's values (e.g. <c>x.ToArray&lt;long&gt;()</c>).</summary>
    /// <inheritdoc cref="Decode(IEnumerable{int})"/>
    public string[] Decode(IEnumerable<long> indices)
    {
        ArgumentNullException.ThrowIfNull(indices);
        return indices.Select(ToToken).ToArray();
    }
}
