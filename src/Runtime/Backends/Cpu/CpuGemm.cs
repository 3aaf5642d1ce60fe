using System.Buffers;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using V = System.Runtime.Intrinsics.Vector256<float>;

namespace DeepSharp.Backends.Cpu;

/// <summary>
/// Packed, cache-blocked SIMD GEMM (the BLIS scheme: pack a KC×N slab of B into 16-wide panels and an MC×KC block of A
/// into 6-tall panels, then a 6×16 register-blocked FMA micro-kernel). Strided A and B (transposed views) are handled by
/// the packing, so they cost no extra copy.
/// </summary>
internal sealed partial class CpuBackend
{
    private const int MR = 6, NR = 16, KC = 256, MC = 96;

    public unsafe void MatMul(Storage a, Storage b, Storage c, GemmArgs g, Storage? bias = null)
    {
        var xa = (float[])((CpuStorage)a).Data; var xb = (float[])((CpuStorage)b).Data; var xc = (float[])((CpuStorage)c).Data;
        var xbias = g.HasBias != 0 ? (float[])((CpuStorage)bias!).Data : null;
        fixed (float* pa = xa, pb = xb, pc = xc)
        {
            var (A, B, C) = ((nint)pa, (nint)pb, (nint)pc);
            long entry = (long)g.M * g.N * g.K;
            // Many small products (a convolution's per-image GEMMs): one thread per product instead of splitting each.
            bool byEntry = g.Batch > 1 && CpuParallel.Threads > 1 && entry <= BatchParallelMax && entry * g.Batch >= 64 * 64 * 64;
            void One(int bi, bool split)
            {
                var op = new Operands(A + 4 * (nint)(g.OffA + (long)bi * g.BatchA), B + 4 * (nint)(g.OffB + (long)bi * g.BatchB),
                    C + 4 * (nint)bi * g.M * g.N);
                if (entry <= 32 * 32 * 32 || g.M < MR) SmallGemm(g, op);
                else if (g.ColA == 1 && g.RowB == 1 && g.K >= DotMinK && Math.Min(g.M, g.N) <= DotMaxEdge) DotGemm(g, op, split);
                else BlockedGemm(g, op, split);
                if (xbias is not null) AddBias(g, xbias, new Span<float>((float*)op.C, g.M * g.N));
            }
            if (byEntry) CpuParallel.Run(g.Batch, bi => One(bi, split: false));
            else for (int bi = 0; bi < g.Batch; bi++) One(bi, split: true);
        }
    }

    /// <summary>One product's C += bias: per column (HasBias 1, a dense layer) or per row (2, a convolution's channels).</summary>
    private static void AddBias(GemmArgs g, float[] bias, Span<float> c)
    {
        for (int r = 0; r < g.M; r++)
        {
            var row = c.Slice(r * g.N, g.N);
            if (g.HasBias == 1) { AddInto(row, bias.AsSpan(g.OffBias, g.N)); continue; }
            var rb = Vector256.Create(bias[g.OffBias + r]);
            int j = 0;
            for (; j <= g.N - 8; j += 8) (Vector256.Create<float>(row[j..]) + rb).CopyTo(row[j..]);
            for (; j < g.N; j++) row[j] += bias[g.OffBias + r];
        }
    }

    /// <summary>Batched products up to this many multiply-adds each run one per thread (measured on the bench's conv:
    /// 32 products of 32×27×1024).</summary>
    private const long BatchParallelMax = 1L << 22;

    private readonly record struct Operands(nint A, nint B, nint C);

    /// <summary>Row-times-panel loop for tiny products, where packing would cost more than it saves.</summary>
    private static unsafe void SmallGemm(GemmArgs g, Operands op)
    {
        float* a = (float*)op.A, b = (float*)op.B, c = (float*)op.C;
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
                if (g.ColB == 1)
                    for (; j <= g.N - 8; j += 8)
                        Vector256.Store(Fma3(Vector256.Create(av), Vector256.Load(brow + j), Vector256.Load(crow + j)), crow + j);
                for (; j < g.N; j++) crow[j] += av * brow[j * g.ColB];
            }
        }
    }

    /// <summary>Both operands K-contiguous (A·Bᵀ with long rows, e.g. a convolution's weight gradient) and one side narrow:
    /// packing would cost more than the product, so C is computed in 4×3 blocks of dot products straight from the rows.</summary>
    private const int DotMinK = 64, DotMaxEdge = 32;

    private static unsafe void DotGemm(GemmArgs g, Operands op, bool split)
    {
        int blocks = (g.M + 3) / 4;
        Action<int, int> rows = (lo, hi) =>
        {
            float* a = (float*)op.A, b = (float*)op.B, c = (float*)op.C;
            for (int blk = lo; blk < hi; blk++)
            {
                int i = 4 * blk;
                int j = 0;
                if (i + 4 <= g.M)
                    for (; j + 3 <= g.N; j += 3)
                        Dot4x3(a + (long)i * g.RowA, g.RowA, b + (long)j * g.ColB, g.ColB, g.K, c + (long)i * g.N + j, g.N);
                if (i + 4 > g.M) j = 0;                                   // a last block of fewer than four rows: dots only
                for (int r = i; r < Math.Min(i + 4, g.M); r++)
                    for (int jj = j; jj < g.N; jj++)
                        c[(long)r * g.N + jj] = Dot(a + (long)r * g.RowA, b + (long)jj * g.ColB, g.K);
            }
        };
        if (split && CpuParallel.Threads > 1 && blocks > 1 && (long)g.M * g.N * g.K >= 64 * 64 * 64)
            CpuParallel.For(blocks, g.N * g.K, rows);
        else rows(0, blocks);
    }

    /// <summary>c[r, s] = Σ_p a[r·lda + p]·b[s·ldb + p] for r &lt; 4, s &lt; 3: twelve accumulators, seven loads per twelve FMAs.</summary>
    private static unsafe void Dot4x3(float* a, int lda, float* b, int ldb, int k, float* c, int ldc)
    {
        V s00 = default, s01 = default, s02 = default, s10 = default, s11 = default, s12 = default;
        V s20 = default, s21 = default, s22 = default, s30 = default, s31 = default, s32 = default;
        float* a1 = a + lda, a2 = a1 + lda, a3 = a2 + lda, b1 = b + ldb, b2 = b1 + ldb;
        int p = 0;
        for (; p <= k - 8; p += 8)
        {
            V y0 = Vector256.Load(b + p), y1 = Vector256.Load(b1 + p), y2 = Vector256.Load(b2 + p);
            V x = Vector256.Load(a + p); s00 = Fma3(x, y0, s00); s01 = Fma3(x, y1, s01); s02 = Fma3(x, y2, s02);
            x = Vector256.Load(a1 + p); s10 = Fma3(x, y0, s10); s11 = Fma3(x, y1, s11); s12 = Fma3(x, y2, s12);
            x = Vector256.Load(a2 + p); s20 = Fma3(x, y0, s20); s21 = Fma3(x, y1, s21); s22 = Fma3(x, y2, s22);
            x = Vector256.Load(a3 + p); s30 = Fma3(x, y0, s30); s31 = Fma3(x, y1, s31); s32 = Fma3(x, y2, s32);
        }
        float* r0 = c, r1 = c + ldc, r2 = r1 + ldc, r3 = r2 + ldc;
        r0[0] = Vector256.Sum(s00); r0[1] = Vector256.Sum(s01); r0[2] = Vector256.Sum(s02);
        r1[0] = Vector256.Sum(s10); r1[1] = Vector256.Sum(s11); r1[2] = Vector256.Sum(s12);
        r2[0] = Vector256.Sum(s20); r2[1] = Vector256.Sum(s21); r2[2] = Vector256.Sum(s22);
        r3[0] = Vector256.Sum(s30); r3[1] = Vector256.Sum(s31); r3[2] = Vector256.Sum(s32);
        for (; p < k; p++)
        {
            float y0 = b[p], y1 = b1[p], y2 = b2[p];
            r0[0] += a[p] * y0; r0[1] += a[p] * y1; r0[2] += a[p] * y2;
            r1[0] += a1[p] * y0; r1[1] += a1[p] * y1; r1[2] += a1[p] * y2;
            r2[0] += a2[p] * y0; r2[1] += a2[p] * y1; r2[2] += a2[p] * y2;
            r3[0] += a3[p] * y0; r3[1] += a3[p] * y1; r3[2] += a3[p] * y2;
        }
    }

    private static unsafe float Dot(float* x, float* y, int n)
    {
        var s0 = Vector256<float>.Zero; var s1 = Vector256<float>.Zero;
        int p = 0;
        for (; p <= n - 16; p += 16)
        {
            s0 = Fma3(Vector256.Load(x + p), Vector256.Load(y + p), s0);
            s1 = Fma3(Vector256.Load(x + p + 8), Vector256.Load(y + p + 8), s1);
        }
        if (p <= n - 8) { s0 = Fma3(Vector256.Load(x + p), Vector256.Load(y + p), s0); p += 8; }
        float sum = Vector256.Sum(s0 + s1);
        for (; p < n; p++) sum += x[p] * y[p];
        return sum;
    }

    private static unsafe void BlockedGemm(GemmArgs g, Operands op, bool split)
    {
        int nPanels = (g.N + NR - 1) / NR;
        int mBlocks = (g.M + MC - 1) / MC;
        // Enough work items for every core: split the column panels too when M alone gives too few blocks.
        int nChunks = Math.Clamp(2 * CpuParallel.Threads / mBlocks, 1, nPanels);
        float[] bPack = ArrayPool<float>.Shared.Rent(nPanels * NR * KC);
        try
        {
            for (int p0 = 0; p0 < g.K; p0 += KC)
            {
                int kc = Math.Min(KC, g.K - p0);
                fixed (float* bp = bPack) PackB(g, op, p0, kc, nPanels, bp);
                bool accumulate = p0 > 0;
                int items = mBlocks * nChunks;
                long work = (long)g.M * g.N * kc;
                Action<int> item = t =>
                {
                    int mb = t / nChunks, nc = t % nChunks;
                    int i0 = mb * MC, mc = Math.Min(MC, g.M - i0);
                    int j0 = nc * nPanels / nChunks, j1 = (nc + 1) * nPanels / nChunks;
                    var aPack = ArrayPool<float>.Shared.Rent(MC * KC);
                    fixed (float* ap = aPack, bp = bPack)
                    {
                        PackA(g, op, i0, mc, p0, kc, ap);
                        for (int jp = j0; jp < j1; jp++)
                            for (int ir = 0; ir < mc; ir += MR)
                            {
                                int mr = Math.Min(MR, mc - ir), nr = Math.Min(NR, g.N - jp * NR);
                                float* cTile = (float*)op.C + (long)(i0 + ir) * g.N + jp * NR;
                                Micro(kc, ap + ir * kc, bp + jp * NR * kc, cTile, g.N, mr, nr, accumulate);
                            }
                    }
                    ArrayPool<float>.Shared.Return(aPack);
                };
                if (split && items > 1 && CpuParallel.Threads > 1 && work >= 64 * 64 * 64) CpuParallel.Run(items, item);
                else for (int t = 0; t < items; t++) item(t);
            }
        }
        finally { ArrayPool<float>.Shared.Return(bPack); }
    }

    /// <summary>B[p0.., :] → panels of 16 columns, each kc rows of 16 contiguous floats (zero-padded past N).</summary>
    private static unsafe void PackB(GemmArgs g, Operands op, int p0, int kc, int nPanels, float* dst)
    {
        float* b = (float*)op.B;
        for (int jp = 0; jp < nPanels; jp++)
        {
            int j0 = jp * NR, nr = Math.Min(NR, g.N - j0);
            float* panel = dst + jp * NR * kc;
            for (int p = 0; p < kc; p++)
            {
                float* src = b + (long)(p0 + p) * g.RowB + (long)j0 * g.ColB;
                float* d = panel + p * NR;
                if (nr == NR && g.ColB == 1) { Vector256.Store(Vector256.Load(src), d); Vector256.Store(Vector256.Load(src + 8), d + 8); continue; }
                for (int j = 0; j < nr; j++) d[j] = src[j * g.ColB];
                for (int j = nr; j < NR; j++) d[j] = 0f;
            }
        }
    }

    /// <summary>A[i0.., p0..] → panels of 6 rows, each kc columns of 6 contiguous floats (zero-padded past M).</summary>
    private static unsafe void PackA(GemmArgs g, Operands op, int i0, int mc, int p0, int kc, float* dst)
    {
        float* a = (float*)op.A;
        for (int ir = 0; ir < mc; ir += MR)
        {
            int mr = Math.Min(MR, mc - ir);
            float* panel = dst + ir * kc;
            for (int r = 0; r < MR; r++)
            {
                if (r >= mr) { for (int p = 0; p < kc; p++) panel[p * MR + r] = 0f; continue; }
                float* src = a + (long)(i0 + ir + r) * g.RowA + (long)p0 * g.ColA;
                for (int p = 0; p < kc; p++) panel[p * MR + r] = src[p * g.ColA];
            }
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static V Fma3(V a, V b, V c) => Fma.IsSupported ? Fma.MultiplyAdd(a, b, c) : a * b + c;

    /// <summary>C[0..mr, 0..nr] (+)= Apanel(6×kc) · Bpanel(kc×16); twelve accumulators stay in registers.</summary>
    private static unsafe void Micro(int kc, float* a, float* b, float* c, int ldc, int mr, int nr, bool accumulate)
    {
        V c00 = default, c01 = default, c10 = default, c11 = default, c20 = default, c21 = default;
        V c30 = default, c31 = default, c40 = default, c41 = default, c50 = default, c51 = default;
        for (int p = 0; p < kc; p++, a += MR, b += NR)
        {
            V b0 = Vector256.Load(b), b1 = Vector256.Load(b + 8);
            V x = Vector256.Create(a[0]); c00 = Fma3(x, b0, c00); c01 = Fma3(x, b1, c01);
            x = Vector256.Create(a[1]); c10 = Fma3(x, b0, c10); c11 = Fma3(x, b1, c11);
            x = Vector256.Create(a[2]); c20 = Fma3(x, b0, c20); c21 = Fma3(x, b1, c21);
            x = Vector256.Create(a[3]); c30 = Fma3(x, b0, c30); c31 = Fma3(x, b1, c31);
            x = Vector256.Create(a[4]); c40 = Fma3(x, b0, c40); c41 = Fma3(x, b1, c41);
            x = Vector256.Create(a[5]); c50 = Fma3(x, b0, c50); c51 = Fma3(x, b1, c51);
        }
        if (mr == MR && nr == NR)
        {
            if (accumulate)
            {
                c00 += Vector256.Load(c); c01 += Vector256.Load(c + 8); c10 += Vector256.Load(c + ldc); c11 += Vector256.Load(c + ldc + 8);
                c20 += Vector256.Load(c + 2 * ldc); c21 += Vector256.Load(c + 2 * ldc + 8); c30 += Vector256.Load(c + 3 * ldc); c31 += Vector256.Load(c + 3 * ldc + 8);
                c40 += Vector256.Load(c + 4 * ldc); c41 += Vector256.Load(c + 4 * ldc + 8); c50 += Vector256.Load(c + 5 * ldc); c51 += Vector256.Load(c + 5 * ldc + 8);
            }
            Vector256.Store(c00, c); Vector256.Store(c01, c + 8); Vector256.Store(c10, c + ldc); Vector256.Store(c11, c + ldc + 8);
            Vector256.Store(c20, c + 2 * ldc); Vector256.Store(c21, c + 2 * ldc + 8); Vector256.Store(c30, c + 3 * ldc); Vector256.Store(c31, c + 3 * ldc + 8);
            Vector256.Store(c40, c + 4 * ldc); Vector256.Store(c41, c + 4 * ldc + 8); Vector256.Store(c50, c + 5 * ldc); Vector256.Store(c51, c + 5 * ldc + 8);
            return;
        }
        float* t = stackalloc float[MR * NR];
        Vector256.Store(c00, t); Vector256.Store(c01, t + 8); Vector256.Store(c10, t + 16); Vector256.Store(c11, t + 24);
        Vector256.Store(c20, t + 32); Vector256.Store(c21, t + 40); Vector256.Store(c30, t + 48); Vector256.Store(c31, t + 56);
        Vector256.Store(c40, t + 64); Vector256.Store(c41, t + 72); Vector256.Store(c50, t + 80); Vector256.Store(c51, t + 88);
        for (int r = 0; r < mr; r++)
        {
            float* crow = c + (long)r * ldc, trow = t + r * NR;
            if (nr == NR)
            {
                V lo = Vector256.Load(trow), hi = Vector256.Load(trow + 8);
                if (accumulate) { lo += Vector256.Load(crow); hi += Vector256.Load(crow + 8); }
                Vector256.Store(lo, crow); Vector256.Store(hi, crow + 8);
            }
            else
                for (int j = 0; j < nr; j++) crow[j] = accumulate ? crow[j] + trow[j] : trow[j];
        }
    }
}
