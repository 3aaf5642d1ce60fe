namespace DeepSharp.IO;

/// <summary>
/// Saves and loads tensors, lists and dictionaries of tensors (nested freely) in DeepSharp's checkpoint format:
/// magic and version first, a MessagePack header read with closed hand-written formatters, CRC-32 over the header and
/// every tensor, atomic saves. Files written from GPU tensors load anywhere; the caller picks the device.
/// </summary>
public static class Checkpoint
{
    /// <summary>Saves <paramref name="value"/> atomically: written to a temporary file beside <paramref name="path"/>,
    /// flushed to disk, then renamed over it — an interrupted save leaves the previous file intact.</summary>
    public static void Save(string path, CheckpointValue value, IReadOnlyDictionary<string, string>? meta = null) =>
        SaveAtomic(path, value, meta, s => s);

    /// <summary>Writes a file atomically: a temporary file beside <paramref name="path"/>, flushed to disk, renamed over it.</summary>
    internal static void WriteAtomic(string path, Action<Stream> write, Func<Stream, Stream> wrap)
    {
        var full = Path.GetFullPath(path);
        var dir = Path.GetDirectoryName(full)!;
        var tmp = Path.Combine(dir, $".{Path.GetFileName(full)}.{Guid.NewGuid():N}.tmp");
        try
        {
            using (var file = new FileStream(tmp, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1 << 16))
            {
                var s = wrap(file);
                write(s);
                s.Flush();
                file.Flush(flushToDisk: true);
            }
            File.Move(tmp, full, overwrite: true);
        }
        catch
        {
            try { File.Delete(tmp); } catch (IOException) { } catch (UnauthorizedAccessException) { }
            throw;
        }
    }

    /// <summary>Saves one tensor (the chapter's <c>x-file</c>).</summary>
    public static void Save(string path, Tensor tensor) => Save(path, new TensorValue(tensor));
    /// <summary>Saves a list of tensors.</summary>
    public static void Save(string path, IEnumerable<Tensor> tensors) => Save(path, new ListValue(tensors.Select(t => (CheckpointValue)t).ToList()));
    /// <summary>Saves a string-keyed dictionary of tensors (order kept).</summary>
    public static void Save(string path, IEnumerable<KeyValuePair<string, Tensor>> tensors)
    {
        var d = new OrderedDictionary<string, CheckpointValue>();
        foreach (var (k, v) in tensors) d.Add(k, v);
        Save(path, new DictValue(d));
    }

    /// <summary>Writes a checkpoint to any stream (not atomic: use the path overloads for files).</summary>
    public static void Write(Stream stream, CheckpointValue value, IReadOnlyDictionary<string, string>? meta = null) =>
        CheckpointWriter.Write(stream, value, meta);

    /// <summary>Loads a checkpoint, putting its tensors on <paramref name="device"/> (default CPU).</summary>
    /// <exception cref="CheckpointFormatException">The file is not a valid checkpoint (the message says why and where).</exception>
    public static CheckpointValue Load(string path, Device? device = null) => LoadWithMeta(path, device).Value;

    /// <summary>Loads a checkpoint and its metadata.</summary>
    public static (CheckpointValue Value, IReadOnlyDictionary<string, string> Meta) LoadWithMeta(string path, Device? device = null)
    {
        using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16);
        return Read(stream, device);
    }

    /// <summary>Reads a checkpoint from a seekable stream.</summary>
    public static (CheckpointValue Value, IReadOnlyDictionary<string, string> Meta) Read(Stream stream, Device? device = null)
    {
        if (!stream.CanSeek) throw new ArgumentException("Checkpoint.Read needs a seekable stream (it checks sizes against the length first).");
        return CheckpointReader.Read(stream, device ?? Device.Cpu);
    }

    /// <summary>Loads a file that holds one tensor.</summary>
    public static Tensor LoadTensor(string path, Device? device = null) => Load(path, device).AsTensor();
    /// <summary>Loads a file that holds a list of tensors.</summary>
    public static IReadOnlyList<Tensor> LoadList(string path, Device? device = null) => Load(path, device).AsList().Select(v => v.AsTensor()).ToList();
    /// <summary>Loads a file that holds a dictionary of tensors.</summary>
    public static OrderedDictionary<string, Tensor> LoadDict(string path, Device? device = null)
    {
        var d = new OrderedDictionary<string, Tensor>();
        foreach (var (k, v) in Load(path, device).AsDict()) d.Add(k, v.AsTensor());
        return d;
    }

    /// <summary>The atomic save, with a hook that wraps the temporary file's stream (tests inject failures there).</summary>
    internal static void SaveAtomic(string path, CheckpointValue value, IReadOnlyDictionary<string, string>? meta, Func<Stream, Stream> wrap) =>
        WriteAtomic(path, s => CheckpointWriter.Write(s, value, meta), wrap);
}
