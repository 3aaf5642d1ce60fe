using DeepSharp.Backends;

namespace DeepSharp.Tests;

/// <summary>The Float16 and BFloat16 dtypes: the conversions every device runs (against System.Half and an exact reference),
/// then creation, casts, copies, views, devices, printing and autograd through casts on every device.</summary>
public class HalfDTypeTests
{
    private static ushort HalfBitsOf(double d) => BitConverter.HalfToUInt16Bits((Half)d);

    /// <summary>The bfloat16 nearest a finite double, ties to even, by exact comparison with its two neighbours.</summary>
    private static ushort BFloat16Reference(double d)
    {
        double a = Math.Abs(d);
        ushort sign = (ushort)(double.IsNegative(d) ? 0x8000 : 0);
        int lo = 0, hi = 0x7F80; // positive patterns are ordered by value; 0x7F80 is infinity
        while (hi - lo > 1) { int mid = (lo + hi) / 2; if (Value(mid) <= a) lo = mid; else hi = mid; }
        if (Value(lo) == a) return (ushort)(sign | lo);
        double top = hi == 0x7F80 ? Math.Pow(2, 128) : Value(hi); // past the largest finite: where 2¹²⁸ would be
        double dl = a - Value(lo), dh = top - a; // exact: the neighbours are within a factor of 2 of a
        int r = dl < dh ? lo : dh < dl ? hi : (lo & 1) == 0 ? lo : hi;
        return (ushort)(sign | r);
        static double Value(int bits) => BitConverter.UInt32BitsToSingle((uint)bits << 16);
    }

    [Fact]
    public void HalfBitsAgreeWithSystemHalfBothWays()
    {
        for (int h = 0; h <= 0xFFFF; h++) // widening, NaNs quieted as System.Half does
            Assert.Equal(BitConverter.SingleToUInt32Bits((float)BitConverter.UInt16BitsToHalf((ushort)h)),
                BitConverter.SingleToUInt32Bits(HalfBits.HalfToSingle((ushort)h)));
        var rng = new Random(16);
        for (int i = 0; i < 300_000; i++)
        {
            float f = BitConverter.UInt32BitsToSingle((uint)rng.NextInt64(0, 1L << 32)); // NaNs included
            Assert.Equal(BitConverter.HalfToUInt16Bits((Half)f), HalfBits.ToHalf(f));
            double d = BitConverter.Int64BitsToDouble(rng.NextInt64(long.MinValue, long.MaxValue));
            if (!double.IsNaN(d)) Assert.Equal(HalfBitsOf(d), HalfBits.ToHalf(d));
            double near = (double)BitConverter.UInt16BitsToHalf((ushort)rng.Next(0, 0x7C00)) * (1 + (rng.NextDouble() - 0.5) * 2e-3);
            Assert.Equal(HalfBitsOf(near), HalfBits.ToHalf(near));
        }
    }

    private static double P(int e) => Math.ScaleB(1.0, e);

    [Fact]
    public void HalfRoundsOnceFromDouble()
    {
        (double D, ushort Bits)[] cases =
        [
            (1 + P(-11), 0x3C00),          // a tie: to the even 1
            (1 + P(-11) + P(-40), 0x3C01), // just past it: through float32 this would round twice, to 1
            (1 + P(-11) - P(-40), 0x3C00),
            (1 + 3 * P(-11), 0x3C02),      // a tie: to the even 1 + 2⁻⁹
            (65504.0, 0x7BFF),             // the largest finite
            (65519.99, 0x7BFF),
            (65520.0, 0x7C00),             // halfway to 2¹⁶: a tie, to even, infinity
            (-1e300, 0xFC00),
            (P(-24), 0x0001),              // the smallest subnormal
            (P(-25), 0x0000),              // half of it: a tie, to the even 0
            (P(-25) + P(-60), 0x0001),
            (1.5 * P(-24), 0x0002),        // a tie between subnormals, to even
            (-0.0, 0x8000),
            (double.PositiveInfinity, 0x7C00),
            (4.9e-324, 0x0000),            // a double subnormal
        ];
        foreach (var (d, bits) in cases) Assert.Equal(bits, HalfBits.ToHalf(d));
    }

    [Fact]
    public void BFloat16BitsMatchTheStructAndAnExactReference()
    {
        var rng = new Random(17);
        for (int i = 0; i < 200_000; i++)
        {
            float f = BitConverter.UInt32BitsToSingle((uint)rng.NextInt64(0, 1L << 32)); // NaNs included
            Assert.Equal(((BFloat16)f).Bits, HalfBits.ToBFloat16(f));
            double d = BitConverter.Int64BitsToDouble(rng.NextInt64(long.MinValue, long.MaxValue));
            if (double.IsNaN(d) || Math.Abs(d) > 1e39 || Math.Abs(d) < 1e-41) continue; // both ends are in the cases below
            Assert.Equal(BFloat16Reference(d), HalfBits.ToBFloat16(d));
            double near = BitConverter.UInt32BitsToSingle((uint)rng.Next(0, 0x7F7F) << 16) * (1 + (rng.NextDouble() - 0.5) * 2e-2);
            Assert.Equal(BFloat16Reference(near), HalfBits.ToBFloat16(near));
        }
        for (int b = 0; b <= 0xFFFF; b++) // widening is exact, NaNs quieted
        {
            float f = HalfBits.BFloat16ToSingle((ushort)b);
            uint u = BitConverter.SingleToUInt32Bits(f);
            Assert.Equal(float.IsNaN(f) ? ((uint)b << 16) | 0x0040_0000u : (uint)b << 16, u);
        }
        Assert.Equal(0x3F81, HalfBits.ToBFloat16(1 + P(-8) + P(-40))); // past a tie by less than float32 can hold
        Assert.Equal(0x3F80, HalfBits.ToBFloat16(1 + P(-8)));
        Assert.Equal(0x7F80, HalfBits.ToBFloat16(1e39));
        Assert.Equal(0x0001, HalfBits.ToBFloat16(P(-133)));
        Assert.Equal(0x0000, HalfBits.ToBFloat16(P(-134)));
        Assert.Equal(0x7FC0, HalfBits.ToBFloat16(double.NaN) & 0x7FFF);
    }

    /// <summary>Floats that exercise every rounding case of both formats.</summary>
    private static float[] Hard()
    {
        var rng = new Random(5);
        var special = new[]
        {
            0f, -0f, 1f, -1f, 0.1f, 1 + (float)P(-11), 1 + 3 * (float)P(-11), 1 + (float)P(-8), 1 + 3 * (float)P(-8), 65504f,
            65520f, 65519.99f, 1e6f, -1e6f, (float)P(-24), (float)P(-25), 1.5f * (float)P(-24), 3e-8f, float.MaxValue,
            float.Epsilon, (float)P(-133), (float)P(-134), float.NaN,
            float.PositiveInfinity, float.NegativeInfinity, BitConverter.UInt32BitsToSingle(0x7FC12345), -3.14159f,
        };
        return [.. special, .. Enumerable.Range(0, 3000).Select(_ => BitConverter.UInt32BitsToSingle((uint)rng.NextInt64(0, 1L << 32)))];
    }

    [Theory, MemberData(nameof(TestDevices.All), MemberType = typeof(TestDevices))]
    public void CastsGiveTheSameBitsOnEveryDevice(string device)
    {
        var d = TestDevices.Use(device);
        var x = Hard();
        using var t = Tensor.FromArray(x).To(d);
        using var h = t.To(DType.Float16);
        using var b = t.To(DType.BFloat16);
        Assert.Equal(DType.Float16, h.DType);
        Assert.Equal(x.Select(v => HalfBits.ToHalf(v)), h.ToArray<Half>().Select(BitConverter.HalfToUInt16Bits));
        Assert.Equal(x.Select(v => HalfBits.ToBFloat16(v)), b.ToArray<BFloat16>().Select(v => v.Bits));
        // Back to float32 exactly (NaNs stay NaN), and between the two half types through one rounding.
        var hf = h.To(DType.Float32).ToArray<float>();
        Assert.Equal(h.ToArray<Half>().Select(v => (float)v), hf);
        Assert.Equal(hf.Select(v => HalfBits.ToBFloat16(v)), h.To(DType.BFloat16).ToArray<BFloat16>().Select(v => v.Bits));
        Assert.Equal(b.ToArray<BFloat16>().Select(v => HalfBits.ToHalf(v)),
            b.To(DType.Float16).ToArray<Half>().Select(BitConverter.HalfToUInt16Bits));
        Assert.Equal(b.ToArray<BFloat16>().Select(v => (double)v), b.To(DType.Float64).ToArray<double>());
        // Integers: exact below 2¹¹ (half) and 2⁸ (bfloat16), then rounded; back truncates toward zero.
        using var ints = Tensor.FromArray(new long[] { 0, -7, 2047, 2049, 70000, 257 }).To(d);
        Assert.Equal(new[] { 0f, -7f, 2047f, 2048f, float.PositiveInfinity, 257f },
            ints.To(DType.Float16).To(DType.Float32).ToArray<float>());
        Assert.Equal(new[] { 0f, -7f, 2048f, 2048f, 70144f, 256f }, ints.To(DType.BFloat16).To(DType.Float32).ToArray<float>());
        Assert.Equal(new[] { 2, -2 }, Tensor.FromArray(new[] { 2.75f, -2.75f }).To(d).To(DType.Float16).To(DType.Int32).ToArray<int>());
    }

    [Theory, MemberData(nameof(TestDevices.All), MemberType = typeof(TestDevices))]
    public void CreationViewsAndCopiesKeepTheBits(string device)
    {
        var d = TestDevices.Use(device);
        foreach (var dtype in new[] { DType.Float16, DType.BFloat16 })
        {
            Assert.Equal(2, dtype.SizeOf());
            Assert.True(dtype.IsFloat());
            using var full = Tensor.Full([2, 3], 0.1, dtype, d);
            double tenth = dtype == DType.Float16 ? (double)(Half)0.1 : (BFloat16)0.1;
            Assert.All(full.To(DType.Float64).ToArray<double>(), v => Assert.Equal(tenth, v));
            Assert.Equal(new[] { 0f, 0.5f, 1f, 1.5f }, Tensor.Arange(0, 2, 0.5, dtype, d).To(DType.Float32).ToArray<float>());
            Assert.All(Tensor.Ones([3], dtype, d).To(DType.Float32).ToArray<float>(), v => Assert.Equal(1f, v));
            using var m = Tensor.Arange(0, 12, 1, dtype, d).Reshape(3, 4);
            // A transposed slice of it, made dense on the device, then moved to the CPU and back.
            using var view = m.T.Slice(0, 1, 3);
            float[] expected = [1, 5, 9, 2, 6, 10];
            Assert.Equal(expected, view.Contiguous().To(DType.Float32).ToArray<float>());
            Assert.Equal(expected, view.To(Device.Cpu).To(DType.Float32).ToArray<float>());
            Assert.Equal(expected, view.Copy(Device.Cpu).Copy(d).To(DType.Float32).ToArray<float>());
            using var cat = Tensor.Concat([m, m], 0);
            Assert.Equal(dtype, cat.DType);
            Assert.Equal(m.To(DType.Float32).ToArray<float>(), cat.Slice(0, 3, 6).To(DType.Float32).ToArray<float>());
            // Writing through a view converts into the half type.
            using var z = Tensor.Zeros([2, 2], dtype, d);
            z.Slice(1, 1, 2).CopyFrom(Tensor.FromArray(new[] { 1 + (float)P(-9), -2f }).Reshape(2, 1).To(d));
            Assert.Equal(new[] { 0f, dtype == DType.Float16 ? 1 + (float)P(-9) : 1f, 0f, -2f }, z.To(DType.Float32).ToArray<float>());
        }
        var bits = new[] { (Half)1.5f, Half.NaN, Half.NegativeInfinity, BitConverter.UInt16BitsToHalf(1) };
        using var fromHost = Tensor.FromSpan<Half>(bits, [2, 2], d);
        Assert.Equal(bits.Select(BitConverter.HalfToUInt16Bits), fromHost.ToArray<Half>().Select(BitConverter.HalfToUInt16Bits));
        Assert.Equal((Half)1.5f, fromHost.Slice(0, 0, 1).Slice(1, 0, 1).Item<Half>());
        var bf = new[] { (BFloat16)1.5f, (BFloat16)(-0f) };
        Assert.Equal(bf.Select(v => v.Bits), Tensor.FromSpan<BFloat16>(bf, device: d).ToArray<BFloat16>().Select(v => v.Bits));
    }

    [Theory, MemberData(nameof(TestDevices.All), MemberType = typeof(TestDevices))]
    public void PrintsLikePyTorchAndUnsupportedOpsSayToConvert(string device)
    {
        var d = TestDevices.Use(device);
        using var h = Tensor.FromArray(new[] { 1f, 2.5f, 3.14159f }).To(d).To(DType.Float16);
        string suffix = d == Device.Cpu ? "" : $", device='{d}'";
        Assert.Equal($"tensor([1.0000, 2.5000, 3.1406]{suffix}, dtype=torch.float16)", h.ToString());
        using var b = Tensor.FromArray(new[] { 1f, 2f }).To(d).To(DType.BFloat16);
        Assert.Equal($"tensor([1., 2.]{suffix}, dtype=torch.bfloat16)", b.ToString());
        var e = Assert.Throws<NotSupportedException>(() => h.MaxWithIndices(0)); // not (yet) on 16-bit tensors: says what to do
        Assert.Contains("float16", e.Message);
        Assert.Contains("To(DType.Float32)", e.Message);
        var wrong = Assert.Throws<InvalidOperationException>(() => h.ToArray<float>());
        Assert.Contains("ToArray<Half>", wrong.Message);
        Assert.Contains("ToArray<BFloat16>", Assert.Throws<InvalidOperationException>(() => b.ToArray<Half>()).Message);
    }

    [Theory, MemberData(nameof(TestDevices.All), MemberType = typeof(TestDevices))]
    public void GradientsFlowBackThroughCasts(string device)
    {
        var d = TestDevices.Use(device);
        using var x = Tensor.FromArray(new[] { 0.1f, -2f, 3f }).To(d).RequiresGradient();
        using var y = x.To(DType.BFloat16).To(DType.Float32) * Tensor.FromArray(new[] { 1f, 2f, 1 + (float)P(-10) }).To(d);
        y.Sum().Backward();
        // The gradient goes back through both casts: float32 → bfloat16 rounds it (1 + 2⁻¹⁰ becomes 1), then widens exactly.
        Assert.Equal(new[] { 1f, 2f, 1f }, x.Grad!.ToArray<float>());
        Assert.Equal(DType.Float32, x.Grad.DType);
    }
}
