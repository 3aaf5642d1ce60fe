using System.Buffers;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using V = System.Runtime.Intrinsics.Vector256<float>;

namespace DeepSharp.Backends.Cpu;

// 3×3 convolutions at stride 1 by Winograd's minimal filtering F(4×4, 3×3) (Lavin & Gray 2016, points 0, ±1, ±2, ∞): each
// 4×4 block of outputs is Aᵀ [(G w Gᵀ) ⊙ (Bᵀ d B)] A for its 6×6 input tile d, so the channel sums become 36 products
// [O, C] · [C, tiles] with 36 multiplies per 16 outputs where the columns' product has 144: 4× fewer multiply-adds (2.25×
// with F(2×2, 3×3), which this replaced; see benchmarks/NOTES.md). The input's gradient is the same kind of convolution
// (the output's gradient padded by 2 − p, with the weight flipped and transposed), and the weight's gradient is
// Gᵀ [Σ_tiles (A dy Aᵀ) ⊙ (Bᵀ d B)] G: 36 products [O, tiles] · [tiles, C].
internal sealed partial class CpuBackend
{
    /// <summary>Input and output channels from which a 3×3 convolution is worth its transforms.</summary>
    private const int WinogradMinChannels = 64;

    /// <summary>Most partial sums of the weight's gradient (fixed by the batch size alone, so the bits are the same on any
    /// number of cores; each is 36·O·C floats, 9 MB for 256 → 256 channels, so few; a product splits over the cores when
    /// there are fewer chunks than cores).</summary>
    private const int WinogradChunks = 2;

    /// <summary>Tiles in the batch from which the transforms pay: the 36 weight blocks are transformed once per call, and
    /// with fewer tiles than this (ResNet's 4×4 maps at batch 32) the columns' product was faster (see benchmarks/NOTES.md).
    /// </summary>
    private const int WinogradMinTiles = 64;

    /// <summary>Tiles per product: images are grouped until their tiles reach this many.</summary>
    private const int WinogradTilesPerProduct = 128;

    /// <summary>Whether a convolution of these windows with <paramref name="o"/> filters goes by Winograd on the CPU.</summary>
    internal static bool WinogradSuits(WindowArgs a, int o) =>
        Avx2.IsSupported && Wide && a is { KH: 3, KW: 3, SH: 1, SW: 1, DH: 1, DW: 1, PH: <= 2, PW: <= 2 }
        && a.C >= WinogradMinChannels && o >= WinogradMinChannels
        && (long)a.N * ((a.OH + 3) / 4) * ((a.OW + 3) / 4) >= WinogradMinTiles
        && 36L * Math.Max(a.C, o) * ((a.OH + 3) / 4) * ((a.OW + 3) / 4) <= int.MaxValue / 2 // one image's tiles fit an array
        && 36L * WinogradChunks * a.C * o <= int.MaxValue; // and the weight gradient's partial sums

    /// <summary>One Winograd convolution: input [N, C, H, W] padded by (PH, PW) → output [N, O, OH, OW].</summary>
    private readonly record struct Wino(int N, int C, int H, int W, int O, int OH, int OW, int PH, int PW)
    {
        public int TilesX => (OW + 3) / 4;
        public int TilesY => (OH + 3) / 4;
        /// <summary>Row length of a padded plane: every tile's 6 columns, and the 8 floats its two 128-bit loads read.</summary>
        public int PaddedWidth => 4 * TilesX + 4;
        /// <summary>Floats of one padded input plane (its rows as the tiles read them).</summary>
        public int PaddedPlane => (4 * TilesY + 2) * PaddedWidth;
        /// <summary>Floats of one padded plane of the output's gradient (4 rows per block, rows as long as the input's).</summary>
        public int GradPlane => 4 * TilesY * PaddedWidth;
        public int Tiles => TilesY * TilesX;
        /// <summary>Images per product (groups start at multiples of it, whatever the thread count).</summary>
        public int Images => Math.Clamp((WinogradTilesPerProduct + Tiles - 1) / Tiles, 1, Math.Max(N, 1));
        public int Groups => (N + Images - 1) / Images;

        public static Wino Of(WindowArgs a, int o) => new(a.N, a.C, a.H, a.W, o, a.OH, a.OW, a.PH, a.PW);

        /// <summary>The input's gradient: the output's gradient convolved back (padded by 2 − p) to the input's size.</summary>
        public Wino Backward => new(N, O, OH, OW, C, H, W, 2 - PH, 2 - PW);
    }

    /// <summary>y = the convolution of x (from a.Offset) by w [O, C, 3, 3] (+ bias), by Winograd.</summary>
    private unsafe void WinogradForward(HostElements<float> xs, HostElements<float> ws, HostElements<float> bs, bool hasBias,
        HostElements<float> ys, WindowArgs a, int o)
    {
        var g = Wino.Of(a, o);
        fixed (float* wp = ws, xp = xs, yp = ys, bp = bs) WinogradRun(xp + a.Offset, g, wp, o, a.C, flip: false, yp, hasBias ? bp : null);
    }

    /// <summary>dx, dw and db of <see cref="WinogradForward"/> for the output gradient g (each when its storage is given).</summary>
    private unsafe void WinogradBackward(HostElements<float> xs, HostElements<float> ws, HostElements<float> gs,
        HostElements<float>? dxs, HostElements<float>? dws, HostElements<float>? dbs, WindowArgs a, int o)
    {
        var g = Wino.Of(a, o);
        fixed (float* xp = xs, wp = ws, gp = gs)
        {
            if (dxs is { } dx) // the input's gradient convolves with the weight flipped and transposed
                fixed (float* dp = dx) WinogradRun(gp, g.Backward, wp, o, a.C, flip: true, dp, null);
            if (dws is not null || dbs is not null) WinogradWeightGrad(xp + a.Offset, gp, g, dws, dbs);
        }
    }

    /// <summary>U[ξ, o, c] = (G w[o, c] Gᵀ)[ξ] for w [O, C, 3, 3]; with <paramref name="flip"/>, U[ξ, c, o] = (G w'[c, o] Gᵀ)[ξ]
    /// for the flipped and transposed weight w'[c, o, i, j] = w[o, c, 2 − i, 2 − j] (the input's gradient). Eight pairs at a
    /// time (gathered), blocks of 64 pairs through a small buffer and out as 36 runs of 64 floats.</summary>
    private static unsafe void TransformWeights(float* w, float* u, int o, int c, bool flip)
    {
        const int Block = 64;
        int pairs = o * c, blocks = (pairs + Block - 1) / Block, cols = flip ? o : c;
        CpuParallel.For(blocks, Block * 64, (lo, hi) =>
        {
            float* f = stackalloc float[72]; // f[8i + l]: value i of lane l's filter (row-major 3×3)
            float* buf = stackalloc float[36 * Block];
            for (int bl = lo; bl < hi; bl++)
            {
                int k0 = bl * Block, count = Math.Min(Block, pairs - k0);
                int r = k0 / cols, q = k0 - r * cols; // U's row and column of pair k0 + k, stepped along
                for (int k = 0; k < count; k += 8)
                {
                    long step = flip ? c : 1; // source pairs of consecutive lanes within one row of U
                    if (count - k >= 8 && q + 8 <= cols)
                    {
                        float* src = w + (flip ? (long)q * c + r : (long)r * c + q) * 9;
                        Transpose8x8(src, 9 * step, f, 8);
                        for (int l = 0; l < 8; l++) f[64 + l] = src[9 * step * l + 8];
                        if ((q += 8) == cols) { q = 0; r++; }
                    }
                    else
                        for (int l = 0; l < 8; l++) // the last pair again past the end
                        {
                            float* src = w + (flip ? (long)q * c + r : (long)r * c + q) * 9;
                            for (int i = 0; i < 9; i++) f[8 * i + l] = src[i];
                            if (k + l + 1 < count && ++q == cols) { q = 0; r++; }
                        }
                    V F(int i) => Vector256.Load(f + 8 * (flip ? 8 - i : i));
                    // t = G f (6×3) down the columns, then U = t Gᵀ (6×6) along the rows, into blocks 6i + j.
                    G6(F(0), F(3), F(6), out var t00, out var t10, out var t20, out var t30, out var t40, out var t50);
                    G6(F(1), F(4), F(7), out var t01, out var t11, out var t21, out var t31, out var t41, out var t51);
                    G6(F(2), F(5), F(8), out var t02, out var t12, out var t22, out var t32, out var t42, out var t52);
                    float* o = buf + k;
                    G6(t00, t01, t02, o, Block);
                    G6(t10, t11, t12, o + 6 * Block, Block);
                    G6(t20, t21, t22, o + 12 * Block, Block);
                    G6(t30, t31, t32, o + 18 * Block, Block);
                    G6(t40, t41, t42, o + 24 * Block, Block);
                    G6(t50, t51, t52, o + 30 * Block, Block);
                }
                for (int xi = 0; xi < 36; xi++)
                    Buffer.MemoryCopy(buf + xi * Block, u + (long)xi * pairs + k0, 4L * count, 4L * count);
            }
        });
    }

    /// <summary>G (f0, f1, f2) for G's rows (1/4, 0, 0), −(1, 1, 1)/6, −(1, −1, 1)/6, (1, 2, 4)/24, (1, −2, 4)/24, (0, 0, 1).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void G6(V f0, V f1, V f2, out V d0, out V d1, out V d2, out V d3, out V d4, out V d5)
    {
        V even = f0 + f2, near = Fma3(Vector256.Create(4f), f2, f0), sixth = Vector256.Create(-1f / 6), f12 = f1 + f1;
        V twentyFourth = Vector256.Create(1f / 24);
        d0 = Vector256.Create(0.25f) * f0;
        d1 = (even + f1) * sixth;
        d2 = (even - f1) * sixth;
        d3 = (near + f12) * twentyFourth;
        d4 = (near - f12) * twentyFourth;
        d5 = f2;
    }

    /// <summary><see cref="G6(V, V, V, out V, out V, out V, out V, out V, out V)"/> stored <paramref name="stride"/> floats
    /// apart.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static unsafe void G6(V f0, V f1, V f2, float* d, int stride)
    {
        G6(f0, f1, f2, out var d0, out var d1, out var d2, out var d3, out var d4, out var d5);
        Vector256.Store(d0, d);
        Vector256.Store(d1, d + stride);
        Vector256.Store(d2, d + 2 * stride);
        Vector256.Store(d3, d + 3 * stride);
        Vector256.Store(d4, d + 4 * stride);
        Vector256.Store(d5, d + 5 * stride);
    }

    /// <summary>y [N, O, OH, OW] = the convolution of x [N, C, H, W] (g's sizes) by the 3×3 weight w [o, c, 3, 3] (+ bias),
    /// or by w flipped and transposed (<paramref name="flip"/>: the input's gradient, g = the forward's <see
    /// cref="Wino.Backward"/>). The 36 transformed weight blocks [g.O, g.C] go straight into the blocked GEMM's packed panels
    /// when its 8-row tiles run (every group then reads them as they are); otherwise into plain blocks, packed once when
    /// several groups share them.</summary>
    private static unsafe void WinogradRun(float* x, Wino g, float* w, int o, int c, bool flip, float* y, float* bias)
    {
        int groups = g.Groups, most = g.Images * g.Tiles;
        bool split = groups < CpuParallel.Threads; // few groups: each product uses the cores instead
        GemmArgs Args(int tiles) => new() { Batch = 1, M = g.O, N = tiles, K = g.C, RowA = g.C, ColA = 1, RowB = tiles, ColB = 1 };
        bool direct = UseVector512 && Blocked(Args(most)), shared = direct || groups > 1 && Blocked(Args(most));
        long packedSize = shared ? PackedASize(g.O, g.C) : 0;
        var pool = ArrayPool<float>.Shared;
        float[]? u = direct ? null : pool.Rent(36 * o * c), packed = shared ? pool.Rent((int)(36 * packedSize)) : null;
        fixed (float* up = u, pk = packed)
        {
            float* pa = pk, ua = up;
            nint Block(int xi) => (nint)(ua + (long)xi * g.O * g.C);
            if (direct) TransformWeightsPacked(w, pa, packedSize, o, c, flip);
            else TransformWeights(w, ua, o, c, flip);
            if (shared && !direct)
                CpuParallel.Run(36, xi => PackAllA(Args(most), new Operands(Block(xi), 0, 0), pa + xi * packedSize));
            WinogradGroups(x, g, pa, packedSize, Block, Args, y, bias, split);
        }
        if (u is not null) pool.Return(u);
        if (packed is not null) pool.Return(packed);
    }

    /// <summary><see cref="TransformWeights"/> written straight into the blocked GEMM's 8-row panels (<see cref="PackAllA"/>'s
    /// layout, block ξ at ξ·<paramref name="size"/>): eight consecutive rows of U at one column per step, so each block
    /// gets one 8-float store; rows past the end are zeros.</summary>
    private static unsafe void TransformWeightsPacked(float* w, float* packed, long size, int o, int c, bool flip)
    {
        int m = flip ? c : o, k = flip ? o : c, panels = (m + 7) / 8;
        var (blocks, height, _) = RowBlocks(m);
        long laneStride = flip ? 9 : 9L * c; // lanes are consecutive rows of U: c (flipped) or o
        CpuParallel.For(panels * k, 64 * 36 * 8, (lo, hi) =>
        {
            float* f = stackalloc float[72]; // f[8i + l]: value i of lane l's filter (row-major 3×3)
            for (int unit = lo; unit < hi; unit++)
            {
                int i0 = unit / k * 8, p = unit % k, rows = Math.Min(8, m - i0);
                float* src = w + (flip ? (long)p * c + i0 : (long)i0 * c + p) * 9;
                if (rows == 8)
                {
                    Transpose8x8(src, laneStride, f, 8);
                    for (int l = 0; l < 8; l++) f[64 + l] = src[laneStride * l + 8];
                }
                else
                    for (int l = 0; l < 8; l++)
                        for (int i = 0; i < 9; i++) f[8 * i + l] = l < rows ? src[laneStride * l + i] : 0f;
                V F(int i) => Vector256.Load(f + 8 * (flip ? 8 - i : i));
                G6(F(0), F(3), F(6), out var t00, out var t10, out var t20, out var t30, out var t40, out var t50);
                G6(F(1), F(4), F(7), out var t01, out var t11, out var t21, out var t31, out var t41, out var t51);
                G6(F(2), F(5), F(8), out var t02, out var t12, out var t22, out var t32, out var t42, out var t52);
                int kb = p / KC, mb = i0 / height, kc = Math.Min(KC, k - kb * KC);
                float* d = packed + ((long)kb * blocks + mb) * height * KC + (long)(i0 - mb * height) * kc + (p - kb * KC) * 8;
                // Block 6i + j of row i of U: G6 along row i stores six blocks, `size` floats apart.
                int stride = checked((int)size);
                G6(t00, t01, t02, d, stride);
                G6(t10, t11, t12, d + 6 * size, stride);
                G6(t20, t21, t22, d + 12 * size, stride);
                G6(t30, t31, t32, d + 18 * size, stride);
                G6(t40, t41, t42, d + 24 * size, stride);
                G6(t50, t51, t52, d + 30 * size, stride);
            }
        });
    }

    /// <summary>The groups of images of <see cref="WinogradRun"/>: tiles in, 36 products, tiles out.</summary>
    private static unsafe void WinogradGroups(float* x, Wino g, float* packed, long packedSize, Func<int, nint> block,
        Func<int, GemmArgs> args, float* y, float* bias, bool split)
    {
        int nb = g.Images, groups = g.Groups, most = nb * g.Tiles;
        CpuParallel.For(groups, (int)Math.Min(int.MaxValue, 36L * g.O * g.C * most), (lo, hi) =>
        {
            var pool = ArrayPool<float>.Shared;
            float[] v = pool.Rent(36 * g.C * most), m = pool.Rent(36 * g.O * most), pad = pool.Rent(nb * g.PaddedPlane);
            pad.AsSpan(0, nb * g.PaddedPlane).Clear();
            try
            {
                fixed (float* vp = v, mp = m, pp = pad)
                    for (int s = lo; s < hi; s++)
                    {
                        int n0 = s * nb, count = Math.Min(nb, g.N - n0), tiles = count * g.Tiles;
                        InputTiles(x, g, n0, count, vp, pp);
                        for (int xi = 0; xi < 36; xi++)
                        {
                            var op = new Operands(block(xi), (nint)(vp + (long)xi * g.C * tiles), (nint)(mp + (long)xi * g.O * tiles));
                            if (packedSize > 0) BlockedGemm(args(tiles), op, split, (nint)(packed + xi * packedSize));
                            else Product(args(tiles), op, split);
                        }
                        OutputTiles(mp, g, n0, count, y, bias);
                    }
            }
            finally
            {
                pool.Return(v);
                pool.Return(m);
                pool.Return(pad);
            }
        });
    }

    /// <summary>
    /// dw [O, C, 3, 3] = Gᵀ [Σ over tiles of dm ⊙ v] G and db [O] = Σ dy. Partial sums per chunk of groups (fixed by the batch
    /// size) are added in chunk order, in the transformed domain, and turned back once.
    /// </summary>
    private unsafe void WinogradWeightGrad(float* x, float* dy, Wino g, HostElements<float>? dws, HostElements<float>? dbs)
    {
        int nb = g.Images, groups = g.Groups, chunks = Math.Min(groups, WinogradChunks), most = nb * g.Tiles, size = 36 * g.O * g.C;
        int l = g.OH * g.OW;
        bool wantW = dws is not null, wantB = dbs is not null, split = chunks < CpuParallel.Threads;
        if (chunks == 0) // an empty batch: no terms
        {
            dws?.AsSpan(0, g.O * g.C * 9).Clear();
            dbs?.AsSpan(0, g.O).Clear();
            return;
        }
        var parts = wantW ? ArrayPool<float>.Shared.Rent(chunks * size) : null;
        var dbParts = wantB ? ArrayPool<double>.Shared.Rent(chunks * g.O) : null;
        dbParts?.AsSpan(0, chunks * g.O).Clear(); // (the first group of each chunk writes its sums, the others add)
        CpuParallel.Run(chunks, chunk =>
        {
            var pool = ArrayPool<float>.Shared;
            float[] v = pool.Rent(36 * g.C * most), m = pool.Rent(36 * g.O * most), du = pool.Rent(g.O * g.C);
            float[] pad = pool.Rent(nb * g.PaddedPlane), gradPad = pool.Rent(nb * g.GradPlane);
            pad.AsSpan(0, nb * g.PaddedPlane).Clear();
            gradPad.AsSpan(0, nb * g.GradPlane).Clear();
            try
            {
                int first = groups * chunk / chunks;
                fixed (float* vp = v, mp = m, dup = du, part = parts, pp = pad, gp = gradPad)
                    for (int s = first; s < groups * (chunk + 1) / chunks; s++)
                    {
                        int n0 = s * nb, count = Math.Min(nb, g.N - n0), tiles = count * g.Tiles;
                        if (wantB)
                            for (int i = 0; i < count; i++)
                                for (int r = 0; r < g.O; r++)
                                    dbParts![chunk * g.O + r] += Sum(dy + ((long)(n0 + i) * g.O + r) * l, l);
                        if (!wantW) continue;
                        InputTiles(x, g, n0, count, vp, pp);
                        GradTiles(dy, g, n0, count, mp, gp);
                        for (int xi = 0; xi < 36; xi++)
                        {
                            // dU[ξ] [O, C] = dm[ξ] [O, tiles] · v[ξ]ᵀ [tiles, C], this chunk's sum (written by its first group,
                            // added by the others: the blocked GEMM adds straight into it; other paths write a product to add).
                            var p = new GemmArgs { Batch = 1, M = g.O, N = g.C, K = tiles, RowA = tiles, ColA = 1, RowB = 1, ColB = tiles };
                            float* sum = part + (long)chunk * size + (long)xi * g.O * g.C;
                            nint dm = (nint)(mp + (long)xi * g.O * tiles), vt = (nint)(vp + (long)xi * g.C * tiles);
                            if (Blocked(p)) BlockedGemm(p, new Operands(dm, vt, (nint)sum), split, addToC: s > first);
                            else if (s == first) Product(p, new Operands(dm, vt, (nint)sum), split);
                            else
                            {
                                Product(p, new Operands(dm, vt, (nint)dup), split);
                                AddInto(sum, dup, g.O * g.C);
                            }
                        }
                    }
            }
            finally
            {
                pool.Return(v);
                pool.Return(m);
                pool.Return(du);
                pool.Return(pad);
                pool.Return(gradPad);
            }
        });
        if (wantW)
        {
            fixed (float* part = parts)
            {
                for (int c = 1; c < chunks; c++) AddInto(part, part + (long)c * size, size);
                fixed (float* dw = dws!.Value) WeightsBack(part, dw, g.O * g.C);
            }
            ArrayPool<float>.Shared.Return(parts!);
        }
        if (wantB)
        {
            SumBiasParts(dbParts!, chunks, dbs!.Value.AsSpan(0, g.O));
            ArrayPool<double>.Shared.Return(dbParts!);
        }
    }

    /// <summary>dw[k] = Gᵀ du[·, k] G (3×3 from 6×6) for each of the <paramref name="pairs"/> (o, c) pairs of du [36, pairs],
    /// eight pairs at a time, 64 at a time through a small buffer (the 36 planes of a large weight thrash the cache).</summary>
    private static unsafe void WeightsBack(float* du, float* dw, int pairs)
    {
        const int Block = 64;
        V* t = stackalloc V[18];
        V* f = stackalloc V[9];
        float* buf = stackalloc float[36 * Block];
        for (int k0 = 0; k0 < pairs; k0 += Block)
        {
            int count = Math.Min(Block, pairs - k0);
            for (int xi = 0; xi < 36; xi++) Buffer.MemoryCopy(du + (long)xi * pairs + k0, buf + xi * Block, 4L * count, 4L * count);
            for (int k = 0; k < count; k += 8)
            {
                for (int j = 0; j < 6; j++) // Gᵀ down the columns: t [3, 6]
                    GT6(Vector256.Load(buf + j * Block + k), Vector256.Load(buf + (6 + j) * Block + k),
                        Vector256.Load(buf + (12 + j) * Block + k), Vector256.Load(buf + (18 + j) * Block + k),
                        Vector256.Load(buf + (24 + j) * Block + k), Vector256.Load(buf + (30 + j) * Block + k), t + j, 6);
                for (int i = 0; i < 3; i++)
                {
                    V* ti = t + 6 * i;
                    GT6(ti[0], ti[1], ti[2], ti[3], ti[4], ti[5], f + 3 * i, 1);
                }
                float* lanes = (float*)f; // f[i] lane l = dw of pair k0 + k + l, entry i
                for (int l = 0; l < Math.Min(8, count - k); l++)
                    for (int i = 0; i < 9; i++) dw[(long)(k0 + k + l) * 9 + i] = lanes[8 * i + l];
            }
        }
    }

    /// <summary>Gᵀ (u0 … u5): (u0/4 − (u1 + u2)/6 + (u3 + u4)/24, (u2 − u1)/6 + (u3 − u4)/12, (u3 + u4 − u1 − u2)/6 + u5), written
    /// <paramref name="stride"/> vectors apart.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static unsafe void GT6(V u0, V u1, V u2, V u3, V u4, V u5, V* d, int stride)
    {
        V s12 = u1 + u2, s34 = u3 + u4, sixth = Vector256.Create(1f / 6);
        d[0] = Vector256.Create(0.25f) * u0 - s12 * sixth + s34 * Vector256.Create(1f / 24);
        d[stride] = (u2 - u1) * sixth + (u3 - u4) * Vector256.Create(1f / 12);
        d[2 * stride] = (s34 - s12) * sixth + u5;
    }
}
