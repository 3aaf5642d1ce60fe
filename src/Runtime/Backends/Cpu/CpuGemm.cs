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
        if (a.DType == DType.Float64) { MatMulF64(a, b, c, g, bias); return; }
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
        switch (Route(g))
        {
            case GemmPath.Small: SmallGemm(g, op); break;
            case GemmPath.Dot: DotGemm(g, op, split); break;
            case GemmPath.Narrow: NarrowGemm(g, op, split); break;
            default: BlockedGemm(g, op, split); break;
        }
    }

    private enum GemmPath { Small, Dot, Narrow, Blocked }

    /// <summary>The path <see cref="Product"/> takes for a product of this shape (each choice measured, benchmarks/NOTES.md):
    /// the unpacked loop only where packing cannot pay (fewer rows than a micro-tile, under 512 multiply-adds); dot products
    /// for A·Bᵀ with at most 8 columns (packed panels would be mostly padding) or one side narrow against long rows; the
    /// rest packed. An attention head's 32×32×32 products run 4–8× faster packed than by the unpacked loop.</summary>
    private static GemmPath Route(GemmArgs g)
    {
        long fmas = (long)g.M * g.N * g.K;
        int edge = Math.Min(g.M, g.N);
        bool dots = g.ColA == 1 && g.RowB == 1; // each C entry a dot product of two contiguous runs
        if (g.M < MR || fmas < 512) return GemmPath.Small;
        if (dots && (g.N <= 8 || g.K >= DotMinK && (edge <= DotMaxEdge / 2 || edge <= DotMaxEdge && g.K >= 256)))
            return GemmPath.Dot;
        if (g.ColA == 1 && g.ColB == 1 && g.K >= DotMinK && g.N <= NarrowN && fmas > 32 * 32 * 32) return GemmPath.Narrow;
        return GemmPath.Blocked;
    }

    /// <summary>Whether <see cref="Product"/> runs a product of this shape by the blocked GEMM (which can take A packed in
    /// advance, <see cref="PackAllA"/>, and add into C).</summary>
    private static bool Blocked(GemmArgs g) => Route(g) == GemmPath.Blocked;

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
        int bAt = AlignedIndex(bPack);
        try
        {
            for (int p0 = 0; p0 < g.K; p0 += KC)
            {
                int kc = Math.Min(KC, g.K - p0);
                fixed (float* raw = bPack) PackB(g, op, p0, kc, nPanels, w, raw + bAt);
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
                        float* bp = raw + bAt, tile = own + (packedA != 0 ? 0 : MC * KC), ap = own;
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

    /// <summary>The index of a's first element on a 64-byte boundary, for buffers packed in one <c>fixed</c> block and read
    /// in another: taken once and used for every access, because an array that is not pinned can move between the two,
    /// and a boundary recomputed after the move would read the packed data shifted (intermittent wrong products when a
    /// collection ran between packing and use). After such a move the data stay right, only unaligned.</summary>
    private static unsafe int AlignedIndex(float[] a)
    {
        fixed (float* p = a) return (int)(Align64(p) - p);
    }
}
