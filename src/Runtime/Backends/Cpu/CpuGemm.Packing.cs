using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using V = System.Runtime.Intrinsics.Vector256<float>;

namespace DeepSharp.Backends.Cpu;

// The blocked GEMM's packing: B into column panels, A into row panels (block by block, or all of A at once when several
// products share it), transposed operands through 8×8 register transposes.
internal sealed partial class CpuBackend
{
    /// <summary>The blocked GEMM's row blocks for M rows: how many, their height (a multiple of the tile's rows, at most
    /// MC; equal shares, so the cores get equal work: M = 128 was one block of 96 rows and one of 32), and the tile's rows.</summary>
    private static (int Blocks, int Height, int TileRows) RowBlocks(int m)
    {
        int mBlocks = (m + MC - 1) / MC, mrTile = UseVector512 ? MR512 : MR;
        return (mBlocks, Math.Min(MC, ((m + mBlocks - 1) / mBlocks + mrTile - 1) / mrTile * mrTile), mrTile);
    }

    /// <summary>Floats of A [m, k] packed whole by <see cref="PackAllA"/>.</summary>
    private static long PackedASize(int m, int k)
    {
        var (blocks, height, _) = RowBlocks(m);
        return (long)(k + KC - 1) / KC * blocks * height * KC;
    }

    /// <summary>All of A packed as the blocked GEMM packs each block (blocks [K / KC][row blocks] of Height·KC floats), so
    /// products that share A — Winograd's transformed weights, once per group of images — pack it once.</summary>
    private static unsafe void PackAllA(GemmArgs g, Operands op, float* dst)
    {
        var (blocks, height, mrTile) = RowBlocks(g.M);
        for (int p0 = 0, kb = 0; p0 < g.K; p0 += KC, kb++)
            for (int mb = 0; mb < blocks; mb++)
            {
                int i0 = mb * height;
                PackA(g, op, i0, Math.Min(height, g.M - i0), p0, Math.Min(KC, g.K - p0), mrTile,
                    dst + ((long)kb * blocks + mb) * height * KC);
            }
    }

    /// <summary>B[p0.., :] → panels of w columns, each kc rows of w contiguous floats (zero-padded past N).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)] // SIMD loops: tier-0 code runs them several times slower
    private static unsafe void PackB(GemmArgs g, Operands op, int p0, int kc, int nPanels, int w, float* dst)
    {
        float* b = (float*)op.B;
        int full = g.ColB == 1 ? g.N / w : 0; // panels copied as whole rows of w floats
        // Row by row through B (its rows are contiguous here), each row scattered over the panels.
        for (int p = 0; p < kc; p++)
        {
            float* src = b + (long)(p0 + p) * g.RowB, d = dst + p * w;
            if (w == 2 * NR)
                for (int jp = 0; jp < full; jp++, src += w, d += w * kc)
                {
                    Vector512.Store(Vector512.Load(src), d);
                    Vector512.Store(Vector512.Load(src + 16), d + 16);
                }
            else if (Wide)
                for (int jp = 0; jp < full; jp++, src += w, d += w * kc)
                {
                    Vector256.Store(Vector256.Load(src), d);
                    Vector256.Store(Vector256.Load(src + 8), d + 8);
                }
            else
                for (int jp = 0; jp < full; jp++, src += w, d += w * kc)
                    new ReadOnlySpan<float>(src, w).CopyTo(new Span<float>(d, w));
        }
        for (int jp = full; jp < nPanels; jp++)
        {
            int j0 = jp * w, nr = Math.Min(w, g.N - j0);
            float* panel = dst + jp * w * kc;
            if (g.RowB == 1 && nr == w && Avx.IsSupported) // Bᵀ row-major (K-contiguous): 8×8 blocks transposed in registers
            {
                int pb = 0;
                for (; pb <= kc - 8; pb += 8)
                    for (int jb = 0; jb < w; jb += 8)
                        Transpose8x8(b + (long)(j0 + jb) * g.ColB + p0 + pb, g.ColB, panel + pb * w + jb, w);
                for (; pb < kc; pb++)
                    for (int j = 0; j < w; j++) panel[pb * w + j] = b[(long)(j0 + j) * g.ColB + p0 + pb];
                continue;
            }
            for (int p = 0; p < kc; p++)
            {
                float* src = b + (long)(p0 + p) * g.RowB + (long)j0 * g.ColB, d = panel + p * w;
                for (int j = 0; j < nr; j++) d[j] = src[j * g.ColB];
                for (int j = nr; j < w; j++) d[j] = 0f;
            }
        }
    }

    /// <summary>A[i0.., p0..] → panels of mrTile rows, each kc columns of mrTile contiguous floats (zero-padded past M).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)] // SIMD loops: tier-0 code runs them several times slower
    private static unsafe void PackA(GemmArgs g, Operands op, int i0, int mc, int p0, int kc, int mrTile, float* dst)
    {
        float* a = (float*)op.A;
        for (int ir = 0; ir < mc; ir += mrTile)
        {
            int mr = Math.Min(mrTile, mc - ir);
            float* panel = dst + ir * kc;
            if (g.ColA == 1 && mr == 8 && mrTile == 8 && Avx.IsSupported) // rows K-contiguous: 8×8 blocks transposed
            {
                float* src = a + (long)(i0 + ir) * g.RowA + p0;
                int p = 0;
                for (; p <= kc - 8; p += 8) Transpose8x8(src + p, g.RowA, panel + p * 8, 8);
                for (; p < kc; p++)
                    for (int r = 0; r < 8; r++) panel[p * 8 + r] = src[(long)r * g.RowA + p];
                continue;
            }
            if (g.RowA == 1 && mr == 8 && mrTile == 8 && Avx.IsSupported) // Aᵀ row-major: each panel row is 8 contiguous floats
            {
                float* src = a + i0 + ir + (long)p0 * g.ColA;
                for (int p = 0; p < kc; p++) Avx.Store(panel + p * 8, Avx.LoadVector256(src + (long)p * g.ColA));
                continue;
            }
            for (int r = 0; r < mrTile; r++)
            {
                if (r >= mr) { for (int p = 0; p < kc; p++) panel[p * mrTile + r] = 0f; continue; }
                float* src = a + (long)(i0 + ir + r) * g.RowA + (long)p0 * g.ColA;
                for (int p = 0; p < kc; p++) panel[p * mrTile + r] = src[p * g.ColA];
            }
        }
    }

    /// <summary>dst row j (8 floats, rows <paramref name="dstStride"/> apart) = column j of the 8×8 block at src (rows
    /// <paramref name="srcStride"/> apart): the packing of a transposed operand, eight floats per store instead of one.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static unsafe void Transpose8x8(float* src, long srcStride, float* dst, long dstStride)
    {
        V r0 = Avx.LoadVector256(src), r1 = Avx.LoadVector256(src + srcStride);
        V r2 = Avx.LoadVector256(src + 2 * srcStride), r3 = Avx.LoadVector256(src + 3 * srcStride);
        V r4 = Avx.LoadVector256(src + 4 * srcStride), r5 = Avx.LoadVector256(src + 5 * srcStride);
        V r6 = Avx.LoadVector256(src + 6 * srcStride), r7 = Avx.LoadVector256(src + 7 * srcStride);
        V t0 = Avx.UnpackLow(r0, r1), t1 = Avx.UnpackHigh(r0, r1), t2 = Avx.UnpackLow(r2, r3), t3 = Avx.UnpackHigh(r2, r3);
        V t4 = Avx.UnpackLow(r4, r5), t5 = Avx.UnpackHigh(r4, r5), t6 = Avx.UnpackLow(r6, r7), t7 = Avx.UnpackHigh(r6, r7);
        V u0 = Avx.Shuffle(t0, t2, 0x44), u1 = Avx.Shuffle(t0, t2, 0xEE), u2 = Avx.Shuffle(t1, t3, 0x44), u3 = Avx.Shuffle(t1, t3, 0xEE);
        V u4 = Avx.Shuffle(t4, t6, 0x44), u5 = Avx.Shuffle(t4, t6, 0xEE), u6 = Avx.Shuffle(t5, t7, 0x44), u7 = Avx.Shuffle(t5, t7, 0xEE);
        Avx.Store(dst, Avx.Permute2x128(u0, u4, 0x20));
        Avx.Store(dst + dstStride, Avx.Permute2x128(u1, u5, 0x20));
        Avx.Store(dst + 2 * dstStride, Avx.Permute2x128(u2, u6, 0x20));
        Avx.Store(dst + 3 * dstStride, Avx.Permute2x128(u3, u7, 0x20));
        Avx.Store(dst + 4 * dstStride, Avx.Permute2x128(u0, u4, 0x31));
        Avx.Store(dst + 5 * dstStride, Avx.Permute2x128(u1, u5, 0x31));
        Avx.Store(dst + 6 * dstStride, Avx.Permute2x128(u2, u6, 0x31));
        Avx.Store(dst + 7 * dstStride, Avx.Permute2x128(u3, u7, 0x31));
    }
}
