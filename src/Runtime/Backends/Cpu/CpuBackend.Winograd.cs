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
        GemmArgs Args(int tiles) => transposed
            ? new GemmArgs { Batch = 1, M = g.O, N = tiles, K = g.C, RowA = 1, ColA = g.O, RowB = tiles, ColB = 1 }
            : new GemmArgs { Batch = 1, M = g.O, N = tiles, K = g.C, RowA = g.C, ColA = 1, RowB = tiles, ColB = 1 };
        nint Block(int xi) => (nint)(u + (long)(transposed ? Flipped(xi) : xi) * g.O * g.C);
        // Several groups share the 16 weight blocks: packed for the blocked GEMM once, not once per group.
        long packedSize = groups > 1 && Blocked(Args(most)) ? PackedASize(g.O, g.C) : 0;
        var packed = packedSize > 0 ? ArrayPool<float>.Shared.Rent((int)(16 * packedSize)) : null;
        fixed (float* pk = packed)
        {
            float* pa = pk;
            if (packed is not null)
                CpuParallel.Run(16, xi => PackAllA(Args(most), new Operands(Block(xi), 0, 0), pa + xi * packedSize));
            WinogradGroups(x, g, pa, packedSize, Block, Args, y, bias, split);
        }
        if (packed is not null) ArrayPool<float>.Shared.Return(packed);
    }

    /// <summary>The groups of images of <see cref="WinogradRun"/>: tiles in, 16 products, tiles out.</summary>
    private static unsafe void WinogradGroups(float* x, Wino g, float* packed, long packedSize, Func<int, nint> block,
        Func<int, GemmArgs> args, float* y, float* bias, bool split)
    {
        int nb = g.Images, groups = g.Groups, most = nb * g.Tiles;
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
                            // The blocked GEMM adds straight into the sum; other paths write a product to add.
                            var p = new GemmArgs { Batch = 1, M = g.O, N = g.C, K = tiles, RowA = tiles, ColA = 1, RowB = 1, ColB = tiles };
                            float* sum = part + (long)chunk * size + (long)xi * g.O * g.C;
                            nint dm = (nint)(mp + (long)xi * g.O * tiles), vt = (nint)(vp + (long)xi * g.C * tiles);
                            if (Blocked(p)) BlockedGemm(p, new Operands(dm, vt, (nint)sum), split, addToC: true);
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
