namespace DeepSharp.IO;

/// <summary>What a checkpoint file holds: a tensor, a list, or a string-keyed dictionary, nested arbitrarily.</summary>
public abstract record CheckpointValue
{
    /// <summary>A tensor leaf.</summary>
    /// <exception cref="ArgumentNullException"><paramref name="t"/> is null.</exception>
    public static implicit operator CheckpointValue(Tensor t) => new TensorValue(t ?? throw new ArgumentNullException(nameof(t)));

    /// <summary>The tensor, when this is one.</summary>
    /// <exception cref="InvalidOperationException">This is a list or a dictionary.</exception>
    public Tensor AsTensor() => this is TensorValue t ? t.Tensor
        : throw new InvalidOperationException($"The checkpoint holds a {Kind}, not a tensor.");
    /// <summary>The items, when this is a list.</summary>
    /// <exception cref="InvalidOperationException">This is a tensor or a dictionary.</exception>
    public IReadOnlyList<CheckpointValue> AsList() => this is ListValue l ? l.Items
        : throw new InvalidOperationException($"The checkpoint holds a {Kind}, not a list.");
    /// <summary>The entries, when this is a dictionary (a loaded one is read in place, without building
    /// <see cref="DictValue.Entries"/>).</summary>
    /// <exception cref="InvalidOperationException">This is a tensor or a list.</exception>
    public IReadOnlyDictionary<string, CheckpointValue> AsDict() => this is DictValue d ? d.View
        : throw new InvalidOperationException($"The checkpoint holds a {Kind}, not a dictionary.");

    private string Kind => this switch { TensorValue => "tensor", ListValue => "list", _ => "dictionary" };
}

/// <summary>A tensor in a checkpoint tree.</summary>
public sealed record TensorValue(Tensor Tensor) : CheckpointValue
{
    /// <summary>The tensor.</summary>
    public Tensor Tensor { get; init => field = value ?? throw new ArgumentNullException(nameof(value)); }
        = Tensor ?? throw new ArgumentNullException(nameof(Tensor));
}
/// <summary>A list in a checkpoint tree.</summary>
public sealed record ListValue(IReadOnlyList<CheckpointValue> Items) : CheckpointValue
{
    /// <summary>The items, in order.</summary>
    public IReadOnlyList<CheckpointValue> Items { get; init => field = value ?? throw new ArgumentNullException(nameof(value)); }
        = Items ?? throw new ArgumentNullException(nameof(Items));
}

/// <summary>A file is not a valid checkpoint: wrong kind of file, newer version, truncated, corrupted or malformed.
/// The message names what was found and, where it applies, the byte offset and the tensor.</summary>
public sealed class CheckpointFormatException(string message, long offset = -1, Exception? inner = null)
    : Exception(offset >= 0 ? $"{message} (at byte {offset})" : message, inner)
{
    /// <summary>Byte offset in the file where the problem was found, or -1.</summary>
    public long Offset { get; } = offset;
}
