namespace DeepSharp.IO;

/// <summary>
/// The file layout (version 1), little-endian:
/// <code>
/// [0, 8)    magic 89 'D' 'S' 'C' 'K' 0D 0A 1A   (like PNG's: catches text-mode transfers)
/// [8, 10)   format version (uint16)
/// [10, 14)  header length H (uint32)
/// [14, 18)  CRC-32 of the header
/// [18, 18+H) header: MessagePack map {"meta": {str: str}, "tensors": [[dtype, [dims…], crc32]…], "root": node}
///           node = [0, tensor index] | [1, [node…]] | [2, [[key, node]…]]
/// then      each tensor's elements, row-major little-endian, in table order; the file ends exactly after the last
/// </code>
/// Strings are UTF-8 (well-formed); <see cref="CheckpointLimits"/> bounds ranks, nesting, keys, metadata and the header.
/// </summary>
internal static class CheckpointFormat
{
    public static readonly byte[] Magic = [0x89, (byte)'D', (byte)'S', (byte)'C', (byte)'K', 0x0D, 0x0A, 0x1A];
    public const ushort Version = 1;
    public const int PrefixLength = 18;
    public const int KindTensor = 0, KindList = 1, KindDict = 2;

    /// <summary>The fewest header bytes a tensor table entry takes: fixarray, "int32", an empty dims array, crc 0.</summary>
    public const int MinTableEntryBytes = 9;
    /// <summary>The fewest header bytes a node takes: fixarray, kind, and a one-byte index or array header.</summary>
    public const int MinNodeBytes = 3;
    /// <summary>The fewest header bytes a dictionary entry takes: fixarray, the empty key, a node.</summary>
    public const int MinDictEntryBytes = 2 + MinNodeBytes;

    public static string DTypeName(DType t) => t.Name();

    /// <summary>Every dtype the format stores (each by its <see cref="DTypeName"/> in the table): every
    /// <see cref="DType"/>.</summary>
    public static readonly DType[] DTypes = Enum.GetValues<DType>();

    private static readonly byte[][] DTypeNames = [.. DTypes.Select(t => System.Text.Encoding.UTF8.GetBytes(DTypeName(t)))];

    /// <summary>The dtype names a table may hold, for messages: "float32, float64, …".</summary>
    public static string DTypeList => string.Join(", ", DTypes.Select(DTypeName));

    /// <summary>The dtype a table entry names (compared as bytes: nothing is allocated per tensor).</summary>
    public static DType? ParseDType(ReadOnlySpan<byte> s)
    {
        for (int i = 0; i < DTypes.Length; i++)
            if (s.SequenceEqual(DTypeNames[i])) return DTypes[i];
        return null;
    }
}
