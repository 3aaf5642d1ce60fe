using System.Globalization;

namespace DeepSharp;

/// <summary>
/// bfloat16: the upper 16 bits of a float32 (sign, the same 8-bit exponent, 7 fraction bits), so it has float32's range
/// with about 2–3 significant digits. .NET 10 has no such type (System.Numerics.BFloat16 arrives in .NET 11; see
/// docs/notes/precision-research.md). From float it rounds to nearest, ties to even, like PyTorch; infinities, zeros and
/// subnormals convert exactly where representable, a finite value past the largest bfloat16 rounds to infinity, and a NaN
/// stays a NaN with its sign and top payload bits, made quiet. To float it is exact.
/// The element type of <see cref="DType.BFloat16"/> tensors (<c>ToArray&lt;BFloat16&gt;()</c>, <c>FromSpan</c>, <c>Item</c>).
/// </summary>
/// <example><code>
/// var b = (BFloat16)3.14159f;          // 3.140625: the nearest bfloat16
/// float f = b;                         // exact
/// var t = Tensor.FromSpan&lt;BFloat16&gt;([b, (BFloat16)1f]); // dtype BFloat16
/// </code></example>
public readonly struct BFloat16 : IEquatable<BFloat16>
{
    private readonly ushort _bits;

    private BFloat16(ushort bits) => _bits = bits;

    /// <summary>The value with these bits.</summary>
    public static BFloat16 FromBits(ushort bits) => new(bits);

    /// <summary>The bits.</summary>
    public ushort Bits => _bits;

    /// <summary>Whether this is a NaN.</summary>
    public bool IsNaN => (_bits & 0x7FFF) > 0x7F80;

    /// <summary>Rounds to nearest, ties to even; NaN keeps its sign and top payload bits and becomes quiet.</summary>
    public static explicit operator BFloat16(float value)
    {
        uint u = BitConverter.SingleToUInt32Bits(value);
        if (float.IsNaN(value)) return new((ushort)((u >> 16) | 0x40));
        return new((ushort)((u + 0x7FFFu + ((u >> 16) & 1)) >> 16)); // no wrap: the largest non-NaN pattern is 0xFF800000
    }

    /// <summary>Rounds once to nearest, ties to even, straight from the double (no double rounding through float32).</summary>
    public static explicit operator BFloat16(double value) => new(Backends.HalfBits.ToBFloat16(value));

    /// <summary>Exact.</summary>
    public static implicit operator double(BFloat16 value) => (float)value;

    /// <summary>Exact: the bits become a float32's upper half.</summary>
    public static implicit operator float(BFloat16 value) => BitConverter.UInt32BitsToSingle((uint)value._bits << 16);

    /// <summary>IEEE equality: NaN equals nothing, −0 equals +0.</summary>
    public static bool operator ==(BFloat16 a, BFloat16 b) => (float)a == (float)b;

    /// <summary>IEEE inequality.</summary>
    public static bool operator !=(BFloat16 a, BFloat16 b) => (float)a != (float)b;

    /// <summary>As <see cref="Half.Equals(Half)"/>: the same value, or both NaN (so it can key a dictionary).</summary>
    public bool Equals(BFloat16 other) => this == other || IsNaN && other.IsNaN;

    /// <inheritdoc/>
    public override bool Equals(object? obj) => obj is BFloat16 other && Equals(other);

    /// <inheritdoc/>
    public override int GetHashCode() => IsNaN ? 0x7FC0 : ((float)this).GetHashCode();

    /// <summary>The value as float32 prints it (the shortest text that reads back to the same float).</summary>
    public override string ToString() => ((float)this).ToString(CultureInfo.InvariantCulture);
}
