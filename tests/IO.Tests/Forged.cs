using System.Buffers;
using System.Buffers.Binary;
using DeepSharp.IO;
using MessagePack;

namespace DeepSharp.IO.Tests;

/// <summary>Writes MessagePack with a <c>ref</c> writer (so a lambda's writes are flushed into the buffer).</summary>
internal delegate void MessagePackWrites(ref MessagePackWriter w);

/// <summary>
/// Checkpoint files built by hand, piece by piece, so a test knows where each piece starts in the file: a reader error
/// must point at the bytes that are wrong (its <see cref="CheckpointFormatException.Offset"/>), not merely somewhere.
/// </summary>
internal static class Forged
{
    /// <summary>The MessagePack bytes <paramref name="write"/> produces.</summary>
    public static byte[] Mp(MessagePackWrites write)
    {
        var buffer = new ArrayBufferWriter<byte>();
        var w = new MessagePackWriter(buffer);
        write(ref w);
        w.Flush();
        return buffer.WrittenSpan.ToArray();
    }

    /// <summary>The header's opening: the map of three fields, empty metadata, the "tensors" key.</summary>
    public static byte[] Opening(int tensors) => Mp((ref MessagePackWriter w) =>
    {
        w.WriteMapHeader(3);
        w.Write("meta"); w.WriteMapHeader(0);
        w.Write("tensors"); w.WriteArrayHeader(tensors);
    });

    /// <summary>A table entry [dtype, dims, crc].</summary>
    public static byte[] Entry(string dtype, long[] dims, uint crc = 0) => Mp((ref MessagePackWriter w) =>
    {
        w.WriteArrayHeader(3);
        w.Write(dtype);
        w.WriteArrayHeader(dims.Length);
        foreach (var d in dims) w.Write(d);
        w.Write(crc);
    });

    public static readonly byte[] RootKey = Mp((ref MessagePackWriter w) => w.Write("root"));

    /// <summary>A node [0, index].</summary>
    public static byte[] TensorNode(int index) => Mp((ref MessagePackWriter w) => { w.WriteArrayHeader(2); w.Write(0); w.Write(index); });

    /// <summary>The empty list node [1, []] (3 bytes, the fewest a node takes).</summary>
    public static readonly byte[] EmptyList =
        Mp((ref MessagePackWriter w) => { w.WriteArrayHeader(2); w.Write(1); w.WriteArrayHeader(0); });

    /// <summary>The opening of a list node claiming <paramref name="count"/> items: [1, [ …</summary>
    public static byte[] ListOpening(int count) =>
        Mp((ref MessagePackWriter w) => { w.WriteArrayHeader(2); w.Write(1); w.WriteArrayHeader(count); });

    /// <summary>A file: prefix (magic, version 1, header length, header CRC), <paramref name="header"/>, then
    /// <paramref name="payload"/>.</summary>
    public static byte[] File(byte[] header, byte[]? payload = null)
    {
        payload ??= [];
        var file = new byte[CheckpointFormat.PrefixLength + header.Length + payload.Length];
        CheckpointFormat.Magic.CopyTo(file, 0);
        BinaryPrimitives.WriteUInt16LittleEndian(file.AsSpan(8), CheckpointFormat.Version);
        BinaryPrimitives.WriteUInt32LittleEndian(file.AsSpan(10), (uint)header.Length);
        BinaryPrimitives.WriteUInt32LittleEndian(file.AsSpan(14), Crc32.Of(header));
        header.CopyTo(file, CheckpointFormat.PrefixLength);
        payload.CopyTo(file, CheckpointFormat.PrefixLength + header.Length);
        return file;
    }

    /// <summary>Where header byte <paramref name="headerOffset"/> sits in the file.</summary>
    public static long At(long headerOffset) => CheckpointFormat.PrefixLength + headerOffset;

    public static byte[] Concat(params byte[][] parts) => parts.SelectMany(p => p).ToArray();

    public static CheckpointFormatException ReadFails(byte[] file) =>
        Assert.Throws<CheckpointFormatException>(() => Checkpoint.Read(new MemoryStream(file)));

    /// <summary>The error points at the piece that starts at header byte <paramref name="start"/>: at its first byte or
    /// within the container header that opens it (a fixarray, its kind and its item count).</summary>
    public static void PointsAt(CheckpointFormatException e, long start, int slack = 3) =>
        Assert.True(e.Offset >= At(start) && e.Offset <= At(start) + slack,
            $"offset {e.Offset}, expected {At(start)}..{At(start) + slack}: {e.Message}");
}
