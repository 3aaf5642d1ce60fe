using System.Buffers.Binary;
using System.Runtime.InteropServices;
using System.Text;
using DeepSharp.Backends;
using MessagePack;

namespace DeepSharp.IO;

/// <summary>
/// Reads version-1 checkpoints defensively: everything is checked against the file's real length before anything is
/// allocated, every read failure becomes a <see cref="CheckpointFormatException"/> with a byte offset, and only the
/// closed set of node kinds and dtypes is accepted (no type names are ever taken from the file).
/// </summary>
internal sealed class CheckpointReader
{
    private sealed record Entry(DType DType, int[] Shape, long Bytes, uint Crc, long Offset);

    private readonly Stream _stream;
    private readonly long _length;
    private readonly Device _device;
    private List<Entry> _entries = new();
    private Tensor?[] _loaded = [];

    private CheckpointReader(Stream stream, Device device) { _stream = stream; _length = stream.Length; _device = device; }

    public static (CheckpointValue Root, IReadOnlyDictionary<string, string> Meta) Read(Stream stream, Device device) =>
        new CheckpointReader(stream, device).Run();

    private (CheckpointValue, IReadOnlyDictionary<string, string>) Run()
    {
        Span<byte> prefix = stackalloc byte[CheckpointFormat.PrefixLength];
        int got = ReadUpTo(prefix);
        if (got < CheckpointFormat.Magic.Length || !prefix[..8].SequenceEqual(CheckpointFormat.Magic))
            throw new CheckpointFormatException(Identify(prefix[..got]), 0);
        if (got < CheckpointFormat.PrefixLength) throw new CheckpointFormatException($"Truncated checkpoint: the {CheckpointFormat.PrefixLength}-byte prefix ends after {got} bytes", got);
        ushort version = BinaryPrimitives.ReadUInt16LittleEndian(prefix[8..]);
        if (version != CheckpointFormat.Version)
            throw new CheckpointFormatException($"Unsupported checkpoint version {version}; this library reads version {CheckpointFormat.Version}" +
                (version > CheckpointFormat.Version ? " (the file was written by a newer DeepSharp: upgrade to load it)" : ""), 8);
        uint headerLength = BinaryPrimitives.ReadUInt32LittleEndian(prefix[10..]);
        uint headerCrc = BinaryPrimitives.ReadUInt32LittleEndian(prefix[14..]);
        if (headerLength > CheckpointFormat.MaxHeaderBytes || headerLength > _length - CheckpointFormat.PrefixLength)
            throw new CheckpointFormatException($"Truncated or corrupted checkpoint: the header claims {headerLength} bytes but only " +
                $"{_length - CheckpointFormat.PrefixLength} follow the prefix", 10);
        var header = new byte[headerLength];
        _stream.ReadExactly(header);
        if (Crc32.Of(header) != headerCrc)
            throw new CheckpointFormatException("Corrupted checkpoint header: its CRC-32 does not match (the header or the prefix was changed)", CheckpointFormat.PrefixLength);
        var reader = new MessagePackReader(header);
        try { return Parse(ref reader, CheckpointFormat.PrefixLength + headerLength); }
        catch (Exception e) when (e is not (CheckpointFormatException or OutOfMemoryException))
        {
            // MessagePackReader reports bad input with several exception types (the fuzz test found ArgumentOutOfRange
            // for a string longer than the header, and EndOfStream for an array longer than it); all mean malformed.
            throw new CheckpointFormatException($"Malformed checkpoint header: {e.Message}", CheckpointFormat.PrefixLength + reader.Consumed, e);
        }
    }

    private (CheckpointValue, IReadOnlyDictionary<string, string>) Parse(ref MessagePackReader r, long payloadStart)
    {
        long at = CheckpointFormat.PrefixLength;
        int fields = r.ReadMapHeader();
        if (fields != 3) throw Bad("the header must have exactly the fields meta, tensors, root", at + r.Consumed);
        Expect(ref r, "meta", at);
        var meta = new Dictionary<string, string>();
        int metaCount = r.ReadMapHeader();
        for (int i = 0; i < metaCount; i++)
        {
            var key = ReadString(ref r, at);
            if (!meta.TryAdd(key, ReadString(ref r, at))) throw Bad($"duplicate metadata key '{key}'", at + r.Consumed);
        }
        Expect(ref r, "tensors", at);
        int count = r.ReadArrayHeader();
        long offset = payloadStart;
        for (int i = 0; i < count; i++)
        {
            if (r.ReadArrayHeader() != 3) throw Bad($"tensor {i}: an entry must be [dtype, shape, crc]", at + r.Consumed);
            var name = ReadString(ref r, at);
            var dtype = CheckpointFormat.ParseDType(name) ?? throw Bad($"tensor {i}: unknown dtype '{name}' (expected float32, float64, int32 or int64)", at + r.Consumed);
            int rank = r.ReadArrayHeader();
            if (rank > CheckpointFormat.MaxRank) throw Bad($"tensor {i}: rank {rank} exceeds {CheckpointFormat.MaxRank}", at + r.Consumed);
            var shape = new int[rank];
            long elements = 1;
            for (int d = 0; d < rank; d++)
            {
                long dim = r.ReadInt64();
                if (dim < 0 || dim > int.MaxValue) throw Bad($"tensor {i}: dim {d} is {dim}", at + r.Consumed);
                shape[d] = (int)dim;
                elements = elements == 0 ? 0 : checked(elements * dim); // each dim ≤ 2^31, so a checked product cannot wrap
            }
            if (elements > int.MaxValue) throw Bad($"tensor {i}: {elements} elements exceed the {int.MaxValue} a tensor can hold", at + r.Consumed);
            long bytes = checked(elements * dtype.SizeOf());
            if (bytes > _length - offset)
                throw new CheckpointFormatException($"Truncated checkpoint: tensor {i} needs {bytes} bytes at byte {offset} but the file ends at byte {_length}", _length);
            _entries.Add(new Entry(dtype, shape, bytes, r.ReadUInt32(), offset));
            offset += bytes;
        }
        if (offset != _length) throw new CheckpointFormatException($"Trailing data: the checkpoint ends at byte {offset} but the file has {_length - offset} more bytes", offset);
        _loaded = new Tensor?[_entries.Count];
        Expect(ref r, "root", at);
        var root = ReadNode(ref r, 0, "root", at);
        if (!r.End) throw Bad("unexpected bytes after the header's root", at + r.Consumed);
        int unused = Array.IndexOf(_loaded, null);
        if (unused >= 0) throw Bad($"tensor {unused} is listed but no node refers to it", at + r.Consumed);
        return (root, meta);
    }

    // MessagePack's own guard for untrusted input, on top of the explicit depth check (belt and braces).
    private static readonly MessagePackSecurity Security = MessagePackSecurity.UntrustedData.WithMaximumObjectGraphDepth(CheckpointFormat.MaxDepth + 2);

    private CheckpointValue ReadNode(ref MessagePackReader r, int depth, string path, long at)
    {
        if (depth > CheckpointFormat.MaxDepth) throw Bad($"'{path}' is nested deeper than {CheckpointFormat.MaxDepth} levels", at + r.Consumed);
        Security.DepthStep(ref r);
        try { return ReadNodeBody(ref r, depth, path, at); }
        finally { r.Depth--; }
    }

    private CheckpointValue ReadNodeBody(ref MessagePackReader r, int depth, string path, long at)
    {
        if (r.ReadArrayHeader() != 2) throw Bad($"'{path}': a node must be [kind, value]", at + r.Consumed);
        switch (r.ReadInt32())
        {
            case CheckpointFormat.KindTensor:
                int index = r.ReadInt32();
                if (index < 0 || index >= _entries.Count) throw Bad($"'{path}' refers to tensor {index} but the file lists {_entries.Count}", at + r.Consumed);
                if (_loaded[index] != null) throw Bad($"'{path}' refers to tensor {index} a second time", at + r.Consumed);
                return new TensorValue(_loaded[index] = LoadPayload(index, path));
            case CheckpointFormat.KindList:
                int n = r.ReadArrayHeader();
                var items = new List<CheckpointValue>(Math.Min(n, 1024));
                for (int i = 0; i < n; i++) items.Add(ReadNode(ref r, depth + 1, $"{path}[{i}]", at));
                return new ListValue(items);
            case CheckpointFormat.KindDict:
                int m = r.ReadArrayHeader();
                var entries = new OrderedDictionary<string, CheckpointValue>();
                for (int i = 0; i < m; i++)
                {
                    if (r.ReadArrayHeader() != 2) throw Bad($"'{path}': a dictionary entry must be [key, node]", at + r.Consumed);
                    var key = ReadString(ref r, at);
                    if (entries.ContainsKey(key)) throw Bad($"'{path}' has the key '{key}' twice", at + r.Consumed);
                    entries.Add(key, ReadNode(ref r, depth + 1, path == "root" ? key : $"{path}.{key}", at));
                }
                return new DictValue(entries);
            default:
                throw Bad($"'{path}' has an unknown node kind", at + r.Consumed);
        }
    }

    /// <summary>Reads one tensor's bytes from the stream straight into its host array, checks the CRC, moves it to the device.</summary>
    private Tensor LoadPayload(int index, string path)
    {
        var e = _entries[index];
        _stream.Position = e.Offset;
        // Host storage comes from the CPU pool: a model that loads a file releases its parameters' old arrays to it, so the
        // next load reuses them instead of allocating 7.5 MB (one MLP) on the large-object heap each time.
        var t = e.DType switch
        {
            DType.Float32 => Fill<float>(),
            DType.Float64 => Fill<double>(),
            DType.Int32 => Fill<int>(),
            _ => Fill<long>(),
        };
        if (_device == Device.Cpu) return t;
        var onDevice = t.To(_device);
        t.Dispose(); // the host copy goes back to the pool
        return onDevice;

        Tensor Fill<T>() where T : unmanaged
        {
            var host = Tensor.Empty(e.Shape, e.DType, Device.Cpu);
            var bytes = MemoryMarshal.AsBytes(((CpuStorage)host.Storage).Span<T>());
            try
            {
                _stream.ReadExactly(bytes);
                if (Crc32.Of(bytes) != e.Crc)
                    throw new CheckpointFormatException($"Corrupted tensor '{path}' (table entry {index}): its bytes do not match their CRC-32", e.Offset);
            }
            catch { host.Dispose(); throw; }
            return host;
        }
    }

    private static void Expect(ref MessagePackReader r, string field, long at)
    {
        var name = ReadString(ref r, at);
        if (name != field) throw Bad($"expected the field '{field}', found '{name}'", at + r.Consumed);
    }

    private static string ReadString(ref MessagePackReader r, long at) =>
        r.ReadString() ?? throw Bad("a string is nil", at + r.Consumed);

    private static CheckpointFormatException Bad(string what, long offset) => new($"Malformed checkpoint header: {what}", offset);

    private int ReadUpTo(Span<byte> buffer)
    {
        int total = 0;
        while (total < buffer.Length)
        {
            int n = _stream.Read(buffer[total..]);
            if (n == 0) break;
            total += n;
        }
        return total;
    }

    /// <summary>Names what a non-checkpoint file looks like, so the user knows which loader they need.</summary>
    private static string Identify(ReadOnlySpan<byte> head)
    {
        if (head.Length == 0) return "Not a checkpoint: the file is empty";
        if (head.Length >= 4 && head[0] == 'P' && head[1] == 'K' && head[2] == 3 && head[3] == 4)
            return "Not a DeepSharp checkpoint: this is a zip archive (PyTorch's torch.save format?); it cannot be loaded here";
        if (head.Length > 8 && head[8] == '{' && BinaryPrimitives.ReadUInt64LittleEndian(head) < (1UL << 32))
            return "Not a DeepSharp checkpoint: this looks like a safetensors file (8-byte header length, then JSON)";
        if (head.ToArray().All(b => b is >= 0x20 and < 0x7F || b is (byte)'\n' or (byte)'\r' or (byte)'\t'))
            return $"Not a checkpoint: the file is text (starts with \"{Encoding.ASCII.GetString(head)}\")";
        return $"Not a DeepSharp checkpoint: the magic bytes are {Convert.ToHexString(head[..Math.Min(8, head.Length)])}, expected {Convert.ToHexString(CheckpointFormat.Magic)}";
    }
}
