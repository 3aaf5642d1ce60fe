namespace DeepSharp.Tests;

/// <summary>bfloat16 conversions against an exact reference: round to nearest even computed in double, the special values,
/// and every one of the 65,536 bit patterns through float and back.</summary>
public class BFloat16Tests
{
    /// <summary>The nearest bfloat16 to a finite float, ties to even, by exact arithmetic in double (a float's value and both
    /// neighbouring bfloat16s are exact in double); a value past the largest finite bfloat16's halfway point is infinity.</summary>
    private static ushort Reference(float x)
    {
        uint u = BitConverter.SingleToUInt32Bits(x);
        ushort down = (ushort)(u >> 16); // truncation: toward zero
        if ((u & 0xFFFF) == 0) return down;
        ushort up = (ushort)(down + 1);  // away from zero (the next pattern; 0x7F7F + 1 is infinity)
        double d = x, lo = BitConverter.UInt32BitsToSingle((uint)down << 16), hi = BitConverter.UInt32BitsToSingle((uint)up << 16);
        if ((up & 0x7FFF) == 0x7F80) hi = Math.CopySign(Math.Pow(2, 128), d); // past the largest finite: where 2¹²⁸ would be
        double dl = Math.Abs(d - lo), dh = Math.Abs(hi - d);
        return dl < dh ? down : dh < dl ? up : (down & 1) == 0 ? down : up;
    }

    [Fact]
    public void RoundsToNearestEvenLikeAnExactReference()
    {
        var rng = new Random(20);
        for (int i = 0; i < 200_000; i++)
        {
            float x = BitConverter.UInt32BitsToSingle((uint)rng.NextInt64(0, 1L << 32));
            if (float.IsNaN(x)) continue;
            Assert.Equal(Reference(x), ((BFloat16)x).Bits);
        }
    }

    [Theory]
    [InlineData(0x3F808000u, (ushort)0x3F80)] // 1 + 2⁻⁸: a tie, to the even 1
    [InlineData(0x3F818000u, (ushort)0x3F82)] // 1 + 3·2⁻⁸: a tie, to the even 1 + 2⁻⁶
    [InlineData(0x3F808001u, (ushort)0x3F81)] // just past the tie
    [InlineData(0x7F7FFFFFu, (ushort)0x7F80)] // float's largest rounds past bfloat16's: infinity
    [InlineData(0xFF7FFFFFu, (ushort)0xFF80)]
    [InlineData(0x7F7F8000u, (ushort)0x7F80)] // halfway from the largest finite (odd) to 2¹²⁸: a tie, to even, infinity
    [InlineData(0x7F7F7FFFu, (ushort)0x7F7F)] // just below halfway: the largest finite
    [InlineData(0x7F800000u, (ushort)0x7F80)] // ±infinity and ±0 exactly
    [InlineData(0xFF800000u, (ushort)0xFF80)]
    [InlineData(0x80000000u, (ushort)0x8000)]
    [InlineData(0x00010000u, (ushort)0x0001)] // the smallest subnormal bfloat16, exactly
    [InlineData(0x00008000u, (ushort)0x0000)] // half of it: a tie, to the even 0
    [InlineData(0x00018000u, (ushort)0x0002)] // 1.5 of it: a tie, to the even 2
    [InlineData(0x7FC00000u, (ushort)0x7FC0)] // quiet NaN
    [InlineData(0xFF800001u, (ushort)0xFFC0)] // signalling NaN with a low payload: still a NaN (quiet), sign kept
    [InlineData(0x7FA00000u, (ushort)0x7FE0)] // payload bits kept, quiet bit set
    public void SpecialValuesConvertExactly(uint floatBits, ushort expected)
    {
        var b = (BFloat16)BitConverter.UInt32BitsToSingle(floatBits);
        Assert.Equal(expected, b.Bits);
    }

    [Fact]
    public void EveryBitPatternRoundTripsThroughFloat()
    {
        for (int bits = 0; bits <= 0xFFFF; bits++)
        {
            var b = BFloat16.FromBits((ushort)bits);
            float f = b;
            Assert.Equal((uint)bits << 16, BitConverter.SingleToUInt32Bits(f));
            var back = (BFloat16)f;
            if (b.IsNaN) Assert.Equal(bits | 0x40, back.Bits); // a NaN comes back quiet
            else Assert.Equal(bits, back.Bits);
        }
    }

    [Fact]
    public void EqualityIsIeeeAndEqualsKeysNaN()
    {
        BFloat16 nan = (BFloat16)float.NaN, otherNaN = (BFloat16)(-float.NaN), zero = (BFloat16)0f, negZero = (BFloat16)(-0f);
        var one = (BFloat16)1f;
        Assert.False(nan == otherNaN);
        Assert.True(nan.Equals(otherNaN));
        Assert.True(zero == negZero);
        Assert.Equal(zero.GetHashCode(), negZero.GetHashCode());
        Assert.True(one != zero);
        Assert.Equal("1", one.ToString());
        Assert.Equal("3.140625", ((BFloat16)3.14159f).ToString());
    }
}
