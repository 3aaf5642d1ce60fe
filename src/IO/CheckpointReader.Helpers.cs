using System.Buffers.Binary;
using System.Text;
using System.Text.Unicode;
using MessagePack;

namespace DeepSharp.IO;

internal sealed partial class CheckpointReader
{
    // Where the node being read sits, spelled out only for a message.
    private readonly NodePath _path = new();

    private void SetSegment(int depth, string? key, int index) => _path.Set(depth, key, index);

    private string Path(int depth) => _path.Show(depth);

    private static void Expect(ref MessagePackReader r, ReadOnlySpan<byte> field)
    {
        var name = ReadStringBytes(ref r);
        if (!name.SequenceEqual(field)) throw Bad($"expected the field '{Ascii(field)}', found '{Ascii(name)}'", ref r);
    }

    /// <summary>A string's UTF-8 bytes, unchecked (for names compared against known ones).</summary>
    private static ReadOnlySpan<byte> ReadStringBytes(ref MessagePackReader r)
    {
        var bytes = r.ReadStringSequence() ?? throw Bad("a string is nil", ref r);
        // The reader runs over one array, so every string is one contiguous segment.
        return bytes.FirstSpan;
    }

    /// <summary>A key or value: well-formed UTF-8 (as the writer produces from well-formed text) of at most
    /// <paramref name="maxBytes"/>; otherwise null, and <paramref name="problem"/> says what is wrong with it.</summary>
    private static string? ReadString(ref MessagePackReader r, int maxBytes, out string? problem)
    {
        var bytes = ReadStringBytes(ref r);
        problem = bytes.Length > maxBytes ? $"is {bytes.Length} bytes long, over the limit of {maxBytes}"
            : !Utf8.IsValid(bytes) ? "is not well-formed UTF-8"
            : null;
        return problem != null ? null : bytes.IsEmpty ? "" : Encoding.UTF8.GetString(bytes);
    }

    /// <summary>Bytes from the file shown in a message: printable ASCII kept, the rest escaped, at most 40.</summary>
    private static string Ascii(ReadOnlySpan<byte> s)
    {
        var sb = new StringBuilder();
        foreach (var b in s[..Math.Min(s.Length, 40)]) sb.Append(b is >= 0x20 and < 0x7F ? (char)b : $"\\x{b:X2}");
        return s.Length > 40 ? sb.Append("…").ToString() : sb.ToString();
    }

    private static long HeaderOffset(ref MessagePackReader r) => CheckpointFormat.PrefixLength + r.Consumed;

    private static CheckpointFormatException Bad(string what, ref MessagePackReader r) =>
        new($"Malformed checkpoint header: {what}", HeaderOffset(ref r));

    /// <summary>Fills <paramref name="buffer"/> from the stream at file offset <paramref name="at"/>; a stream that ends early
    /// is a file that shrank after its length was taken (a writer replacing it in place, not atomically).</summary>
    private void ReadFully(Span<byte> buffer, long at)
    {
        int total = 0;
        while (total < buffer.Length)
        {
            int n = _stream.Read(buffer[total..]);
            if (n == 0)
                throw new CheckpointFormatException($"Truncated while reading: the file ends at byte {at + total} although it was " +
                    $"{_length} bytes long when opened; it was changed while being read (save with Checkpoint.Save, which replaces " +
                    "files atomically)", at + total);
            total += n;
        }
    }

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
            return "Not a DeepSharp checkpoint: this looks like a safetensors file (8-byte header length, then JSON): " +
                "load it with SafeTensors.Load";
        if (head.ToArray().All(b => b is >= 0x20 and < 0x7F || b is (byte)'\n' or (byte)'\r' or (byte)'\t'))
            return $"Not a checkpoint: the file is text (starts with \"{Encoding.ASCII.GetString(head)}\")";
        return $"Not a DeepSharp checkpoint: the magic bytes are {Convert.ToHexString(head[..Math.Min(8, head.Length)])}, " +
            $"expected {Convert.ToHexString(CheckpointFormat.Magic)}";
    }
}
