using System.Buffers;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using V = System.Runtime.Intrinsics.Vector256<float>;

namespace DeepSharp.Backends.Cpu;

/// <summary>
/// Packed, cache-blocked SIMD GEMM (the BLIS scheme: pack a KC×N slab of B into 16- or 32-wide panels and an MC×KC block
/// of A into 6- or 8-tall panels, then a 6×16 (Vector256 or Vector128) or 8×32 (Vector512) register-blocked FMA
/// micro-kernel). Strided A and
/// B (transposed views) are handled by the packing, so they cost no extra copy.
/// </summary>
internal sealed partial class CpuBackend
{
    // MR: rows per micro-tile of the Vector256 kernel (6 × 2 accumulators of its 16 registers); MR512 for the Vector512
    // kernel (8 × 2 of 32 registers: row counts that are multiples of 8, as most layer sizes are, leave no partial tile).
    private const int MR = 6, MR512 = 8, NR = 16, KC = 256, MC = 96;

    /// <summary>The blocked GEMM's micro-kernel: 8×32 on Vector512 where the CPU runs it natively (this machine's AVX-512
    /// FMA rate is twice its AVX2 rate), else 6×16 on Vector256 or Vector128 (<see cref="VectorBits"/>).</summary>
    private static bool UseVector512 => VectorBits >= 512;

    public unsafe void MatMul(Storage a, Storage b, Storage c, GemmArgs g, Storage? bias = null)
    {
        var xa = E(a); var xb = E(b); var xc = E(c);
        var xbias = g.Bias != BiasMode.None ? E(bias!) : default;
        fixed (float* pa = xa, pb = xb, pc = xc, pbias = xbias)
        {
            var (A, B, C, Bias) = ((nint)pa, (nint)pb, (nint)pc, (nint)pbias + 4 * (nint)g.OffBias);
            long entry = (long)g.M * g.N * g.K;
            // Many small products (a convolution's per-image GEMMs): one thread per product instead of splitting each.
            bool byEntry = g.Batch > 1 && CpuParallel.Threads > 1 && entry <= BatchParallelMax && entry * g.Batch >= MinSplitFmas;
            void One(int bi, bool split)
            {
                var op = new Operands(A + 4 * (nint)(g.OffA + (long)bi * g.BatchA), B + 4 * (nint)(g.OffB + (long)bi * g.BatchB),
                    C + 4 * (nint)bi * g.M * g.N);
                Product(g, op, split);
                if (g.Bias != BiasMode.None) AddBias(g, (float*)Bias, (float*)op.C);
            }
            if (byEntry) CpuParallel.Run(g.Batch, bi => One(bi, split: false));
            else for (int bi = 0; bi < g.Batch; bi++) One(bi, split: true);
        }
    }

    /// <summary>One product C = A·B (dense [M, N] at op.C; A and B read through the strides in <paramref name="g"/>, offsets
    /// already in the pointers), by the path that suits its shape; <paramref name="split"/> lets it use every core.</summary>
    private static unsafe void Product(GemmArgs g, Operands op, bool split)
    {
        long entry = (long)g.M * g.N * g.K;
        if (entry <= 32 * 32 * 32 || g.M < MR) SmallGemm(g, op);
        else if (g.ColA == 1 && g.RowB == 1 && g.K >= DotMinK && Math.Min(g.M, g.N) <= DotMaxEdge) DotGemm(g, op, split);
        else if (g.ColA == 1 && g.ColB == 1 && g.K >= DotMinK && g.N <= NarrowN) NarrowGemm(g, op, split);
        else BlockedGemm(g, op, split);
    }

    /// <summary>Whether <see cref="Product"/> runs a product of this shape by the blocked GEMM (which can take A packed in
    /// advance, <see cref="PackAllA"/>, and add into C).</summary>
    private static bool Blocked(GemmArgs g) =>
        (long)g.M * g.N * g.K > 32 * 32 * 32 && g.M >= MR
        && !(g.ColA == 1 && g.RowB == 1 && g.K >= DotMinK && Math.Min(g.M, g.N) <= DotMaxEdge)
        && !(g.ColA == 1 && g.ColB == 1 && g.K >= DotMinK && g.N <= NarrowN);

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

    /// <summary>One product's C += bias: per column (a dense layer) or per row (a convolution's channels).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)] // SIMD loops: tier-0 code runs them several times slower
    private static unsafe void AddBias(GemmArgs g, float* bias, float* c)
    {
        for (int r = 0; r < g.M; r++)
        {
            float* row = c + (long)r * g.N;
            if (g.Bias == BiasMode.PerColumn) { AddInto(row, bias, g.N); continue; }
            float v = bias[r];
            int j = 0;
            if (Wide)
                for (var rb = Vector256.Create(v); j <= g.N - 8; j += 8) Vector256.Store(Vector256.Load(row + j) + rb, row + j);
            for (var rh = Vector128.Create(v); j <= g.N - 4; j += 4) Vector128.Store(Vector128.Load(row + j) + rh, row + j);
            for (; j < g.N; j++) row[j] += v;
        }
    }

    /// <summary>dst[0..n) += src[0..n).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)] // SIMD loops: tier-0 code runs them several times slower
    private static unsafe void AddInto(float* dst, float* src, int n)
    {
        int j = 0;
        if (Wide)
            for (; j <= n - 8; j += 8) Vector256.Store(Vector256.Load(dst + j) + Vector256.Load(src + j), dst + j);
        for (; j <= n - 4; j += 4) Vector128.Store(Vector128.Load(dst + j) + Vector128.Load(src + j), dst + j);
        for (; j < n; j++) dst[j] += src[j];
    }

    /// <summary>Products below this many multiply-adds stay on one thread (see benchmarks/NOTES.md, "Moved from code comments").</summary>
    private const long MinSplitFmas = 64 * 64 * 64;

    /// <summary>Batched products up to this many multiply-adds each run one per thread; larger ones are split one by one
    /// (see benchmarks/NOTES.md, "Moved from code comments").</summary>
    private const long BatchParallelMax = 1L << 22;

    private readonly record struct Operands(nint A, nint B, nint C);

    /// <summary>Row-times-panel loop for tiny products, where packing would cost more than it saves.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)] // SIMD loops: tier-0 code runs them several times slower
    private static unsafe void SmallGemm(GemmArgs g, Operands op)
    {
        float* a = (float*)op.A, b = (float*)op.B, c = (float*)op.C;
        bool wide = Wide;
        if (g.ColA == 1 && g.RowB == 1 && g.K >= 8)
        {
            // B is a transposed view (a dense layer's Wᵀ): every C entry is a dot product of two contiguous runs.
            for (int i = 0; i < g.M; i++)
                for (int j = 0; j < g.N; j++)
                    c[(long)i * g.N + j] = Dot(a + (long)i * g.RowA, b + (long)j * g.ColB, g.K);
            return;
        }
        for (int i = 0; i < g.M; i++)
        {
            float* crow = c + (long)i * g.N;
            new Span<float>(crow, g.N).Clear();
            for (int p = 0; p < g.K; p++)
            {
                float av = a[i * g.RowA + p * g.ColA];
                float* brow = b + (long)p * g.RowB;
                int j = 0;
                if (g.ColB == 1 && wide)
                    for (; j <= g.N - 8; j += 8)
                        Vector256.Store(Fma3(Vector256.Create(av), Vector256.Load(brow + j), Vector256.Load(crow + j)), crow + j);
                if (g.ColB == 1)
                    for (; j <= g.N - 4; j += 4)
                        Vector128.Store(Simd128.Fma(Vector128.Create(av), Vector128.Load(brow + j), Vector128.Load(crow + j)), crow + j);
                for (; j < g.N; j++) crow[j] += av * brow[j * g.ColB];
            }
        }
    }

    /// <summary>C = A·B, or C += A·B when <paramref name="addToC"/>; A is packed block by block here, or was packed whole
    /// by <see cref="PackAllA"/> at <paramref name="packedA"/> (non-zero).</summary>
    private static unsafe void BlockedGemm(GemmArgs g, Operands op, bool split, nint packedA = 0, bool addToC = false)
    {
        bool wide = UseVector512, narrow = !Wide;
        int w = wide ? 2 * NR : NR; // panel width: 16 floats (two Vector256 or four Vector128) or 32 (two Vector512)
        int nPanels = (g.N + w - 1) / w;
        var (mBlocks, mcBlock, mrTile) = RowBlocks(g.M);
        // Enough work items for every core: split the column panels too when M alone gives too few blocks.
        int nChunks = split ? Math.Clamp(2 * CpuParallel.Threads / mBlocks, 1, nPanels) : 1;
        float[] bPack = ArrayPool<float>.Shared.Rent(nPanels * w * KC + 16); // + room to align to 64 bytes
        try
        {
            for (int p0 = 0; p0 < g.K; p0 += KC)
            {
                int kc = Math.Min(KC, g.K - p0);
                fixed (float* raw = bPack) PackB(g, op, p0, kc, nPanels, w, Align64(raw));
                bool accumulate = p0 > 0 || addToC;
                int items = mBlocks * nChunks, kb = p0 / KC;
                long work = (long)g.M * g.N * kc;
                Action<int> item = t =>
                {
                    // Column chunk major: a core's share of the items then reads one part of the packed B.
                    int mb = t % mBlocks, nc = t / mBlocks;
                    int i0 = mb * mcBlock, mc = Math.Min(mcBlock, g.M - i0);
                    int j0 = nc * nPanels / nChunks, j1 = (nc + 1) * nPanels / nChunks;
                    var aPack = ArrayPool<float>.Shared.Rent((packedA != 0 ? 0 : MC * KC) + MR512 * 2 * NR); // + the kernels' tile
                    fixed (float* own = aPack, raw = bPack)
                    {
                        float* bp = Align64(raw), tile = own + (packedA != 0 ? 0 : MC * KC), ap = own;
                        if (packedA != 0) ap = (float*)packedA + ((long)kb * mBlocks + mb) * mcBlock * KC;
                        else PackA(g, op, i0, mc, p0, kc, mrTile, ap);
                        for (int jp = j0; jp < j1; jp++)
                            for (int ir = 0; ir < mc; ir += mrTile)
                            {
                                int mr = Math.Min(mrTile, mc - ir), nr = Math.Min(w, g.N - jp * w);
                                float* cTile = (float*)op.C + (long)(i0 + ir) * g.N + jp * w;
                                float* aPanel = ap + ir * kc, bPanel = bp + jp * w * kc;
                                if (wide) Micro512(kc, aPanel, bPanel, cTile, g.N, mr, nr, accumulate, tile);
                                else if (narrow) Micro128(kc, aPanel, bPanel, cTile, g.N, mr, nr, accumulate, tile);
                                else Micro(kc, aPanel, bPanel, cTile, g.N, mr, nr, accumulate, tile);
                            }
                    }
                    ArrayPool<float>.Shared.Return(aPack);
                };
                if (split && items > 1 && CpuParallel.Threads > 1 && work >= MinSplitFmas) CpuParallel.Run(items, item);
                else for (int t = 0; t < items; t++) item(t);
            }
        }
        finally { ArrayPool<float>.Shared.Return(bPack); }
    }

    /// <summary>The first 64-byte boundary at or after p: a Vector512 load that straddles two cache lines costs twice.</summary>
    private static unsafe float* Align64(float* p) => (float*)(((nint)p + 63) & ~(nint)63);

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
