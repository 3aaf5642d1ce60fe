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
/// </summary>
internal static class CheckpointFormat
{
    public static readonly byte[] Magic = [0x89, (byte)'D', (byte)'S', (byte)'C', (byte)'K', 0x0D, 0x0A, 0x1A];
    public const ushort Version = 1;
    public const int PrefixLength = 18;
    public const int MaxDepth = 64;
    public const int MaxRank = 32;
    public const int MaxHeaderBytes = 64 << 20;
    public const int KindTensor = 0, KindList = 1, KindDict = 2;

    public static string DTypeName(DType t) => t.Name();

    public static DType? ParseDType(string s) => s switch
    {
        "float32" => DType.Float32,
        "float64" => DType.Float64,
        "int32" => DType.Int32,
        "int64" => DType.Int64,
        _ => null,
    };
}
