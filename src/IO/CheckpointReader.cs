using System.Buffers.Binary;
using System.Runtime.InteropServices;
using System.Text;
using MessagePack;

namespace DeepSharp.IO;

/// <summary>
/// Reads version-1 checkpoints defensively: everything is checked against the file's real length before anything is
/// allocated, every read failure becomes a <see cref="CheckpointFormatException"/> with a byte offset, and only the
/// closed set of node kinds and dtypes is accepted (no type names are ever taken from the file). Allocation stays within
/// <see cref="CheckpointLimits.ReadAllocationBound"/>: each claimed count is checked against the header bytes that are
/// left before anything is sized by it, and a node's path is only spelled out for an error message.
/// </summary>
internal sealed partial class CheckpointReader
{
    /// <summary>A tensor table entry; its shape array becomes the tensor's.</summary>
    private struct Entry
    {
        public int[] Shape;
        public long Offset;
        public uint Crc;
        public DType DType;
    }

    private readonly Stream _stream;
    private readonly long _length;
    private readonly Device _device;
    private Entry[] _entries = [];
    private bool[] _used = [];
    private int _usedCount;
    private long _headerLength;
    // Header bytes that the children claimed by open lists and dictionaries, not yet started, need at the least: a claim
    // must fit the bytes left after them, so nested containers cannot each size an array from the same remaining bytes.
    private long _owed;

    private CheckpointReader(Stream stream, Device device) { _stream = stream; _length = stream.Length; _device = device; }

    /// <exception cref="PlatformNotSupportedException">The machine is big-endian: the elements would be read byte-swapped.</exception>
    public static (CheckpointValue Root, IReadOnlyDictionary<string, string> Meta) Read(Stream stream, Device device) =>
        BitConverter.IsLittleEndian
            ? new CheckpointReader(stream, device).Run()
            : throw new PlatformNotSupportedException("Checkpoints are little-endian; this machine is big-endian.");

    private (CheckpointValue, IReadOnlyDictionary<string, string>) Run()
    {
        Span<byte> prefix = stackalloc byte[CheckpointFormat.PrefixLength];
        int got = ReadUpTo(prefix);
        if (got < CheckpointFormat.Magic.Length || !prefix[..8].SequenceEqual(CheckpointFormat.Magic))
            throw new CheckpointFormatException(Identify(prefix[..got]), 0);
        if (got < CheckpointFormat.PrefixLength)
            throw new CheckpointFormatException(
                $"Truncated checkpoint: the {CheckpointFormat.PrefixLength}-byte prefix ends after {got} bytes", got);
        ushort version = BinaryPrimitives.ReadUInt16LittleEndian(prefix[8..]);
        if (version != CheckpointFormat.Version)
            throw new CheckpointFormatException(
                $"Unsupported checkpoint version {version}; this library reads version {CheckpointFormat.Version}" +
                (version > CheckpointFormat.Version ? " (the file was written by a newer DeepSharp: upgrade to load it)" : ""), 8);
        uint headerLength = BinaryPrimitives.ReadUInt32LittleEndian(prefix[10..]);
        uint headerCrc = BinaryPrimitives.ReadUInt32LittleEndian(prefix[14..]);
        long available = Math.Max(0, _length - CheckpointFormat.PrefixLength);
        if (headerLength > CheckpointLimits.MaxHeaderBytes)
            throw new CheckpointFormatException($"Corrupted checkpoint: the header claims {headerLength} bytes, over the limit of " +
                $"{CheckpointLimits.MaxHeaderBytes} that DeepSharp writes", 10);
        if (headerLength > available)
            throw new CheckpointFormatException($"Truncated or corrupted checkpoint: the header claims {headerLength} bytes but only " +
                $"{available} follow the prefix", 10);
        _headerLength = headerLength;
        var header = new byte[headerLength];
        ReadFully(header, CheckpointFormat.PrefixLength);
        if (Crc32.Of(header) != headerCrc)
            throw new CheckpointFormatException(
                "Corrupted checkpoint header: its CRC-32 does not match (the header, or the CRC stored in the prefix, was changed)",
                CheckpointFormat.PrefixLength);
        var reader = new MessagePackReader(header);
        try { return Parse(ref reader); }
        catch (Exception e) when (e is EndOfStreamException or MessagePackSerializationException or OverflowException
            or ArgumentOutOfRangeException)
        {
            // MessagePackReader's ways of saying the bytes are not the MessagePack that was expected: a length past the
            // end (EndOfStream, or ArgumentOutOfRange for a string), a different type code, a number too large for it.
            throw new CheckpointFormatException($"Malformed checkpoint header: {e.Message}", HeaderOffset(ref reader), e);
        }
    }

    private (CheckpointValue, IReadOnlyDictionary<string, string>) Parse(ref MessagePackReader r)
    {
        if (r.ReadMapHeader() != 3) throw Bad("the header must have exactly the fields meta, tensors, root", ref r);
        Expect(ref r, "meta"u8);
        var meta = ReadMeta(ref r);
        Expect(ref r, "tensors"u8);
        ReadTable(ref r);
        Expect(ref r, "root"u8);
        var root = ReadNode(ref r, 0);
        if (!r.End) throw Bad("unexpected bytes after the header's root", ref r);
        if (_usedCount != _entries.Length) throw Bad($"tensor {Array.IndexOf(_used, false)} is listed but no node refers to it", ref r);
        return (root, meta);
    }

    private Dictionary<string, string> ReadMeta(ref MessagePackReader r)
    {
        int count = r.ReadMapHeader();
        Fits(count, 2, ref r); // an entry is two strings of one byte or more
        var meta = new Dictionary<string, string>(count);
        long total = 0;
        for (int i = 0; i < count; i++)
        {
            var key = ReadString(ref r, CheckpointLimits.MaxKeyBytes, out var problem) ?? throw Bad($"metadata key {i} {problem}", ref r);
            var value = ReadString(ref r, CheckpointLimits.MaxMetadataBytes, out problem)
                ?? throw Bad($"the metadata value of {CheckpointLimits.Show(key)} {problem}", ref r);
            total += Encoding.UTF8.GetByteCount(key) + Encoding.UTF8.GetByteCount(value);
            if (total > CheckpointLimits.MaxMetadataBytes)
                throw Bad($"the metadata exceeds the limit of {CheckpointLimits.MaxMetadataBytes} UTF-8 bytes", ref r);
            if (!meta.TryAdd(key, value)) throw Bad($"the metadata key {CheckpointLimits.Show(key)} appears twice", ref r);
        }
        return meta;
    }

    private void ReadTable(ref MessagePackReader r)
    {
        int count = r.ReadArrayHeader();
        Fits(count, CheckpointFormat.MinTableEntryBytes, ref r);
        _entries = new Entry[count];
        _used = new bool[count];
        long offset = CheckpointFormat.PrefixLength + _headerLength;
        for (int i = 0; i < count; i++)
        {
            if (r.ReadArrayHeader() != 3) throw Bad($"tensor {i}: an entry must be [dtype, shape, crc]", ref r);
            var name = ReadStringBytes(ref r);
            var dtype = CheckpointFormat.ParseDType(name)
                ?? throw Bad($"tensor {i}: unknown dtype '{Ascii(name)}' (expected one of {CheckpointFormat.DTypeList})", ref r);
            int rank = r.ReadArrayHeader();
            if (rank < 0 || rank > CheckpointLimits.MaxRank)
                throw Bad($"tensor {i}: rank {rank} exceeds the limit of {CheckpointLimits.MaxRank}", ref r);
            var shape = rank == 0 ? [] : new int[rank];
            for (int d = 0; d < rank; d++)
            {
                long dim = r.ReadInt64();
                if (dim < 0 || dim > int.MaxValue) throw Bad($"tensor {i}: dim {d} is {dim}", ref r);
                shape[d] = (int)dim;
            }
            long elements = CheckpointLimits.Elements(shape);
            if (elements < 0) throw Bad($"tensor {i}: the shape {Layout.Format(shape)} {CheckpointLimits.ShapeLimit}", ref r);
            long bytes = elements * dtype.SizeOf();
            if (bytes > _length - offset)
                throw new CheckpointFormatException(
                    $"Truncated checkpoint: tensor {i} needs {bytes} bytes at byte {offset} but the file ends at byte {_length}", _length);
            _entries[i] = new Entry { Shape = shape, Offset = offset, Crc = r.ReadUInt32(), DType = dtype };
            offset += bytes;
        }
        if (offset != _length)
            throw new CheckpointFormatException(
                $"Trailing data: the checkpoint ends at byte {offset} but the file has {_length - offset} more bytes", offset);
    }

    // MessagePack's own guard for untrusted input, on top of the explicit depth check (belt and braces).
    private static readonly MessagePackSecurity Security =
        MessagePackSecurity.UntrustedData.WithMaximumObjectGraphDepth(CheckpointLimits.MaxDepth + 2);

    private CheckpointValue ReadNode(ref MessagePackReader r, int depth)
    {
        if (depth > CheckpointLimits.MaxDepth)
            throw Bad($"{Path(depth)} is nested deeper than the limit of {CheckpointLimits.MaxDepth} levels", ref r);
        Security.DepthStep(ref r);
        try { return ReadNodeBody(ref r, depth); }
        finally { r.Depth--; }
    }

    private CheckpointValue ReadNodeBody(ref MessagePackReader r, int depth)
    {
        if (r.ReadArrayHeader() != 2) throw Bad($"{Path(depth)}: a node must be [kind, value]", ref r);
        switch (r.ReadInt32())
        {
            case CheckpointFormat.KindTensor:
                int index = r.ReadInt32();
                if (index < 0 || index >= _entries.Length)
                    throw Bad($"{Path(depth)} refers to tensor {index} but the file lists {_entries.Length}", ref r);
                if (_used[index]) throw Bad($"{Path(depth)} refers to tensor {index} a second time", ref r);
                _used[index] = true;
                _usedCount++;
                return new TensorValue(LoadPayload(index, depth));
            case CheckpointFormat.KindList:
                int n = r.ReadArrayHeader();
                Claim(n, CheckpointFormat.MinNodeBytes, ref r);
                var items = n == 0 ? [] : new CheckpointValue[n];
                for (int i = 0; i < n; i++)
                {
                    _owed -= CheckpointFormat.MinNodeBytes;
                    SetSegment(depth + 1, null, i);
                    items[i] = ReadNode(ref r, depth + 1);
                }
                return new ListValue(items);
            case CheckpointFormat.KindDict:
                int m = r.ReadArrayHeader();
                Claim(m, CheckpointFormat.MinDictEntryBytes, ref r);
                var pairs = m == 0 ? [] : new KeyValuePair<string, CheckpointValue>[m];
                var keys = m > DictValue.LinearLookup ? new Dictionary<string, int>(m) : null;
                for (int i = 0; i < m; i++)
                {
                    _owed -= CheckpointFormat.MinDictEntryBytes;
                    if (r.ReadArrayHeader() != 2) throw Bad($"{Path(depth)}: a dictionary entry must be [key, node]", ref r);
                    var key = ReadString(ref r, CheckpointLimits.MaxKeyBytes, out var problem)
                        ?? throw Bad($"key {i} of {Path(depth)} {problem}", ref r);
                    if (keys != null ? !keys.TryAdd(key, i) : Seen(pairs, i, key))
                        throw Bad($"{Path(depth)} has the key {CheckpointLimits.Show(key)} twice", ref r);
                    SetSegment(depth + 1, key, i);
                    pairs[i] = new(key, ReadNode(ref r, depth + 1));
                }
                return new DictValue(pairs, keys);
            default:
                throw Bad($"{Path(depth)} has an unknown node kind", ref r);
        }
    }

    private static bool Seen(KeyValuePair<string, CheckpointValue>[] pairs, int count, string key)
    {
        for (int i = 0; i < count; i++) if (pairs[i].Key == key) return true;
        return false;
    }

    /// <summary>Checks that <paramref name="count"/> claimed items of at least <paramref name="minBytes"/> each fit in the
    /// header bytes left (after those owed to earlier claims), before anything is sized by the count.</summary>
    private void Claim(int count, int minBytes, ref MessagePackReader r)
    {
        Fits(count, minBytes, ref r);
        _owed += (long)count * minBytes;
    }

    private void Fits(int count, int minBytes, ref MessagePackReader r)
    {
        long need = (long)count * minBytes, left = _headerLength - r.Consumed - _owed;
        if (count < 0 || need > left)
            throw Bad($"a count of {count} needs at least {need} more header bytes but only {left} are left", ref r);
    }

    /// <summary>Reads one tensor's bytes from the stream straight into its host array, checks the CRC, moves it to the device.</summary>
    private Tensor LoadPayload(int index, int depth)
    {
        var e = _entries[index];
        _stream.Position = e.Offset;
        var t = Fill(e);
        if (Crc32.Of(HostTensors.Bytes(t)) != e.Crc)
        {
            t.Dispose();
            throw new CheckpointFormatException(
                $"Corrupted tensor {Path(depth)} (table entry {index}): its bytes do not match their CRC-32", e.Offset);
        }
        if (_device == Device.Cpu) return t;
        var onDevice = t.To(_device);
        t.Dispose(); // the host copy goes back to the pool
        return onDevice;
    }

    private Tensor Fill(Entry e)
    {
        var t = HostTensors.Allocate(e.DType, e.Shape);
        try { ReadFully(HostTensors.Bytes(t), e.Offset); }
        catch { t.Dispose(); throw; }
        return t;
    }
}
