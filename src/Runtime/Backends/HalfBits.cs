using ILGPU;

namespace DeepSharp.Backends;

/// <summary>
/// Float16 and bfloat16 bit patterns to and from double, in integer arithmetic only: the same code runs in the CPU loops and
/// in every ILGPU kernel, so a cast gives the same bits on every device (ILGPU's own <c>Half</c> conversion truncates on the
/// CPU accelerator; see docs/notes/precision-research.md). Narrowing rounds once, to nearest with ties to even, straight
/// from the double (no double rounding through float32); subnormals are kept, a finite value past the largest rounds to
/// infinity, and a NaN keeps its sign and top payload bits and is made quiet (as <see cref="System.Half"/> does).
/// Widening is exact; a NaN is made quiet.
/// </summary>
internal static class HalfBits
{
    /// <summary>The float16 nearest <paramref name="d"/> (ties to even).</summary>
    public static ushort ToHalf(double d) => Narrow(d, 10, -14, 15);

    /// <summary>The bfloat16 nearest <paramref name="d"/> (ties to even).</summary>
    public static ushort ToBFloat16(double d) => Narrow(d, 7, -126, 127);

    /// <summary>
    /// Rounds |d| to a binary format with <paramref name="frac"/> fraction bits and normal exponents in
    /// [<paramref name="emin"/>, <paramref name="emax"/>]. With e the double's exponent and q = max(e, emin) − frac the
    /// exponent of the target's last place, the result's significand is round(|d| / 2^q); its bits are then
    /// ((q + frac + emax − 1) &lt;&lt; frac) + significand, which also carries a rounding overflow into the exponent.
    /// </summary>
    private static ushort Narrow(double d, int frac, int emin, int emax)
    {
        ulong u = Interop.FloatAsInt(d);
        uint sign = (uint)(u >> 48) & 0x8000u, inf = (uint)(2 * emax + 1) << frac;
        ulong a = u & 0x7FFF_FFFF_FFFF_FFFFUL;
        if (a >= 0x7FF0_0000_0000_0000UL)
            return a == 0x7FF0_0000_0000_0000UL ? (ushort)(sign | inf)
                : (ushort)(sign | inf | (1u << (frac - 1)) | (uint)(a >> (52 - frac)) & ((1u << frac) - 1));
        int e = (int)(a >> 52) - 1023;
        if (e > emax) return (ushort)(sign | inf);
        if (e < emin - frac - 1) return (ushort)sign; // below half the smallest subnormal (double subnormals included)
        ulong m = (a & 0x000F_FFFF_FFFF_FFFFUL) | (1UL << 52);
        int q = Math.Max(e, emin) - frac, s = 52 + q - e; // 52 - frac ≤ s ≤ 53
        ulong r = m >> s, rest = m & ((1UL << s) - 1), half = 1UL << (s - 1);
        if (rest > half || (rest == half && (r & 1) != 0)) r++;
        return (ushort)(sign | (uint)(((q + frac + emax - 1) << frac) + (long)r));
    }

    /// <summary>A float16's value as float32 (exact).</summary>
    public static float HalfToSingle(ushort h)
    {
        uint sign = (uint)(h & 0x8000) << 16, e = (uint)(h >> 10) & 0x1F, m = h & 0x3FFu;
        if (e == 31) return Interop.IntAsFloat(sign | 0x7F80_0000u | (m << 13) | (m != 0 ? 0x0040_0000u : 0));
        if (e == 0) // zero or subnormal: m · 2^-24, exact in float32
        {
            float v = m * (1f / 16777216f);
            return sign != 0 ? -v : v;
        }
        return Interop.IntAsFloat(sign | ((e + 112) << 23) | (m << 13));
    }

    /// <summary>A bfloat16's value as float32 (exact: the bits become the upper half).</summary>
    public static float BFloat16ToSingle(ushort b)
    {
        uint u = (uint)b << 16;
        return Interop.IntAsFloat((u & 0x7FFF_FFFFu) > 0x7F80_0000u ? u | 0x0040_0000u : u);
    }
}
