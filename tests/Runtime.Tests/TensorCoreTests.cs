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
