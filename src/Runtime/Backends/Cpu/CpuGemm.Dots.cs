using System.Buffers;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using H = System.Runtime.Intrinsics.Vector128<float>;

namespace DeepSharp.Backends.Cpu;

// Products computed as dot products of contiguous rows (both operands K-contiguous, one side narrow): no packing.
internal sealed partial class CpuBackend
{
    /// <summary>Both operands K-contiguous (A·Bᵀ with long rows, e.g. a convolution's weight gradient) and one side narrow:
    /// packing would cost more than the product, so C is computed in 4×3 blocks of dot products straight from the rows.</summary>
    private const int DotMinK = 64, DotMaxEdge = 32;

    private static unsafe void DotGemm(GemmArgs g, Operands op, bool split)
    {
        int blocks = (g.M + 3) / 4;
        int bits = VectorBits;
        Action<int, int> rows = (lo, hi) =>
        {
            float* a = (float*)op.A, b = (float*)op.B, c = (float*)op.C;
            for (int blk = lo; blk < hi; blk++)
            {
                int i = 4 * blk;
                int j = 0;
                if (i + 4 <= g.M)
                    for (; j + 3 <= g.N; j += 3)
                    {
                        float* ai = a + (long)i * g.RowA, bj = b + (long)j * g.ColB, cij = c + (long)i * g.N + j;
                        if (bits >= 512) Dot4x3W(ai, g.RowA, bj, g.ColB, g.K, cij, g.N);
                        else if (bits >= 256) Dot4x3(ai, g.RowA, bj, g.ColB, g.K, cij, g.N);
                        else Dot4x3H(ai, g.RowA, bj, g.ColB, g.K, cij, g.N);
                    }
                if (i + 4 > g.M) j = 0;                                   // a last block of fewer than four rows: dots only
                for (int r = i; r < Math.Min(i + 4, g.M); r++)
                    for (int jj = j; jj < g.N; jj++)
                        c[(long)r * g.N + jj] = Dot(a + (long)r * g.RowA, b + (long)jj * g.ColB, g.K);
            }
        };
        if (split && CpuParallel.Threads > 1 && blocks > 1 && (long)g.M * g.N * g.K >= MinSplitFmas)
            CpuParallel.For(blocks, g.N * g.K, rows);
        else rows(0, blocks);
    }

    /// <summary>Products with a row-major B this narrow (N ≤ 16: a layer with few outputs written as x·W) waste most of a
    /// 32-wide panel in the blocked GEMM; they run as dot products against Bᵀ copied K-contiguous instead.</summary>
    private const int NarrowN = 16;

    private static unsafe void NarrowGemm(GemmArgs g, Operands op, bool split)
    {
        float[] bt = ArrayPool<float>.Shared.Rent(g.N * g.K + 16);
        try
        {
            fixed (float* raw = bt)
            {
                float* t = Align64(raw), b = (float*)op.B;
                for (int p = 0; p < g.K; p++)
                    for (int j = 0; j < g.N; j++) t[(long)j * g.K + p] = b[(long)p * g.RowB + j];
                DotGemm(g with { RowB = 1, ColB = g.K }, new Operands(op.A, (nint)t, op.C), split);
            }
        }
        finally { ArrayPool<float>.Shared.Return(bt); }
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)] // SIMD loops: tier-0 code runs them several times slower
    private static unsafe float Dot(float* x, float* y, int n)
    {
        int p = 0;
        float sum;
        if (Wide)
        {
            var s0 = Vector256<float>.Zero; var s1 = Vector256<float>.Zero;
            for (; p <= n - 16; p += 16)
            {
                s0 = Fma3(Vector256.Load(x + p), Vector256.Load(y + p), s0);
                s1 = Fma3(Vector256.Load(x + p + 8), Vector256.Load(y + p + 8), s1);
            }
            if (p <= n - 8) { s0 = Fma3(Vector256.Load(x + p), Vector256.Load(y + p), s0); p += 8; }
            sum = Vector256.Sum(s0 + s1);
        }
        else
        {
            var s0 = H.Zero; var s1 = H.Zero;
            for (; p <= n - 8; p += 8)
            {
                s0 = Simd128.Fma(Vector128.Load(x + p), Vector128.Load(y + p), s0);
                s1 = Simd128.Fma(Vector128.Load(x + p + 4), Vector128.Load(y + p + 4), s1);
            }
            if (p <= n - 4) { s0 = Simd128.Fma(Vector128.Load(x + p), Vector128.Load(y + p), s0); p += 4; }
            sum = Vector128.Sum(s0 + s1);
        }
        for (; p < n; p++) sum += x[p] * y[p];
        return sum;
    }
}
