using System.Buffers.Binary;
using System.Text.Json;

namespace DeepSharp.IO;

/// <summary>
/// Reads and writes the safetensors format (huggingface.co/docs/safetensors): an 8-byte little-endian header size, a
/// JSON header <c>{"name": {"dtype", "shape", "data_offsets": [begin, end]}, "__metadata__": {…}}</c>, then the bytes.
/// So weights trained in PyTorch load here and ours load there. F32/F64/I32/I64/F16/BF16 map to our dtypes and load as
/// they are (a model's <see cref="Layers.Block.LoadStateDict"/> converts floats to its parameters' dtype). Every claim in
/// the header is checked against the file before anything is allocated, and
/// the writer refuses (before writing a byte) anything the reader would refuse: the limits of <c>CheckpointLimits</c>
/// (rank 32, names and metadata keys of at most 64 KiB of well-formed UTF-8, 16 MiB of metadata, a header of at most
/// 100,000,000 bytes as in the reference implementation).
/// </summary>
public static class SafeTensors
{
    /// <summary>Writes tensors (in the given order) atomically, with optional string metadata: written to a temporary file
    /// beside <paramref name="path"/>, flushed to disk, renamed over it; the temporary files of saves that were killed
    /// half-way are removed as <see cref="Checkpoint.RemoveStaleTemporaryFiles"/> describes.</summary>
    /// <exception cref="ArgumentException">A name or metadata entry breaks a limit (the message names it); nothing was written.</exception>
    public static void Save(string path, IEnumerable<KeyValuePair<string, Tensor>> tensors,
        IReadOnlyDictionary<string, string>? meta = null)
    {
        ArgumentNullException.ThrowIfNull(path);
        ArgumentNullException.ThrowIfNull(tensors);
        var list = tensors.ToList();
        Check(list, meta);
        AtomicFile.Write(path, s => Write(s, list, meta), s => s);
    }

    /// <summary>Writes to a stream (not atomic).</summary>
    /// <exception cref="ArgumentException">A name or metadata entry breaks a limit (the message names it); nothing was written.</exception>
    public static void Write(Stream stream, IReadOnlyList<KeyValuePair<string, Tensor>> tensors,
        IReadOnlyDictionary<string, string>? meta = null)
    {
        ArgumentNullException.ThrowIfNull(stream);
        ArgumentNullException.ThrowIfNull(tensors);
        Check(tensors, meta);
        var hosts = new List<Array>();
        using var json = new MemoryStream();
        using (var w = new Utf8JsonWriter(json))
        {
            w.WriteStartObject();
            if (meta is { Count: > 0 })
            {
                w.WriteStartObject("__metadata__");
                foreach (var (k, v) in meta) w.WriteString(k, v);
                w.WriteEndObject();
            }
            long offset = 0;
            foreach (var (name, t) in tensors)
            {
                var host = CheckpointWriter.Host(t);
                hosts.Add(host);
                long bytes = CheckpointWriter.Bytes(host).Length;
                w.WriteStartObject(name);
                w.WriteString("dtype", t.DType switch
                {
                    DType.Float32 => "F32",
                    DType.Float64 => "F64",
                    DType.Int32 => "I32",
                    DType.Int64 => "I64",
                    DType.Float16 => "F16",
                    _ => "BF16",
                });
                w.WriteStartArray("shape"); foreach (var d in t.Layout.Shape) w.WriteNumberValue(d); w.WriteEndArray();
                w.WriteStartArray("data_offsets"); w.WriteNumberValue(offset); w.WriteNumberValue(offset + bytes); w.WriteEndArray();
                w.WriteEndObject();
                offset += bytes;
            }
            w.WriteEndObject();
        }
        // Pad the header with spaces to a multiple of 8 bytes, as the reference writer does.
        int pad = (int)((8 - json.Length % 8) % 8);
        if (json.Length + pad > CheckpointLimits.MaxSafeTensorsHeaderBytes)
            throw new ArgumentException($"SafeTensors: the JSON header would be {json.Length + pad} bytes, over the limit of " +
                $"{CheckpointLimits.MaxSafeTensorsHeaderBytes} that safetensors readers accept: write fewer tensors or less metadata " +
                "per file.");
        Span<byte> size = stackalloc byte[8];
        BinaryPrimitives.WriteUInt64LittleEndian(size, (ulong)(json.Length + pad));
        stream.Write(size);
        stream.Write(json.GetBuffer().AsSpan(0, (int)json.Length));
        for (int i = 0; i < pad; i++) stream.WriteByte((byte)' ');
        foreach (var h in hosts) stream.Write(CheckpointWriter.Bytes(h));
    }

    /// <summary>Refuses, before anything is written, what <see cref="Read"/> would refuse.</summary>
    private static void Check(IReadOnlyList<KeyValuePair<string, Tensor>> tensors, IReadOnlyDictionary<string, string>? meta)
    {
        ArgumentNullException.ThrowIfNull(tensors);
        CheckpointLimits.CheckMetadata(meta, "SafeTensors");
        var names = new HashSet<string>(tensors.Count);
        foreach (var (name, t) in tensors)
        {
            if (name == null) throw new ArgumentException("SafeTensors: a tensor name is null.", nameof(tensors));
            var shown = CheckpointLimits.Show(name);
            if (name == "__metadata__")
                throw new ArgumentException("SafeTensors: the name '__metadata__' is reserved for the metadata: rename the tensor.",
                    nameof(tensors));
            if (!names.Add(name))
                throw new ArgumentException($"SafeTensors: the name {shown} is used twice: names must be unique.", nameof(tensors));
            if (CheckpointLimits.KeyProblem(name) is { } problem)
                throw new ArgumentException($"SafeTensors: the name {shown} {problem}.", nameof(tensors));
            if (t == null) throw new ArgumentException($"SafeTensors: the tensor {shown} is null.", nameof(tensors));
            if (t.Rank > CheckpointLimits.MaxRank)
                throw new ArgumentException($"SafeTensors: the tensor {shown} has rank {t.Rank}, over the limit of " +
                    $"{CheckpointLimits.MaxRank}: reshape it.", nameof(tensors));
        }
    }

    /// <summary>Loads every tensor (in file order) onto <paramref name="device"/> (default CPU). Reading allocates at most
    /// 24 × the file's size + 256 KiB of managed memory, whatever the file holds or claims.</summary>
    /// <exception cref="CheckpointFormatException">The file is not valid safetensors, or it changed while being read, or
    /// <paramref name="path"/> is a directory or not a regular file (the message says why and where).</exception>
    /// <exception cref="FileNotFoundException">There is no file at <paramref name="path"/>.</exception>
    /// <exception cref="DirectoryNotFoundException">A directory on <paramref name="path"/> does not exist.</exception>
    /// <exception cref="UnauthorizedAccessException">The file exists but may not be read.</exception>
    /// <exception cref="IOException">The operating system failed to read the file.</exception>
    public static OrderedDictionary<string, Tensor> Load(string path, Device? device = null) => LoadWithMeta(path, device).Tensors;

    /// <summary>Loads the tensors and the <c>__metadata__</c> strings; see <see cref="Load"/> for the memory bound.</summary>
    /// <exception cref="CheckpointFormatException">The file is not valid safetensors, or it changed while being read, or
    /// <paramref name="path"/> is a directory or not a regular file (the message says why and where).</exception>
    /// <exception cref="FileNotFoundException">There is no file at <paramref name="path"/>.</exception>
    /// <exception cref="DirectoryNotFoundException">A directory on <paramref name="path"/> does not exist.</exception>
    /// <exception cref="UnauthorizedAccessException">The file exists but may not be read.</exception>
    /// <exception cref="IOException">The operating system failed to read the file.</exception>
    public static (OrderedDictionary<string, Tensor> Tensors, IReadOnlyDictionary<string, string> Meta) LoadWithMeta(string path,
        Device? device = null)
    {
        using var s = AtomicFile.OpenRead(path);
        return SafeTensorsReader.Read(s, device ?? Device.Cpu);
    }

    /// <summary>Reads from a seekable stream positioned at the file's start; see <see cref="Load"/> for the memory bound.</summary>
    /// <exception cref="CheckpointFormatException">The bytes are not valid safetensors, or the stream ends before its
    /// <see cref="Stream.Length"/> (the file changed while being read).</exception>
    /// <exception cref="ArgumentException">The stream cannot seek.</exception>
    public static (OrderedDictionary<string, Tensor> Tensors, IReadOnlyDictionary<string, string> Meta) Read(Stream s,
        Device? device = null)
    {
        ArgumentNullException.ThrowIfNull(s);
        if (!s.CanSeek)
            throw new ArgumentException("SafeTensors.Read needs a seekable stream (it checks sizes against the length first).", nameof(s));
        return SafeTensorsReader.Read(s, device ?? Device.Cpu);
    }
}
