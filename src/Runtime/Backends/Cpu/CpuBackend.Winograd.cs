using System.Buffers;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using V = System.Runtime.Intrinsics.Vector256<float>;

namespace DeepSharp.Backends.Cpu;

// 3×3 convolutions at stride 1 by Winograd's minimal filtering F(m×m, 3×3) (Lavin & Gray 2016), m = 4 (points 0, ±1, ±2,
// ∞) or 2 (0, ±1, ∞): each m×m block of outputs is Aᵀ [(G w Gᵀ) ⊙ (Bᵀ d B)] A for its (m + 2)² input tile d, so the
// channel sums become (m + 2)² products [O, C] · [C, tiles]: 36 multiplies per 16 outputs (4× fewer than the columns'
// product) or 16 per 4 (2.25×). The weight's transform is (m + 2)²/9 times its size, so F(4×4) pays from enough tiles in
// the batch and F(2×2) takes the small maps (see WinogradTile and benchmarks/NOTES.md). The input's gradient is the same
// kind of convolution (the output's gradient padded by 2 − p, with the weight flipped and transposed), and the weight's
// gradient is Gᵀ [Σ_tiles (A dy Aᵀ) ⊙ (Bᵀ d B)] G: (m + 2)² products [O, tiles] · [tiles, C].
internal sealed partial class CpuBackend
{
    /// <summary>Input and output channels from which a 3×3 convolution is worth its transforms.</summary>
    private const int WinogradMinChannels = 64;

    /// <summary>Most partial sums of the weight's gradient (fixed by the batch size alone, so the bits are the same on any
    /// number of cores; each is (m + 2)²·O·C floats, 9 MB for 256 → 256 channels at m = 4, so few; a product splits over
    /// the cores when there are fewer chunks than cores).</summary>
    private const int WinogradChunks = 2;

    /// <summary>Tiles in the batch from which the transforms pay (the weight's blocks are transformed once per call): ResNet's
    /// 4×4 maps at batch 32 (32 tiles of 4×4) ran faster as the columns' product than by F(4×4), slower than by F(2×2)
    /// (128 tiles of 2×2; see benchmarks/NOTES.md).</summary>
    private const int WinogradMinTiles = 64;

    /// <summary>Tiles per product: images are grouped until their tiles reach this many.</summary>
    private const int WinogradTilesPerProduct = 128;

    /// <summary>Whether a convolution of these windows with <paramref name="o"/> filters goes by Winograd on the CPU.</summary>
    internal static bool WinogradSuits(WindowArgs a, int o) => WinogradTile(a, o) != 0;

    /// <summary>The output block m of Winograd's F(m×m, 3×3) for this convolution: 4 when the batch has enough 4×4 blocks,
    /// else 2 when it has enough 2×2 blocks (ResNet's 4×4 maps at batch 32), else 0 (the columns' product).</summary>
    private static int WinogradTile(WindowArgs a, int o)
    {
        if (!(Avx2.IsSupported && Wide && a is { KH: 3, KW: 3, SH: 1, SW: 1, DH: 1, DW: 1, PH: <= 2, PW: <= 2 }
            && a.C >= WinogradMinChannels && o >= WinogradMinChannels)) return 0;
        foreach (int m in (ReadOnlySpan<int>)[4, 2])
        {
            long tiles = (long)((a.OH + m - 1) / m) * ((a.OW + m - 1) / m), points = (m + 2) * (m + 2);
            if (a.N * tiles >= WinogradMinTiles
                && points * Math.Max(a.C, o) * tiles <= int.MaxValue / 2 // one image's tiles fit an array
                && points * WinogradChunks * a.C * o <= int.MaxValue) // and the weight gradient's partial sums
                return m;
        }
        return 0;
    }

    /// <summary>One Winograd convolution F(M×M, 3×3): input [N, C, H, W] padded by (PH, PW) → output [N, O, OH, OW].</summary>
    private readonly record struct Wino(int N, int C, int H, int W, int O, int OH, int OW, int PH, int PW, int M)
    {
        /// <summary>A tile's side (M + 2) and the number of transformed points per tile (products per group).</summary>
        public int Alpha => M + 2;
        public int Points => Alpha * Alpha;
        public int TilesX => (OW + M - 1) / M;
        public int TilesY => (OH + M - 1) / M;
        /// <summary>Row length of a padded plane: every tile's columns, and the 8 floats its two 128-bit loads read.</summary>
        public int PaddedWidth => M * TilesX + 4;
        /// <summary>Floats of one padded input plane (its rows as the tiles read them).</summary>
        public int PaddedPlane => (M * TilesY + 2) * PaddedWidth;
        /// <summary>Floats of one padded plane of the output's gradient (M rows per block, rows as long as the input's).</summary>
        public int GradPlane => M * TilesY * PaddedWidth;
        public int Tiles => TilesY * TilesX;
        /// <summary>Images per product (groups start at multiples of it, whatever the thread count).</summary>
        public int Images => Math.Clamp((WinogradTilesPerProduct + Tiles - 1) / Tiles, 1, Math.Max(N, 1));
        public int Groups => (N + Images - 1) / Images;

        public static Wino Of(WindowArgs a, int o) => new(a.N, a.C, a.H, a.W, o, a.OH, a.OW, a.PH, a.PW, WinogradTile(a, o));

        /// <summary>The input's gradient: the output's gradient convolved back (padded by 2 − p) to the input's size.</summary>
        public Wino Backward => new(N, O, OH, OW, C, H, W, 2 - PH, 2 - PW, M);
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

    /// <summary>y [N, O, OH, OW] = the convolution of x [N, C, H, W] (g's sizes) by the 3×3 weight w [o, c, 3, 3] (+ bias),
    /// or by w flipped and transposed (<paramref name="flip"/>: the input's gradient, g = the forward's <see
    /// cref="Wino.Backward"/>). The transformed weight blocks [g.O, g.C] go straight into the blocked GEMM's packed panels
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
        float[]? u = direct ? null : pool.Rent(g.Points * o * c), packed = shared ? pool.Rent((int)(g.Points * packedSize)) : null;
        fixed (float* up = u, pk = packed)
        {
            float* pa = pk, ua = up;
            nint Block(int xi) => (nint)(ua + (long)xi * g.O * g.C);
            if (direct) TransformWeightsPacked(w, pa, packedSize, o, c, flip, g.M);
            else TransformWeights(w, ua, o, c, flip, g.M);
            if (shared && !direct)
                CpuParallel.Run(g.Points, xi => PackAllA(Args(most), new Operands(Block(xi), 0, 0), pa + xi * packedSize));
            WinogradGroups(x, g, pa, packedSize, Block, Args, y, bias, split);
        }
        if (u is not null) pool.Return(u);
        if (packed is not null) pool.Return(packed);
    }

    /// <summary>The groups of images of <see cref="WinogradRun"/>: tiles in, (m + 2)² products, tiles out.</summary>
    private static unsafe void WinogradGroups(float* x, Wino g, float* packed, long packedSize, Func<int, nint> block,
        Func<int, GemmArgs> args, float* y, float* bias, bool split)
    {
        int nb = g.Images, groups = g.Groups, most = nb * g.Tiles;
        CpuParallel.For(groups, (int)Math.Min(int.MaxValue, (long)g.Points * g.O * g.C * most), (lo, hi) =>
        {
            var pool = ArrayPool<float>.Shared;
            float[] v = pool.Rent(g.Points * g.C * most), m = pool.Rent(g.Points * g.O * most), pad = pool.Rent(nb * g.PaddedPlane);
            pad.AsSpan(0, nb * g.PaddedPlane).Clear();
            try
            {
                fixed (float* vp = v, mp = m, pp = pad)
                    for (int s = lo; s < hi; s++)
                    {
                        int n0 = s * nb, count = Math.Min(nb, g.N - n0), tiles = count * g.Tiles;
                        InputTiles(x, g, n0, count, vp, pp);
                        for (int xi = 0; xi < g.Points; xi++)
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
        int nb = g.Images, groups = g.Groups, chunks = Math.Min(groups, WinogradChunks), most = nb * g.Tiles, size = g.Points * g.O * g.C;
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
            float[] v = pool.Rent(g.Points * g.C * most), m = pool.Rent(g.Points * g.O * most), du = pool.Rent(g.O * g.C);
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
                        for (int xi = 0; xi < g.Points; xi++)
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
                fixed (float* dw = dws!.Value) WeightsBack(part, dw, g.O * g.C, g.M);
            }
            ArrayPool<float>.Shared.Return(parts!);
        }
        if (wantB)
        {
            SumBiasParts(dbParts!, chunks, dbs!.Value.AsSpan(0, g.O));
            ArrayPool<double>.Shared.Return(dbParts!);
        }
    }

}
