using System.Buffers;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using V = System.Runtime.Intrinsics.Vector256<float>;

namespace DeepSharp.Backends.Cpu;

// 3×3 convolutions at stride 1 by Winograd's minimal filtering F(2×2, 3×3) (Lavin & Gray 2016): each 2×2 block of outputs
// is Aᵀ [(G w Gᵀ) ⊙ (Bᵀ d B)] A for its 4×4 input tile d, so the channel sums become 16 products [O, C] · [C, tiles]
// with 16 multiplies per tile where the columns' product has 36: 2.25× fewer multiply-adds. The input's gradient is the
// same kind of convolution (the output's gradient padded by 2 − p, with the weight flipped and transposed), and the weight's
// gradient is Gᵀ [Σ_tiles (A dy Aᵀ) ⊙ (Bᵀ d B)] G: 16 products [O, tiles] · [tiles, C]. ResNet's 3×3 convolutions are
// 88 % of its multiply-adds (see benchmarks/NOTES.md).
internal sealed partial class CpuBackend
{
    /// <summary>Input and output channels from which a 3×3 convolution is worth its transforms.</summary>
    private const int WinogradMinChannels = 64;

    /// <summary>Most partial sums of the weight's gradient (fixed by the batch size alone, so the bits are the same on any
    /// number of cores; each is 16·O·C floats, 16 MB for 512 → 512 channels, so few; a product splits over the cores when
    /// there are fewer chunks than cores).</summary>
    private const int WinogradChunks = 4;

    /// <summary>Tiles per product: images are grouped until their tiles reach this many.</summary>
    private const int WinogradTilesPerProduct = 128;

    /// <summary>Whether a convolution of these windows with <paramref name="o"/> filters goes by Winograd on the CPU.</summary>
    internal static bool WinogradSuits(WindowArgs a, int o) =>
        Avx2.IsSupported && Wide && a is { KH: 3, KW: 3, SH: 1, SW: 1, DH: 1, DW: 1, PH: <= 2, PW: <= 2 }
        && a.C >= WinogradMinChannels && o >= WinogradMinChannels
        && 16L * Math.Max(a.C, o) * ((a.OH + 1) / 2) * ((a.OW + 1) / 2) <= int.MaxValue / 2 // one image's tiles fit an array
        && 16L * WinogradChunks * a.C * o <= int.MaxValue; // and the weight gradient's partial sums

    /// <summary>One Winograd convolution: input [N, C, H, W] padded by (PH, PW) → output [N, O, OH, OW].</summary>
    private readonly record struct Wino(int N, int C, int H, int W, int O, int OH, int OW, int PH, int PW)
    {
        public int TilesX => (OW + 1) / 2;
        public int TilesY => (OH + 1) / 2;
        /// <summary>Row length of a padded plane: the tiles of a row in whole vectors of 8, plus the last loads' reach.</summary>
        public int PaddedWidth => 2 * ((TilesX + 7) / 8 * 8) + 8;
        /// <summary>Floats of one padded input plane (its rows as the tiles read them).</summary>
        public int PaddedPlane => (2 * TilesY + 2) * PaddedWidth;
        public int Tiles => (OH + 1) / 2 * TilesX;
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
        var u = ArrayPool<float>.Shared.Rent(16 * o * a.C);
        try
        {
            fixed (float* wp = ws, up = u, xp = xs, yp = ys, bp = bs)
            {
                TransformWeights(wp, up, o, a.C);
                WinogradRun(xp + a.Offset, g, up, yp, hasBias ? bp : null, transposed: false);
            }
        }
        finally { ArrayPool<float>.Shared.Return(u); }
    }

    /// <summary>dx, dw and db of <see cref="WinogradForward"/> for the output gradient g (each when its storage is given).</summary>
    private unsafe void WinogradBackward(HostElements<float> xs, HostElements<float> ws, HostElements<float> gs,
        HostElements<float>? dxs, HostElements<float>? dws, HostElements<float>? dbs, WindowArgs a, int o)
    {
        var g = Wino.Of(a, o);
        fixed (float* xp = xs, wp = ws, gp = gs)
        {
            if (dxs is { } dx)
            {
                // The input's gradient convolves with the weight flipped and transposed, whose transform is U's with the
                // rows and columns of each 4×4 block in the order (3, 1, 2, 0), each [O, C] block read transposed.
                var u = ArrayPool<float>.Shared.Rent(16 * o * a.C);
                try
                {
                    fixed (float* up = u, dp = dx)
                    {
                        TransformWeights(wp, up, o, a.C);
                        WinogradRun(gp, g.Backward, up, dp, null, transposed: true);
                    }
                }
                finally { ArrayPool<float>.Shared.Return(u); }
            }
            if (dws is not null || dbs is not null) WinogradWeightGrad(xp + a.Offset, gp, g, dws, dbs);
        }
    }

    /// <summary>U[ξ, o, c] = (G w[o, c] Gᵀ)[ξ] for w [O, C, 3, 3]: blocks of 64 (o, c) pairs into a small buffer, then
    /// written out as 16 runs of 64 floats (written one value at a time, the 16 planes of a large weight thrash the cache).</summary>
    private static unsafe void TransformWeights(float* w, float* u, int o, int c)
    {
        const int Block = 64;
        int pairs = o * c, blocks = (pairs + Block - 1) / Block;
        CpuParallel.For(blocks, Block * 64, (lo, hi) =>
        {
            float* t = stackalloc float[12];
            float* buf = stackalloc float[16 * Block];
            for (int bl = lo; bl < hi; bl++)
            {
                int k0 = bl * Block, count = Math.Min(Block, pairs - k0);
                for (int k = 0; k < count; k++)
                {
                    float* f = w + (long)(k0 + k) * 9;
                    for (int j = 0; j < 3; j++) // t = G f (4×3)
                    {
                        float f0 = f[j], f1 = f[3 + j], f2 = f[6 + j];
                        t[j] = f0; t[3 + j] = 0.5f * (f0 + f1 + f2); t[6 + j] = 0.5f * (f0 - f1 + f2); t[9 + j] = f2;
                    }
                    for (int i = 0; i < 4; i++) // U = t Gᵀ (4×4)
                    {
                        float t0 = t[3 * i], t1 = t[3 * i + 1], t2 = t[3 * i + 2];
                        buf[(4 * i) * Block + k] = t0;
                        buf[(4 * i + 1) * Block + k] = 0.5f * (t0 + t1 + t2);
                        buf[(4 * i + 2) * Block + k] = 0.5f * (t0 - t1 + t2);
                        buf[(4 * i + 3) * Block + k] = t2;
                    }
                }
                for (int xi = 0; xi < 16; xi++)
                    Buffer.MemoryCopy(buf + xi * Block, u + (long)xi * pairs + k0, 4L * count, 4L * count);
            }
        });
    }

    /// <summary>Where the input's gradient finds block ξ of its transformed weight: U's block with both indices in the order
    /// (3, 1, 2, 0) (G times a reversed vector is G times the vector with its first and last rows swapped).</summary>
    private static int Flipped(int xi) => 4 * Reverse(xi / 4) + Reverse(xi % 4);

    private static int Reverse(int i) => i switch { 0 => 3, 3 => 0, _ => i };

    /// <summary>y [N, O, OH, OW] = the convolution of x [N, C, H, W] whose transformed weight is u [16, O, C] (+ bias), or,
    /// <paramref name="transposed"/>, u [16, C, O] read as <see cref="Flipped"/> blocks transposed (the input's gradient).</summary>
    private static unsafe void WinogradRun(float* x, Wino g, float* u, float* y, float* bias, bool transposed)
    {
        int nb = g.Images, groups = g.Groups, most = nb * g.Tiles;
        bool split = groups < CpuParallel.Threads; // few groups: each product uses the cores instead
        CpuParallel.For(groups, (int)Math.Min(int.MaxValue, 16L * g.O * g.C * most), (lo, hi) =>
        {
            var pool = ArrayPool<float>.Shared;
            float[] v = pool.Rent(16 * g.C * most), m = pool.Rent(16 * g.O * most + 8), pad = pool.Rent(g.PaddedPlane);
            pad.AsSpan(0, g.PaddedPlane).Clear();
            try
            {
                fixed (float* vp = v, mp = m, pp = pad)
                    for (int s = lo; s < hi; s++)
                    {
                        int n0 = s * nb, count = Math.Min(nb, g.N - n0), tiles = count * g.Tiles;
                        InputTiles(x, g, n0, count, vp, pp);
                        for (int xi = 0; xi < 16; xi++)
                        {
                            var p = transposed
                                ? new GemmArgs { Batch = 1, M = g.O, N = tiles, K = g.C, RowA = 1, ColA = g.O, RowB = tiles, ColB = 1 }
                                : new GemmArgs { Batch = 1, M = g.O, N = tiles, K = g.C, RowA = g.C, ColA = 1, RowB = tiles, ColB = 1 };
                            float* block = u + (long)(transposed ? Flipped(xi) : xi) * g.O * g.C;
                            Product(p, new Operands((nint)block, (nint)(vp + (long)xi * g.C * tiles), (nint)(mp + (long)xi * g.O * tiles)),
                                split);
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
    /// v[ξ, c, t] = (Bᵀ d B)[ξ] for each 4×4 tile d of images [n0, n0 + count) (tile t = image·Tiles + ty·TilesX + tx starts
    /// at row 2ty − PH, column 2tx − PW; zeros outside the image). Each plane is first copied into <paramref name="pad"/>
    /// with its zeros around it (cleared by the caller once: every plane writes the same place), then eight tiles of a row
    /// are transformed at once: a tile's columns 0 and 1 are the even and odd elements of 16 floats of its rows, columns 2
    /// and 3 those of the 16 floats two further on.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static unsafe void InputTiles(float* x, Wino g, int n0, int count, float* v, float* pad)
    {
        int tiles = count * g.Tiles, tx = g.TilesX, wp = g.PaddedWidth, h = g.H, w = g.W;
        long plane = (long)g.C * tiles;
        for (int i = 0; i < count; i++)
            for (int c = 0; c < g.C; c++)
            {
                float* img = x + ((long)(n0 + i) * g.C + c) * h * w;
                for (int r = 0; r < h; r++) Buffer.MemoryCopy(img + r * w, pad + (r + g.PH) * wp + g.PW, 4L * w, 4L * w);
                float* dst = v + (long)c * tiles + i * g.Tiles;
                for (int ty = 0; ty < g.TilesY; ty++)
                    for (int t0 = 0; t0 < tx; t0 += 8)
                    {
                        float* row = pad + 2 * ty * wp + 2 * t0;
                        Columns(row, out var d00, out var d01, out var d02, out var d03);
                        Columns(row + wp, out var d10, out var d11, out var d12, out var d13);
                        Columns(row + 2 * wp, out var d20, out var d21, out var d22, out var d23);
                        Columns(row + 3 * wp, out var d30, out var d31, out var d32, out var d33);
                        float* o = dst + ty * tx + t0;
                        int n = Math.Min(8, tx - t0);
                        // Bᵀ d down the columns (d0 − d2, d1 + d2, d2 − d1, d1 − d3), then the same along each row.
                        InputRow(o, plane, n, d00 - d20, d01 - d21, d02 - d22, d03 - d23);
                        InputRow(o + 4 * plane, plane, n, d10 + d20, d11 + d21, d12 + d22, d13 + d23);
                        InputRow(o + 8 * plane, plane, n, d20 - d10, d21 - d11, d22 - d12, d23 - d13);
                        InputRow(o + 12 * plane, plane, n, d10 - d30, d11 - d31, d12 - d32, d13 - d33);
                    }
            }
    }

    /// <summary>Columns 0–3 of eight consecutive tiles of one row (tile j's column k is row[2j + k]).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static unsafe void Columns(float* row, out V c0, out V c1, out V c2, out V c3)
    {
        (c0, c1) = Deinterleave(Vector256.Load(row), Vector256.Load(row + 8));
        (c2, c3) = Deinterleave(Vector256.Load(row + 2), Vector256.Load(row + 10));
    }

    /// <summary>(a0 a2 … a6 b0 b2 … b6, a1 a3 … a7 b1 b3 … b7).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static (V Even, V Odd) Deinterleave(V a, V b)
    {
        var even = Avx.Shuffle(a, b, 0b10_00_10_00); // a0 a2 b0 b2 | a4 a6 b4 b6
        var odd = Avx.Shuffle(a, b, 0b11_01_11_01);
        return (Avx2.Permute4x64(even.AsDouble(), 0b11_01_10_00).AsSingle(), Avx2.Permute4x64(odd.AsDouble(), 0b11_01_10_00).AsSingle());
    }

    /// <summary>One row of the 4×4 transform (r0 − r2, r1 + r2, r2 − r1, r1 − r3) stored for n ≤ 8 tiles.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static unsafe void InputRow(float* o, long plane, int n, V r0, V r1, V r2, V r3)
    {
        Put(o, n, r0 - r2);
        Put(o + plane, n, r1 + r2);
        Put(o + 2 * plane, n, r2 - r1);
        Put(o + 3 * plane, n, r1 - r3);
    }

    /// <summary>The first n ≤ 8 lanes of <paramref name="value"/> to p.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static unsafe void Put(float* p, int n, V value)
    {
        if (n == 8) Vector256.Store(value, p);
        else Avx.MaskStore(p, Vector256.LessThan(Vector256.Create(0, 1, 2, 3, 4, 5, 6, 7), Vector256.Create(n)).AsSingle(), value);
    }

    /// <summary>y's 2×2 output blocks Aᵀ m A from m [16, O, tiles] (+ bias), eight tiles of a row at a time, the parts inside
    /// the output (m has 8 floats of slack past its end: the last tiles' vectors read past them).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static unsafe void OutputTiles(float* m, Wino g, int n0, int count, float* y, float* bias)
    {
        int tiles = count * g.Tiles, tx = g.TilesX, oh = g.OH, ow = g.OW;
        long plane = (long)g.O * tiles;
        for (int i = 0; i < count; i++)
            for (int o = 0; o < g.O; o++)
            {
                float* img = y + ((long)(n0 + i) * g.O + o) * oh * ow;
                float* src = m + (long)o * tiles + i * g.Tiles;
                var b = Vector256.Create(bias is null ? 0f : bias[o]);
                for (int ty = 0; ty < g.TilesY; ty++)
                    for (int t0 = 0; t0 < tx; t0 += 8)
                    {
                        float* q = src + ty * tx + t0;
                        // Aᵀ m down the columns (m0 + m1 + m2, m1 − m2 − m3) for each of the 4 columns, then along the rows.
                        V s0 = Sum3(q, 0, plane), s1 = Sum3(q, 1, plane), s2 = Sum3(q, 2, plane), s3 = Sum3(q, 3, plane);
                        V e0 = Diff3(q, 0, plane), e1 = Diff3(q, 1, plane), e2 = Diff3(q, 2, plane), e3 = Diff3(q, 3, plane);
                        int r0 = 2 * ty, c0 = 2 * t0, n = Math.Min(16, ow - c0);
                        OutputRow(img + r0 * ow + c0, n, s0 + s1 + s2 + b, s1 - s2 - s3 + b);
                        if (r0 + 1 < oh) OutputRow(img + (r0 + 1) * ow + c0, n, e0 + e1 + e2 + b, e1 - e2 - e3 + b);
                    }
            }
    }

    /// <summary>m0k + m1k + m2k for column k of eight tiles (m_rk is block 4r + k).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static unsafe V Sum3(float* q, int k, long plane) =>
        Vector256.Load(q + k * plane) + Vector256.Load(q + (4 + k) * plane) + Vector256.Load(q + (8 + k) * plane);

    /// <summary>m1k − m2k − m3k for column k of eight tiles.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static unsafe V Diff3(float* q, int k, long plane) =>
        Vector256.Load(q + (4 + k) * plane) - Vector256.Load(q + (8 + k) * plane) - Vector256.Load(q + (12 + k) * plane);

    /// <summary>Eight tiles' two outputs (left, right) interleaved into one row: its first n ≤ 16 floats.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static unsafe void OutputRow(float* row, int n, V left, V right)
    {
        V lo = Avx.UnpackLow(left, right), hi = Avx.UnpackHigh(left, right); // tiles 0 1 | 4 5 and 2 3 | 6 7
        V first = Avx.Permute2x128(lo, hi, 0x20), second = Avx.Permute2x128(lo, hi, 0x31);
        if (n >= 16)
        {
            Vector256.Store(first, row);
            Vector256.Store(second, row + 8);
            return;
        }
        Put(row, Math.Min(n, 8), first);
        if (n > 8) Put(row + 8, n - 8, second);
    }

    /// <summary>dm[ξ, o, t] = (A dy Aᵀ)[ξ] for each 2×2 block of the output gradient (zeros past the output's edge), eight
    /// tiles at a time from a padded copy of each plane (<paramref name="pad"/>, cleared by the caller once).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static unsafe void GradTiles(float* dy, Wino g, int n0, int count, float* dm, float* pad)
    {
        int tiles = count * g.Tiles, tx = g.TilesX, oh = g.OH, ow = g.OW, wp = g.PaddedWidth;
        long plane = (long)g.O * tiles;
        for (int i = 0; i < count; i++)
            for (int o = 0; o < g.O; o++)
            {
                float* img = dy + ((long)(n0 + i) * g.O + o) * oh * ow;
                for (int r = 0; r < oh; r++) Buffer.MemoryCopy(img + r * ow, pad + r * wp, 4L * ow, 4L * ow);
                float* dst = dm + (long)o * tiles + i * g.Tiles;
                for (int ty = 0; ty < g.TilesY; ty++)
                    for (int t0 = 0; t0 < tx; t0 += 8)
                    {
                        float* row = pad + 2 * ty * wp + 2 * t0;
                        var (y00, y01) = Deinterleave(Vector256.Load(row), Vector256.Load(row + 8));
                        var (y10, y11) = Deinterleave(Vector256.Load(row + wp), Vector256.Load(row + wp + 8));
                        float* q = dst + ty * tx + t0;
                        int n = Math.Min(8, tx - t0);
                        // A y down the columns (y0, y0 + y1, y0 − y1, −y1), then along the rows.
                        GradRow(q, plane, n, y00, y01);
                        GradRow(q + 4 * plane, plane, n, y00 + y10, y01 + y11);
                        GradRow(q + 8 * plane, plane, n, y00 - y10, y01 - y11);
                        GradRow(q + 12 * plane, plane, n, -y10, -y11);
                    }
            }
    }

    /// <summary>(a, a + b, a − b, −b) for n ≤ 8 tiles.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static unsafe void GradRow(float* o, long plane, int n, V a, V b)
    {
        Put(o, n, a);
        Put(o + plane, n, a + b);
        Put(o + 2 * plane, n, a - b);
        Put(o + 3 * plane, n, -b);
    }

    /// <summary>
    /// dw [O, C, 3, 3] = Gᵀ [Σ over tiles of dm ⊙ v] G and db [O] = Σ dy. Partial sums per chunk of groups (fixed by the batch
    /// size) are added in chunk order, in the transformed domain, and turned back once.
    /// </summary>
    private unsafe void WinogradWeightGrad(float* x, float* dy, Wino g, HostElements<float>? dws, HostElements<float>? dbs)
    {
        int nb = g.Images, groups = g.Groups, chunks = Math.Min(groups, WinogradChunks), most = nb * g.Tiles, size = 16 * g.O * g.C;
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
        parts?.AsSpan(0, chunks * size).Clear();
        dbParts?.AsSpan(0, chunks * g.O).Clear();
        CpuParallel.Run(chunks, chunk =>
        {
            var pool = ArrayPool<float>.Shared;
            float[] v = pool.Rent(16 * g.C * most), m = pool.Rent(16 * g.O * most), du = pool.Rent(g.O * g.C);
            float[] pad = pool.Rent(g.PaddedPlane), gradPad = pool.Rent(2 * g.TilesY * g.PaddedWidth);
            pad.AsSpan(0, g.PaddedPlane).Clear();
            gradPad.AsSpan(0, 2 * g.TilesY * g.PaddedWidth).Clear();
            try
            {
                fixed (float* vp = v, mp = m, dup = du, part = parts, pp = pad, gp = gradPad)
                    for (int s = groups * chunk / chunks; s < groups * (chunk + 1) / chunks; s++)
                    {
                        int n0 = s * nb, count = Math.Min(nb, g.N - n0), tiles = count * g.Tiles;
                        if (wantB)
                            for (int i = 0; i < count; i++)
                                for (int r = 0; r < g.O; r++)
                                    dbParts![chunk * g.O + r] += Sum(dy + ((long)(n0 + i) * g.O + r) * l, l);
                        if (!wantW) continue;
                        InputTiles(x, g, n0, count, vp, pp);
                        GradTiles(dy, g, n0, count, mp, gp);
                        for (int xi = 0; xi < 16; xi++)
                        {
                            // dU[ξ] [O, C] = dm[ξ] [O, tiles] · v[ξ]ᵀ [tiles, C], added to this chunk's sum.
                            var p = new GemmArgs { Batch = 1, M = g.O, N = g.C, K = tiles, RowA = tiles, ColA = 1, RowB = 1, ColB = tiles };
                            Product(p, new Operands((nint)(mp + (long)xi * g.O * tiles), (nint)(vp + (long)xi * g.C * tiles), (nint)dup),
                                split);
                            AddInto(part + (long)chunk * size + (long)xi * g.O * g.C, dup, g.O * g.C);
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
            var d = dbs!.Value.AsSpan(0, g.O);
            for (int r = 0; r < g.O; r++)
            {
                double s = 0;
                for (int c = 0; c < chunks; c++) s += dbParts![c * g.O + r];
                d[r] = (float)s;
            }
            ArrayPool<double>.Shared.Return(dbParts!);
        }
    }

    /// <summary>dw[k] = Gᵀ du[·, k] G (3×3 from 4×4) for each of the <paramref name="pairs"/> (o, c) pairs of du [16, pairs],
    /// 64 pairs at a time through a small buffer (read one value at a time, the 16 planes of a large weight thrash the cache).
    /// </summary>
    private static unsafe void WeightsBack(float* du, float* dw, int pairs)
    {
        const int Block = 64;
        float* t = stackalloc float[12];
        float* buf = stackalloc float[16 * Block];
        for (int k0 = 0; k0 < pairs; k0 += Block)
        {
            int count = Math.Min(Block, pairs - k0);
            for (int xi = 0; xi < 16; xi++) Buffer.MemoryCopy(du + (long)xi * pairs + k0, buf + xi * Block, 4L * count, 4L * count);
            for (int k = 0; k < count; k++)
            {
                // Gᵀ u = (u0 + (u1 + u2)/2, (u1 − u2)/2, (u1 + u2)/2 + u3) down the columns, then along the rows.
                for (int j = 0; j < 4; j++)
                {
                    float u0 = buf[j * Block + k], u1 = buf[(4 + j) * Block + k];
                    float u2 = buf[(8 + j) * Block + k], u3 = buf[(12 + j) * Block + k];
                    t[j] = u0 + 0.5f * (u1 + u2); t[4 + j] = 0.5f * (u1 - u2); t[8 + j] = 0.5f * (u1 + u2) + u3;
                }
                float* f = dw + (long)(k0 + k) * 9;
                for (int i = 0; i < 3; i++)
                {
                    float u0 = t[4 * i], u1 = t[4 * i + 1], u2 = t[4 * i + 2], u3 = t[4 * i + 3];
                    f[3 * i] = u0 + 0.5f * (u1 + u2); f[3 * i + 1] = 0.5f * (u1 - u2); f[3 * i + 2] = 0.5f * (u1 + u2) + u3;
                }
            }
        }
    }
}
