using DeepSharp.Backends.Ilgpu;

namespace DeepSharp.Tests;

/// <summary>16-bit matrix products against a float64 reference of the rounded operands: on CUDA through the tensor-core
/// kernel (turned on for the test), elsewhere widened to float32; the same tolerance, float32 accumulation's.</summary>
public class TensorCoreTests
{
    [Theory, MemberData(nameof(TestDevices.All), MemberType = typeof(TestDevices))]
    public void HalfProductsMatchAFloat64Reference(string device)
    {
        var d = TestDevices.Use(device);
        var backend = d.Backend as IlgpuBackend;
        bool saved = backend?.TensorCoreGemm ?? false;
        if (backend is not null) backend.TensorCoreGemm = true;
        try
        {
            if (d.Kind == DeviceKind.Cuda) Assert.True(backend!.HasTensorCoreGemm);
            foreach (var dtype in new[] { DType.BFloat16, DType.Float16 })
                foreach (var (m, n, k) in new[] { (1, 1, 1), (16, 8, 16), (17, 33, 45), (64, 64, 64), (130, 70, 100), (5, 200, 3) })
                {
                    using var a = Tensor.FromArray(Ref.Random(m * k, m + k), [m, k]).To(d).To(dtype);
                    using var bt = Tensor.FromArray(Ref.Random(n * k, n * 3 + k), [n, k]).To(d).To(dtype);
                    using var b = bt.T; // a transposed view: made dense first
                    using var c = Tensor.MatMul(a, b);
                    Assert.Equal(dtype, c.DType);
                    double[] x = a.ToDoubleArray(), y = b.Contiguous().ToDoubleArray(), got = c.ToDoubleArray();
                    for (int i = 0; i < m; i++)
                        for (int j = 0; j < n; j++)
                        {
                            double sum = 0, mag = 0;
                            for (int l = 0; l < k; l++)
                            {
                                sum += x[i * k + l] * y[l * n + j];
                                mag += Math.Abs(x[i * k + l] * y[l * n + j]);
                            }
                            double ulp = dtype == DType.BFloat16 ? 1.0 / 256 : 1.0 / 2048; // one rounding of the result
                            Assert.True(Math.Abs(got[i * n + j] - sum) <= Math.Abs(sum) * ulp + mag * 1e-6 + 1e-30,
                                $"{dtype} {m}×{n}×{k} [{i}, {j}]: {got[i * n + j]} vs {sum}");
                        }
                }
        }
        finally { if (backend is not null) backend.TensorCoreGemm = saved; }
    }
}

/// <summary>TF32 products (a process-wide switch: alone, in the serial collection): on CUDA with
/// <see cref="Device.AllowTf32"/> within TF32's rounding of the operands; elsewhere the switch changes nothing.</summary>
[Collection("Serial")]
public class Tf32Tests
{
    /// <summary>x rounded to 10 fraction bits, to nearest with ties away from zero, in exact double arithmetic.</summary>
    private static float Tf32Reference(float x)
    {
        if (!float.IsFinite(x) || x == 0) return x;
        int e = Math.ILogB(x); // x = ±1.f · 2^e (subnormals too: the spacing is 2^(e − 10) either way below)
        double ulp = Math.ScaleB(1.0, Math.Max(e, -126) - 10);
        double q = Math.Abs(x) / ulp, r = Math.Floor(q) + (q - Math.Floor(q) >= 0.5 ? 1 : 0);
        return (float)Math.CopySign(r * ulp, x);
    }

    [Fact]
    public void OperandsRoundLikeCvtRna()
    {
        var rng = new Random(32);
        for (int i = 0; i < 200_000; i++)
        {
            float x = BitConverter.UInt32BitsToSingle((uint)rng.NextInt64(0, 1L << 32));
            if (float.IsNaN(x)) continue;
            Assert.Equal(Tf32Reference(x), BitConverter.UInt32BitsToSingle(Kernels.Tf32(x)));
        }
        Assert.Equal(1f, BitConverter.UInt32BitsToSingle(Kernels.Tf32(1 + (float)Math.ScaleB(1, -12))));      // below the tie
        float tie = 1 + (float)Math.ScaleB(1, -11); // halfway between 1 and the next TF32: away from zero
        Assert.Equal(1 + (float)Math.ScaleB(1, -10), BitConverter.UInt32BitsToSingle(Kernels.Tf32(tie)));
        Assert.True(float.IsNaN(BitConverter.UInt32BitsToSingle(Kernels.Tf32(float.NaN))));
    }

    [Theory, MemberData(nameof(TestDevices.All), MemberType = typeof(TestDevices))]
    public void Float32ProductsStayWithinTf32sRounding(string device)
    {
        var d = TestDevices.Use(device);
        Device.AllowTf32 = true;
        try
        {
            foreach (var (m, n, k) in new[] { (1, 1, 1), (17, 33, 45), (64, 64, 64), (130, 70, 100) })
            {
                var x = Ref.Random(m * k, m + k);
                var y = Ref.Random(k * n, n * 3 + k);
                using var a = Tensor.FromArray(x, [m, k]).To(d);
                using var b = Tensor.FromArray(y, [k, n]).To(d);
                var got = Tensor.MatMul(a, b).ToArray<float>();
                double tol = d.Kind == DeviceKind.Cuda ? 2.0 / 1024 : 1e-6; // two operands each within 2^-11 relative
                for (int i = 0; i < m; i++)
                    for (int j = 0; j < n; j++)
                    {
                        double sum = 0, mag = 0;
                        for (int l = 0; l < k; l++)
                        {
                            double p = (double)x[i * k + l] * y[l * n + j];
                            (sum, mag) = (sum + p, mag + Math.Abs(p));
                        }
                        Assert.True(Math.Abs(got[i * n + j] - sum) <= mag * tol + 1e-30,
                            $"{m}×{n}×{k} [{i}, {j}]: {got[i * n + j]} vs {sum}");
                    }
            }
            // A product that shows which path ran: 1 + 2⁻¹¹ + 2⁻¹³ is past TF32's halfway point, so TF32 reads it as 1 + 2⁻¹⁰.
            float odd = 1 + (float)Math.ScaleB(1, -11) + (float)Math.ScaleB(1, -13);
            using var single = Tensor.FromArray(new[] { odd }, [1, 1]).To(d);
            using var one = Tensor.Ones([1, 1], device: d);
            Assert.Equal(d.Kind == DeviceKind.Cuda ? 1 + (float)Math.ScaleB(1, -10) : odd, Tensor.MatMul(single, one).Item<float>());
        }
        finally { Device.AllowTf32 = false; }
    }
}
