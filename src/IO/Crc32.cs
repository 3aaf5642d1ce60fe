namespace DeepSharp.IO;

/// <summary>CRC-32 (IEEE 802.3, as in zip and PNG; detects every single-bit flip), vectorised by System.IO.Hashing.</summary>
internal static class Crc32
{
    /// <summary>The CRC-32 of <paramref name="data"/>.</summary>
    public static uint Of(ReadOnlySpan<byte> data) => System.IO.Hashing.Crc32.HashToUInt32(data);
}
