using System.Buffers;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using V = System.Runtime.Intrinsics.Vector256<float>;

namespace DeepSharp.Backends.Cpu;

// Direct convolution for windows of few taps (C·kH·kW ≤ 25, stride 1: a network's first layer on one-channel images):
// there the product of the image-by-image path is too thin to pay for its columns (LeNet's first layer multiplies a 6×25
// weight by 25×784 columns per image). Each image is copied once into a zero-padded buffer [C, Hp, Wp], and every output
// row is computed Wp wide, so a window position is one fixed offset into that buffer: output q = oy·Wp + ox reads
// buffer[q + offset(c, i, j)] for each tap; the columns ox ≥ OW are computed and dropped.
internal sealed partial class CpuBackend
{
    /// <summary>Most taps (C·kH·kW) the direct path takes: LeNet's 5×5 and a 3×3 on one channel gain from it (2× and more); a
    /// 3×3 on three channels (27 taps, 32 filters) runs as fast through the columns.</summary>
    private const int DirectConvMaxTaps = 25;

    /// <summary>Output channels per block of the direct forward (6 × 2 vectors of accumulators: 12 of the 16 registers).</summary>
    private const int DirectRows = 6;

    /// <summary>Whether <see cref="ConvForward"/> and the weight's gradient take the direct path for these windows.</summary>
    private static bool DirectConvSuits(WindowArgs a) =>
        Wide && a.SH == 1 && a.SW == 1 && a.C * a.KK is > 0 and <= DirectConvMaxTaps && a.OW >= 8; // no taps: nothing to plan

    /// <summary>The padded image's sizes and each tap's offset into it.</summary>
    private readonly struct DirectPlan
    {
        public readonly int Hp, Wp, Q, Taps, Length;
        public readonly int[] Offsets;

        public DirectPlan(WindowArgs a)
        {
            (Hp, Wp, Taps) = (a.H + 2 * a.PH, a.W + 2 * a.PW, a.C * a.KK);
            Q = (a.OH * Wp + 15) / 16 * 16; // outputs computed per channel, whole pairs of vectors
            Offsets = new int[Taps];
            for (int t = 0; t < Taps; t++)
            {
                int c = t / a.KK, ij = t % a.KK;
                Offsets[t] = (c * Hp + ij / a.KW * a.DH) * Wp + ij % a.KW * a.DW;
            }
            Length = Math.Max(a.C * Hp * Wp, Offsets[^1] + Q) + 16; // the last pair of vectors reads past the image
        }
    }

    /// <summary>Image <paramref name="n"/> of x into <paramref name="xp"/> [C, Hp, Wp], zeros around it.</summary>
    private static unsafe void PadImage(float* x, float* xp, WindowArgs a, DirectPlan p, int n)
    {
        new Span<float>(xp, p.Length).Clear();
        float* src = x + a.Offset + (long)n * a.C * a.H * a.W;
        for (int c = 0; c < a.C; c++)
            for (int h = 0; h < a.H; h++)
                Buffer.MemoryCopy(src + (c * a.H + h) * a.W, xp + (c * p.Hp + h + a.PH) * p.Wp + a.PW, 4L * a.W, 4L * a.W);
    }

    /// <summary>The direct path of <see cref="ConvForward"/>.</summary>
    private unsafe void DirectConvForward(HostElements<float> xs, HostElements<float> ws, HostElements<float> bs, bool hasBias,
        HostElements<float> ys, WindowArgs a, int o)
    {
        var p = new DirectPlan(a);
        int blocks = (o + DirectRows - 1) / DirectRows, rows = blocks * DirectRows, l = a.OH * a.OW;
        // The weight transposed to [taps, rows] (zero rows past O): a tap's weights for a block of channels are adjacent.
        var wt = ArrayPool<float>.Shared.Rent(p.Taps * rows);
        wt.AsSpan(0, p.Taps * rows).Clear();
        for (int r = 0; r < o; r++)
            for (int t = 0; t < p.Taps; t++) wt[t * rows + r] = ws[r * p.Taps + t];
        try
        {
            CpuParallel.For(a.N, (int)Math.Min(int.MaxValue, (long)o * p.Taps * p.Q), (lo, hi) =>
            {
                var pool = ArrayPool<float>.Shared;
                float[] padded = pool.Rent(p.Length), outs = pool.Rent(rows * p.Q);
                try
                {
                    fixed (float* xp = xs, yp = ys, bp = bs, wp = wt, pp = padded, op = outs)
                    fixed (int* offsets = p.Offsets)
                        for (int n = lo; n < hi; n++)
                        {
                            PadImage(xp, pp, a, p, n);
                            for (int b = 0; b < blocks; b++)
                                DirectBlock(pp, wp + b * DirectRows, rows, offsets, p.Taps, p.Q, op + b * DirectRows * p.Q);
                            for (int r = 0; r < o; r++)
                            {
                                float* dst = yp + ((long)n * o + r) * l;
                                for (int oy = 0; oy < a.OH; oy++)
                                    Buffer.MemoryCopy(op + r * p.Q + oy * p.Wp, dst + oy * a.OW, 4L * a.OW, 4L * a.OW);
                                if (hasBias) AddScalar(dst, bp[r], l);
                            }
                        }
                }
                finally
                {
                    pool.Return(padded);
                    pool.Return(outs);
                }
            });
        }
        finally { ArrayPool<float>.Shared.Return(wt); }
    }

    /// <summary>
    /// Six output channels of one image: out[r, q] = Σₜ w[t, r] · xp[q + offset[t]] for q in [0, Q), two vectors of q at a
    /// time with the taps in order (each output's sum is formed the same way whatever the thread count).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)] // SIMD loops: tier-0 code runs them several times slower
    private static unsafe void DirectBlock(float* xp, float* w, int rows, int* offsets, int taps, int qs, float* out0)
    {
        for (int q = 0; q < qs; q += 16)
        {
            V a0 = V.Zero, a1 = V.Zero, a2 = V.Zero, a3 = V.Zero, a4 = V.Zero, a5 = V.Zero;
            V b0 = V.Zero, b1 = V.Zero, b2 = V.Zero, b3 = V.Zero, b4 = V.Zero, b5 = V.Zero;
            float* wt = w;
            for (int t = 0; t < taps; t++, wt += rows)
            {
                float* s = xp + q + offsets[t];
                V x0 = Vector256.Load(s), x1 = Vector256.Load(s + 8), k;
                k = Vector256.Create(wt[0]); a0 = Fma3(k, x0, a0); b0 = Fma3(k, x1, b0);
                k = Vector256.Create(wt[1]); a1 = Fma3(k, x0, a1); b1 = Fma3(k, x1, b1);
                k = Vector256.Create(wt[2]); a2 = Fma3(k, x0, a2); b2 = Fma3(k, x1, b2);
                k = Vector256.Create(wt[3]); a3 = Fma3(k, x0, a3); b3 = Fma3(k, x1, b3);
                k = Vector256.Create(wt[4]); a4 = Fma3(k, x0, a4); b4 = Fma3(k, x1, b4);
                k = Vector256.Create(wt[5]); a5 = Fma3(k, x0, a5); b5 = Fma3(k, x1, b5);
            }
            float* d = out0 + q;
            Vector256.Store(a0, d); Vector256.Store(b0, d + 8); d += qs;
            Vector256.Store(a1, d); Vector256.Store(b1, d + 8); d += qs;
            Vector256.Store(a2, d); Vector256.Store(b2, d + 8); d += qs;
            Vector256.Store(a3, d); Vector256.Store(b3, d + 8); d += qs;
            Vector256.Store(a4, d); Vector256.Store(b4, d + 8); d += qs;
            Vector256.Store(a5, d); Vector256.Store(b5, d + 8);
        }
    }

    /// <summary>
    /// The direct path's dw [O, taps] = Σₙ Σ_q g'ₙ[o, q] · xpₙ[q + offset[t]] and db [O] = Σ g, for the output gradient g
    /// [N, O, OH·OW] (g' is g laid out Wp wide with zeros in the dropped columns). Each image's sums are added to its chunk's
    /// partial sums in image order and the chunks in chunk order, as in <see cref="ConvBackward"/>.
    /// </summary>
    private unsafe void DirectConvWeightGrad(HostElements<float> xs, HostElements<float> gs, HostElements<float>? dws,
        HostElements<float>? dbs, WindowArgs a, int o)
    {
        var p = new DirectPlan(a);
        int l = a.OH * a.OW, chunks = Math.Min(a.N, ConvChunks), size = o * p.Taps;
        bool wantW = dws is not null, wantB = dbs is not null;
        if (chunks == 0) // an empty batch: no terms
        {
            dws?.AsSpan(0, size).Clear();
            dbs?.AsSpan(0, o).Clear();
            return;
        }
        var dwParts = wantW ? ArrayPool<float>.Shared.Rent(chunks * size) : null;
        var dbParts = wantB ? ArrayPool<double>.Shared.Rent(chunks * o) : null;
        dwParts?.AsSpan(0, chunks * size).Clear();
        dbParts?.AsSpan(0, chunks * o).Clear();
        CpuParallel.Run(chunks, chunk =>
        {
            int lo = (int)((long)a.N * chunk / chunks), hi = (int)((long)a.N * (chunk + 1) / chunks);
            var pool = ArrayPool<float>.Shared;
            float[] padded = pool.Rent(p.Length), gw = pool.Rent(o * p.Q), one = pool.Rent(size);
            gw.AsSpan(0, o * p.Q).Clear(); // the dropped columns and the tail stay zero
            try
            {
                fixed (float* xp = xs, gp = gs, pp = padded, gq = gw, dp = one, partial = dwParts)
                fixed (int* offsets = p.Offsets)
                    for (int n = lo; n < hi; n++)
                    {
                        float* gn = gp + (long)n * o * l;
                        if (wantB)
                            for (int r = 0; r < o; r++) dbParts![chunk * o + r] += Sum(gn + (long)r * l, l);
                        if (!wantW) continue;
                        PadImage(xp, pp, a, p, n);
                        for (int r = 0; r < o; r++)
                            for (int oy = 0; oy < a.OH; oy++)
                                Buffer.MemoryCopy(gn + r * l + oy * a.OW, gq + r * p.Q + oy * p.Wp, 4L * a.OW, 4L * a.OW);
                        for (int r = 0; r < o; r += 2)
                            for (int t = 0; t < p.Taps; t += 4)
                                DirectGradBlock(pp, gq, offsets, p, o, r, t, dp);
                        AddInto(partial + (long)chunk * size, dp, size);
                    }
            }
            finally
            {
                pool.Return(padded);
                pool.Return(gw);
                pool.Return(one);
            }
        });
        if (wantW)
        {
            var d = dws!.Value.AsSpan(0, size);
            dwParts.AsSpan(0, size).CopyTo(d);
            for (int c = 1; c < chunks; c++)
                fixed (float* dp = d, sp = dwParts) AddInto(dp, sp + (long)c * size, size); // not &dwParts[…]: empty when O = 0
            ArrayPool<float>.Shared.Return(dwParts!);
        }
        if (wantB)
        {
            SumBiasParts(dbParts!, chunks, dbs!.Value.AsSpan(0, o));
            ArrayPool<double>.Shared.Return(dbParts!);
        }
    }

    /// <summary>dw[r..r+2, t..t+4] of one image (rows and taps past the end are computed on row r / tap t and dropped):
    /// eight dot products over q, each a vector of partial sums then added across its lanes.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static unsafe void DirectGradBlock(float* xp, float* g, int* offsets, DirectPlan p, int o, int r, int t, float* dw)
    {
        int r1 = Math.Min(r + 1, o - 1), qs = p.Q;
        int t1 = Math.Min(t + 1, p.Taps - 1), t2 = Math.Min(t + 2, p.Taps - 1), t3 = Math.Min(t + 3, p.Taps - 1);
        float* g0 = g + r * qs, g1 = g + r1 * qs;
        float* x0 = xp + offsets[t], x1 = xp + offsets[t1], x2 = xp + offsets[t2], x3 = xp + offsets[t3];
        V a0 = V.Zero, a1 = V.Zero, a2 = V.Zero, a3 = V.Zero, b0 = V.Zero, b1 = V.Zero, b2 = V.Zero, b3 = V.Zero;
        for (int q = 0; q < qs; q += 8)
        {
            V u = Vector256.Load(g0 + q), v = Vector256.Load(g1 + q), x;
            x = Vector256.Load(x0 + q); a0 = Fma3(u, x, a0); b0 = Fma3(v, x, b0);
            x = Vector256.Load(x1 + q); a1 = Fma3(u, x, a1); b1 = Fma3(v, x, b1);
            x = Vector256.Load(x2 + q); a2 = Fma3(u, x, a2); b2 = Fma3(v, x, b2);
            x = Vector256.Load(x3 + q); a3 = Fma3(u, x, a3); b3 = Fma3(v, x, b3);
        }
        int taps = p.Taps;
        dw[r * taps + t] = Vector256.Sum(a0);
        if (t + 1 < taps) dw[r * taps + t + 1] = Vector256.Sum(a1);
        if (t + 2 < taps) dw[r * taps + t + 2] = Vector256.Sum(a2);
        if (t + 3 < taps) dw[r * taps + t + 3] = Vector256.Sum(a3);
        if (r + 1 >= o) return;
        dw[(r + 1) * taps + t] = Vector256.Sum(b0);
        if (t + 1 < taps) dw[(r + 1) * taps + t + 1] = Vector256.Sum(b1);
        if (t + 2 < taps) dw[(r + 1) * taps + t + 2] = Vector256.Sum(b2);
        if (t + 3 < taps) dw[(r + 1) * taps + t + 3] = Vector256.Sum(b3);
    }
}
