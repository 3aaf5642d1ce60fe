namespace DeepSharp.IO;

/// <summary>
/// Saves and loads tensors, lists and dictionaries of tensors (nested freely) in DeepSharp's checkpoint format:
/// magic and version first, a MessagePack header read with closed hand-written formatters, CRC-32 over the header and
/// every tensor, atomic saves. Files written from GPU tensors load anywhere; the caller picks the device.
/// </summary>
/// <remarks>
/// Limits, checked when saving (an <see cref="ArgumentException"/> naming the key, before a byte is written) and when
/// loading: rank ≤ 32; nesting ≤ 64 levels; dictionary keys and metadata keys of at most 64 KiB of well-formed UTF-8
/// (no lone UTF-16 surrogates); metadata ≤ 16 MiB in all; header ≤ 64 MiB. Loading allocates at most 24 × the file's
/// size + 256 KiB of managed memory, whatever the file holds or claims.
/// </remarks>
public static class Checkpoint
{
    /// <summary>Saves <paramref name="value"/> atomically: written to a temporary file beside <paramref name="path"/>,
    /// flushed to disk, then renamed over it — an interrupted save leaves the previous file intact. Stale temporary files
    /// of earlier saves to the same path are removed first (see <see cref="RemoveStaleTemporaryFiles"/>).</summary>
    /// <exception cref="ArgumentException">The tree or the metadata breaks a limit (the message names the key and the limit);
    /// nothing was written and the previous file is intact.</exception>
    /// <exception cref="ArgumentNullException">path or value is null.</exception>
    public static void Save(string path, CheckpointValue value, IReadOnlyDictionary<string, string>? meta = null)
    {
        ArgumentNullException.ThrowIfNull(path);
        ArgumentNullException.ThrowIfNull(value);
        SaveAtomic(path, value, meta, s => s);
    }

    /// <summary>Saves one tensor (the chapter's <c>x-file</c>).</summary>
    /// <exception cref="ArgumentException">The tensor breaks a limit (rank over 32).</exception>
    /// <exception cref="ArgumentNullException">path or tensor is null.</exception>
    public static void Save(string path, Tensor tensor) =>
        Save(path, new TensorValue(tensor ?? throw new ArgumentNullException(nameof(tensor))));
    /// <summary>Saves a list of tensors.</summary>
    /// <exception cref="ArgumentException">A tensor breaks a limit (rank over 32).</exception>
    /// <exception cref="ArgumentNullException">path, the sequence or one of its tensors is null.</exception>
    public static void Save(string path, IEnumerable<Tensor> tensors) =>
        Save(path, new ListValue((tensors ?? throw new ArgumentNullException(nameof(tensors))).Select(t => (CheckpointValue)t).ToList()));
    /// <summary>Saves a string-keyed dictionary of tensors (order kept).</summary>
    /// <exception cref="ArgumentException">A key or tensor breaks a limit (the message names it).</exception>
    /// <exception cref="ArgumentNullException">path, the sequence, a key or a tensor is null.</exception>
    public static void Save(string path, IEnumerable<KeyValuePair<string, Tensor>> tensors)
    {
        ArgumentNullException.ThrowIfNull(tensors);
        var d = new OrderedDictionary<string, CheckpointValue>();
        foreach (var (k, v) in tensors) d.Add(k, v);
        Save(path, new DictValue(d));
    }

    /// <summary>Writes a checkpoint to any stream (not atomic: use the path overloads for files).</summary>
    /// <exception cref="ArgumentException">The tree or the metadata breaks a limit; nothing was written to the stream.</exception>
    /// <exception cref="ArgumentNullException">stream or value is null.</exception>
    public static void Write(Stream stream, CheckpointValue value, IReadOnlyDictionary<string, string>? meta = null)
    {
        ArgumentNullException.ThrowIfNull(stream);
        ArgumentNullException.ThrowIfNull(value);
        CheckpointWriter.Write(stream, value, meta);
    }

    /// <summary>
    /// Removes the temporary files that saves to <paramref name="path"/> (by <see cref="Save(string, CheckpointValue,
    /// IReadOnlyDictionary{string, string}?)"/> or <see cref="SafeTensors.Save"/>) left behind when they were killed
    /// half-way, and returns how many. Such files are named <c>.{file name}.{process id}-{32 hex digits}.tmp</c> beside the
    /// target. One is removed only when no process holds it open (a live save holds its file exclusively until it renames
    /// it) and either the process that wrote it has exited or it was last written more than 30 seconds ago. Every save
    /// does this before it writes, so call it only to clean up without saving.
    /// </summary>
    public static int RemoveStaleTemporaryFiles(string path) => AtomicFile.RemoveStale(path);

    /// <summary>Loads a checkpoint, putting its tensors on <paramref name="device"/> (default CPU).</summary>
    /// <exception cref="CheckpointFormatException">The file is not a valid checkpoint, or it changed while being read, or
    /// <paramref name="path"/> is a directory or not a regular file (the message says why and where).</exception>
    /// <exception cref="FileNotFoundException">There is no file at <paramref name="path"/>.</exception>
    /// <exception cref="DirectoryNotFoundException">A directory on <paramref name="path"/> does not exist.</exception>
    /// <exception cref="UnauthorizedAccessException">The file exists but may not be read.</exception>
    /// <exception cref="IOException">The operating system failed to read the file.</exception>
    public static CheckpointValue Load(string path, Device? device = null) => LoadWithMeta(path, device).Value;

    /// <summary>Loads a checkpoint and its metadata; the exceptions are those of <see cref="Load"/>.</summary>
    /// <exception cref="CheckpointFormatException">The file is not a valid checkpoint, or it changed while being read, or
    /// <paramref name="path"/> is a directory or not a regular file.</exception>
    /// <exception cref="FileNotFoundException">There is no file at <paramref name="path"/>.</exception>
    /// <exception cref="DirectoryNotFoundException">A directory on <paramref name="path"/> does not exist.</exception>
    public static (CheckpointValue Value, IReadOnlyDictionary<string, string> Meta) LoadWithMeta(string path, Device? device = null)
    {
        using var stream = AtomicFile.OpenRead(path);
        return CheckpointReader.Read(stream, device ?? Device.Cpu);
    }

    /// <summary>Reads a checkpoint from a seekable stream positioned at its start.</summary>
    /// <exception cref="CheckpointFormatException">The bytes are not a valid checkpoint, or the stream ends before its
    /// <see cref="Stream.Length"/> (the file changed while being read).</exception>
    /// <exception cref="ArgumentException">The stream cannot seek.</exception>
    public static (CheckpointValue Value, IReadOnlyDictionary<string, string> Meta) Read(Stream stream, Device? device = null)
    {
        ArgumentNullException.ThrowIfNull(stream);
        if (!stream.CanSeek)
            throw new ArgumentException("Checkpoint.Read needs a seekable stream (it checks sizes against the length first).",
                nameof(stream));
        return CheckpointReader.Read(stream, device ?? Device.Cpu);
    }

    /// <summary>Loads a file that holds one tensor.</summary>
    /// <exception cref="CheckpointFormatException">The file is not a valid checkpoint, or holds a list or a dictionary.</exception>
    /// <exception cref="FileNotFoundException">There is no file at <paramref name="path"/>.</exception>
    public static Tensor LoadTensor(string path, Device? device = null)
    {
        var value = Load(path, device);
        return value is TensorValue t ? t.Tensor
            : throw WrongShape(path, value, value, "the root", "a tensor", "Load, LoadList or LoadDict");
    }

    /// <summary>Loads a file that holds a list of tensors.</summary>
    /// <exception cref="CheckpointFormatException">The file is not a valid checkpoint, or does not hold a flat list of tensors.</exception>
    /// <exception cref="FileNotFoundException">There is no file at <paramref name="path"/>.</exception>
    public static IReadOnlyList<Tensor> LoadList(string path, Device? device = null)
    {
        var value = Load(path, device);
        if (value is not ListValue list) throw WrongShape(path, value, value, "the root", "a list", "Load, LoadTensor or LoadDict");
        var tensors = new Tensor[list.Items.Count];
        for (int i = 0; i < tensors.Length; i++)
            tensors[i] = list.Items[i] is TensorValue t ? t.Tensor
                : throw WrongShape(path, value, list.Items[i], $"item {i}", "a tensor", "Load");
        return tensors;
    }

    /// <summary>Loads a file that holds a dictionary of tensors.</summary>
    /// <exception cref="CheckpointFormatException">The file is not a valid checkpoint, or does not hold a flat dictionary of
    /// tensors.</exception>
    /// <exception cref="FileNotFoundException">There is no file at <paramref name="path"/>.</exception>
    public static OrderedDictionary<string, Tensor> LoadDict(string path, Device? device = null)
    {
        var value = Load(path, device);
        if (value is not DictValue dict) throw WrongShape(path, value, value, "the root", "a dictionary", "Load, LoadTensor or LoadList");
        var entries = dict.AsDict();
        var d = new OrderedDictionary<string, Tensor>(entries.Count);
        foreach (var (k, v) in entries)
            d.Add(k, v is TensorValue t ? t.Tensor
                : throw WrongShape(path, value, v, $"the entry {CheckpointLimits.Show(k)}", "a tensor", "Load"));
        return d;
    }

    /// <summary>The file is valid but not what the typed loader returns: its tensors are released and the message says
    /// what it holds.</summary>
    private static CheckpointFormatException WrongShape(string path, CheckpointValue loaded, CheckpointValue found, string where,
        string expected, string instead)
    {
        Release(loaded);
        var kind = found switch { TensorValue => "a tensor", ListValue => "a list", _ => "a dictionary" };
        return new CheckpointFormatException($"'{path}': {where} is {kind}, not {expected}; load it with Checkpoint.{instead}.");
    }

    internal static void Release(CheckpointValue v)
    {
        switch (v)
        {
            case TensorValue t: t.Tensor.Dispose(); break;
            case ListValue l: foreach (var item in l.Items) Release(item); break;
            case DictValue d: foreach (var item in d.AsDict().Values) Release(item); break;
        }
    }

    /// <summary>The atomic save, with a hook that wraps the temporary file's stream (tests inject failures there).</summary>
    internal static void SaveAtomic(string path, CheckpointValue value, IReadOnlyDictionary<string, string>? meta,
        Func<Stream, Stream> wrap) =>
        AtomicFile.Write(path, s => CheckpointWriter.Write(s, value, meta), wrap);
}
