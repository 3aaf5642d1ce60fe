using System.Text;

namespace DeepSharp.IO;

/// <summary>
/// The one set of limits that the writers check before writing a byte and the readers enforce, for both formats, so the
/// library never writes a file it would refuse to read. Writers throw <see cref="ArgumentException"/> naming the key and
/// the limit; readers throw <see cref="CheckpointFormatException"/>.
/// </summary>
internal static class CheckpointLimits
{
    /// <summary>Most dimensions of a tensor (safetensors' reference reader has no lower limit).</summary>
    public const int MaxRank = 32;
    /// <summary>Deepest nesting of lists and dictionaries; the root is at depth 0.</summary>
    public const int MaxDepth = 64;
    /// <summary>Most UTF-8 bytes in one dictionary key, tensor name or metadata key.</summary>
    public const int MaxKeyBytes = 64 << 10;
    /// <summary>Most UTF-8 bytes of all metadata keys and values together.</summary>
    public const int MaxMetadataBytes = 16 << 20;
    /// <summary>Most bytes of a DeepSharp checkpoint's MessagePack header.</summary>
    public const int MaxHeaderBytes = 64 << 20;
    /// <summary>Most bytes of a safetensors JSON header: the reference implementation's limit, so PyTorch reads what we write.</summary>
    public const int MaxSafeTensorsHeaderBytes = 100_000_000;

    /// <summary>Reading a file of <c>n</c> bytes onto the CPU allocates at most <c>ReadAllocationFactor × n + ReadAllocationSlack</c>
    /// managed bytes, whatever the file holds or claims. The factor is set by the smallest encodings of the largest objects
    /// (a one-item list is 3 bytes in a file and 56 in memory; an empty tensor about 15 and 260) plus the header's copy.</summary>
    public const int ReadAllocationFactor = 24;
    /// <summary>The constant part of the bound: buffers and bookkeeping that do not grow with the file.</summary>
    public const long ReadAllocationSlack = 256 << 10;

    /// <summary>The most managed bytes reading a file of <paramref name="fileBytes"/> bytes may allocate.</summary>
    public static long ReadAllocationBound(long fileBytes) => ReadAllocationFactor * fileBytes + ReadAllocationSlack;

    /// <summary>The element count of a tensor of <paramref name="shape"/>, or -1 when the runtime cannot hold such a tensor:
    /// its dims, zeros counted as 1, multiply past <see cref="int.MaxValue"/> (so an empty [0, 65536, 65536] too, whose
    /// strides would not fit an int). The runtime's own rule (<see cref="Layout.Numel(ReadOnlySpan{int})"/>).</summary>
    public static long Elements(ReadOnlySpan<int> shape) => Layout.TryNumel(shape, out int n) ? n : -1;

    /// <summary>What <see cref="Elements"/> refuses, for messages.</summary>
    public const string ShapeLimit = "is beyond what a tensor can hold: its dims, zeros counted as 1, must multiply to at most " +
        "2147483647 (a tensor indexes its elements and strides with 32-bit ints)";

    private static readonly UTF8Encoding StrictUtf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

    /// <summary>The UTF-8 length of <paramref name="s"/>, or why it has none (a lone surrogate cannot be encoded).</summary>
    public static int Utf8Length(string s, out string? problem)
    {
        try
        {
            problem = null;
            return StrictUtf8.GetByteCount(s);
        }
        catch (EncoderFallbackException e)
        {
            int unit = e.CharUnknown != 0 ? e.CharUnknown : e.CharUnknownHigh;
            problem = $"has a lone UTF-16 surrogate (U+{unit:X4}) at index {e.Index}, " +
                "which no UTF-8 file can hold: pass well-formed text";
            return -1;
        }
    }

    /// <summary>Why <paramref name="key"/> cannot be a dictionary key, tensor name or metadata key, or null when it can.</summary>
    public static string? KeyProblem(string key)
    {
        int bytes = Utf8Length(key, out var problem);
        if (problem != null) return problem;
        return bytes > MaxKeyBytes ? $"is {bytes} UTF-8 bytes long, over the limit of {MaxKeyBytes}: use a shorter key" : null;
    }

    /// <summary>Checks metadata for a writer: well-formed keys and values within the limits.</summary>
    /// <exception cref="ArgumentException">A key or value is not well-formed, a key is too long, or the total is too large.</exception>
    public static void CheckMetadata(IReadOnlyDictionary<string, string>? meta, string writer)
    {
        if (meta == null) return;
        long total = 0;
        foreach (var (key, value) in meta)
        {
            if (key == null || value == null)
                throw new ArgumentException($"{writer}: metadata keys and values cannot be null (key {Show(key)}).", nameof(meta));
            if (KeyProblem(key) is { } p) throw new ArgumentException($"{writer}: the metadata key {Show(key)} {p}.", nameof(meta));
            int bytes = Utf8Length(value, out var vp);
            if (vp != null) throw new ArgumentException($"{writer}: the metadata value of {Show(key)} {vp}.", nameof(meta));
            total += Encoding.UTF8.GetByteCount(key) + bytes;
        }
        if (total > MaxMetadataBytes)
            throw new ArgumentException($"{writer}: the metadata is {total} UTF-8 bytes, over the limit of {MaxMetadataBytes}: " +
                "store large data as a tensor instead.", nameof(meta));
    }

    /// <summary>A key or path quoted for a message, shortened when long (a key may be 64 KiB).</summary>
    public static string Show(string? s) => s == null ? "null"
        : s.Length <= 80 ? $"'{s}'" : $"'{s[..40]}…{s[^20..]}' ({s.Length} characters)";
}
