using DeepSharp.Backends;
using DeepSharp.Backends.Ilgpu;

namespace DeepSharp.Tests;

/// <summary>
/// <see cref="Kernels.GemmVector{TA, TB}"/> (16×8 groups of 16×8 outputs each, 16-byte staging) on a simulator with
/// 256-thread groups, through the backend's own dispatch: every staging pair, ragged edges, a last k-tile of four, a batch
/// with offsets, both fused biases; and split-K. The shared test simulator has 16-thread groups, where it is never chosen; CUDA runs them
/// on large grids and on long-K products with small grids,
/// which MatMulTests' large case covers there.
/// </summary>
public sealed class GemmVectorTests : IDisposable
{
    private readonly SimulatorBackend _simulator = new(warps: 64); // 256-thread groups
    private IlgpuBackend Backend => _simulator.Backend;

    public void Dispose() => _simulator.Dispose();

    [Theory]
    [InlineData(false, false, 1, 130, 20, 132, 1)]   // A row-major (runs along k), B row-major (runs along n); k-tiles 8 + 8 + 4
    [InlineData(false, true, 1, 132, 12, 136, 2)]    // B column-major (runs along k); bias per row
    [InlineData(true, false, 2, 136, 8, 260, 0)]     // A column-major (runs along m); a batch of two
    [InlineData(true, true, 2, 140, 16, 132, 1)]
    public void MatchesReferenceThroughDispatch(bool aColumnMajor, bool bColumnMajor, int batch, int m, int k, int n, int bias)
    {
        Assert.Equal(16, Backend.Tile);
        const int off = 4; // operands start past a 16-byte prefix, as views into a larger tensor do
        var a = Ref.Random(off + batch * m * k, 1); var b = Ref.Random(off + batch * k * n, 2);
        var bv = Ref.Random(off + Math.Max(m, n), 3);
        var g = new GemmArgs
        {
            Batch = batch, M = m, N = n, K = k,
            OffA = off, BatchA = m * k, RowA = aColumnMajor ? 1 : k, ColA = aColumnMajor ? m : 1,
            OffB = off, BatchB = k * n, RowB = bColumnMajor ? 1 : n, ColB = bColumnMajor ? k : 1,
            Bias = (BiasMode)bias, OffBias = off,
        };
        var c = Run(g, a, b, bv);
        Assert.Contains(Backend.CompiledKernels, name => name.StartsWith("gemmVector", StringComparison.Ordinal));
        Ref.Close(Expected(g, a, b, bv), c, 1e-4, $"{m}x{k}x{n} batch {batch}");
    }

    [Fact]
    public void GivesTheGeneralKernelsBitsExactly()
    {
        // Only the staging differs: each output sums the same products in the same order, so the results are identical.
        var a = Ref.Random(132 * 24, 6); var b = Ref.Random(24 * 136, 7); var bias = Ref.Random(136, 8);
        var g = new GemmArgs { Batch = 1, M = 132, N = 136, K = 24, RowA = 24, ColA = 1, RowB = 136, ColB = 1, Bias = BiasMode.PerColumn };
        var vector = Run(g, a, b, bias);
        Assert.Contains(Backend.CompiledKernels, name => name.StartsWith("gemmVector", StringComparison.Ordinal));
        Backend.UseVectorGemm = false;
        var general = Run(g, a, b, bias);
        Assert.Equal(general, vector);
    }

    [Fact]
    public void UnalignedOperandsFallBackToTheGeneralKernel()
    {
        // K = 10: runs of four k would straddle the edge, and a row-major A has no other run; the general kernel computes it.
        var a = Ref.Random(130 * 10, 4); var b = Ref.Random(10 * 132, 5);
        var g = new GemmArgs { Batch = 1, M = 130, N = 132, K = 10, RowA = 10, ColA = 1, RowB = 132, ColB = 1 };
        var c = Run(g, a, b, [0f]);
        Assert.DoesNotContain(Backend.CompiledKernels, name => name.StartsWith("gemmVector", StringComparison.Ordinal));
        for (int i = 0; i < 130; i += 43)
            for (int j = 0; j < 132; j += 17)
            {
                double acc = 0;
                for (int q = 0; q < 10; q++) acc += (double)a[i * 10 + q] * b[q * 132 + j];
                Assert.Equal(acc, c[i * 132 + j], 1e-4);
            }
    }

    [Theory]
    [InlineData(false, false, 0)]
    [InlineData(true, true, 1)]
    [InlineData(false, true, 2)]
    public void SplitKSumsSlicesOfALongK(bool aColumnMajor, bool bColumnMajor, int bias)
    {
        // One 128×128 block would fill half of this one-multiprocessor simulator: K = 768 runs as two slices of 384.
        int m = 124, n = 128, k = 768;
        var a = Ref.Random(m * k, 9); var b = Ref.Random(k * n, 10); var bv = Ref.Random(m + n, 11);
        var g = new GemmArgs
        {
            Batch = 1, M = m, N = n, K = k,
            RowA = aColumnMajor ? 1 : k, ColA = aColumnMajor ? m : 1, RowB = bColumnMajor ? 1 : n, ColB = bColumnMajor ? k : 1,
            Bias = (BiasMode)bias,
        };
        long launches = Backend.Stats().KernelLaunches;
        var c = Run(g, a, b, bv);
        Assert.Equal(bias == 0 ? 2 : 3, Backend.Stats().KernelLaunches - launches); // slices, their sum, the bias
        var expected = Expected(g, a, b, bv);
        Ref.Close(expected, c, 1e-4, "split-K");
        // Without split-K the same product runs in one launch of the general kernel with 8×8 groups.
        Backend.UseSplitK = false;
        launches = Backend.Stats().KernelLaunches;
        Ref.Close(expected, Run(g, a, b, bv), 1e-4, "8×8 groups");
        Assert.Equal(1, Backend.Stats().KernelLaunches - launches);
    }

    [Theory]
    [InlineData(false, true, 768, 3, 0)]   // a convolution's weight gradient: dY [batch, O, L] times a transposed view of the columns
    [InlineData(true, false, 768, 3, 2)]   // A broadcast over the batch (stride 0), column-major
    [InlineData(false, false, 1024, 4, 1)] // K = 1024: four slices of 256 fill the target of 8 blocks (12 entries)
    [InlineData(false, false, 760, 1, 0)]  // K = 760 has no whole k-tile slices of ≥ 256: the general kernel, 8×8 groups
    public void SplitKSlicesEveryProductOfABatch(bool aColumnMajor, bool bColumnMajor, int k, int slices, int bias)
    {
        // Three 40×36 products: three blocks against a target of eight, so each product's K is cut into slices.
        const int batch = 3, m = 40, n = 36;
        Backend.FillTarget = 8;
        var a = Ref.Random(batch * m * k, 12); var b = Ref.Random(batch * k * n, 13); var bv = Ref.Random(m + n, 14);
        var g = new GemmArgs
        {
            Batch = batch, M = m, N = n, K = k,
            BatchA = aColumnMajor ? 0 : m * k, RowA = aColumnMajor ? 1 : k, ColA = aColumnMajor ? m : 1,
            BatchB = k * n, RowB = bColumnMajor ? 1 : n, ColB = bColumnMajor ? k : 1,
            Bias = (BiasMode)bias,
        };
        long launches = Backend.Stats().KernelLaunches;
        var c = Run(g, a, b, bv);
        Assert.Equal((slices > 1 ? 2 : 1) + (bias != 0 && slices > 1 ? 1 : 0), Backend.Stats().KernelLaunches - launches);
        Ref.Close(Expected(g, a, b, bv), c, 1e-4, $"{slices} slices");
        Assert.Equal(slices > 1, Backend.CompiledKernels.Any(name => name.StartsWith("gemmVector", StringComparison.Ordinal)));
    }

    [Theory]
    [InlineData(0, 0, 1, 8, 1, 128, 16, IlgpuBackend.Run.AlongK)]    // row-major A: runs along k
    [InlineData(0, 0, 1, 1, 128, 128, 16, IlgpuBackend.Run.AlongMn)]  // column-major A: runs along m
    [InlineData(2, 0, 1, 8, 1, 128, 16, IlgpuBackend.Run.None)]    // offset not a multiple of 4
    [InlineData(0, 6, 2, 8, 1, 128, 16, IlgpuBackend.Run.None)]    // batch stride not a multiple of 4
    [InlineData(0, 6, 1, 8, 1, 128, 16, IlgpuBackend.Run.AlongK)]    // ...which does not matter for a single product
    [InlineData(0, 0, 1, 10, 1, 128, 10, IlgpuBackend.Run.None)]   // K not a multiple of 4 and no unit stride along m
    [InlineData(0, 0, 1, 1, 128, 128, 10, IlgpuBackend.Run.AlongMn)]  // ...but a column-major A still has runs along m
    [InlineData(0, 0, 1, 0, 1, 128, 16, IlgpuBackend.Run.AlongK)]    // a broadcast row (stride 0) is still aligned
    public void VectorStagePicksAlignedRuns(int off, int batchStride, int batch, int mnStride, int kStride, int mn, int k,
        object expected) =>
        Assert.Equal(expected, IlgpuBackend.VectorStage(off, batchStride, batch, mnStride, kStride, mn, k)); // object: the enum is internal

    /// <summary>C in double precision from the same operands, strides and bias.</summary>
    private static double[] Expected(GemmArgs g, float[] a, float[] b, float[] bias)
    {
        var expected = new double[g.Batch * g.M * g.N];
        for (int p = 0; p < g.Batch; p++)
            for (int i = 0; i < g.M; i++)
                for (int j = 0; j < g.N; j++)
                {
                    double acc = g.Bias == BiasMode.PerColumn ? bias[g.OffBias + j] : g.Bias == BiasMode.PerRow ? bias[g.OffBias + i] : 0;
                    for (int q = 0; q < g.K; q++)
                        acc += (double)a[g.OffA + p * g.BatchA + i * g.RowA + q * g.ColA]
                            * b[g.OffB + p * g.BatchB + q * g.RowB + j * g.ColB];
                    expected[(p * g.M + i) * g.N + j] = acc;
                }
        return expected;
    }

    private float[] Run(GemmArgs g, float[] a, float[] b, float[] bias)
    {
        Storage[] s = [Backend.Allocate(DType.Float32, a.Length), Backend.Allocate(DType.Float32, b.Length),
            Backend.Allocate(DType.Float32, bias.Length), Backend.Allocate(DType.Float32, g.Batch * g.M * g.N)];
        foreach (var x in s) x.AddRef();
        try
        {
            Backend.Upload<float>(a, s[0]); Backend.Upload<float>(b, s[1]); Backend.Upload<float>(bias, s[2]);
            Backend.MatMul(s[0], s[1], s[3], g, g.Bias != BiasMode.None ? s[2] : null);
            var c = new float[g.Batch * g.M * g.N];
            Backend.Download<float>(s[3], c);
            return c;
        }
        finally { foreach (var x in s) x.Release(); }
    }
}
