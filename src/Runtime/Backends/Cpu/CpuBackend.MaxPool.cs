using System.Runtime.Intrinsics;

namespace DeepSharp.Backends.Cpu;

// Max pooling's gradient, image by image: each window's share of the gradient to the elements equal to its max.
internal sealed partial class CpuBackend
{
    /// <summary>2×2 windows at stride 2 without padding: the common pooling, which <see cref="MaxPoolBackPlane"/> unrolls.</summary>
    private static bool Tiles2x2(WindowArgs a) =>
        a is { KH: 2, KW: 2, SH: 2, SW: 2, PH: 0, PW: 0, DH: 1, DW: 1 };

    private static readonly float[] NoShares = new float[1];

    public unsafe void MaxPool(Storage x, Storage y, WindowArgs a)
    {
        var xs = E(x); var ys = E(y);
        int plane = a.H * a.W, window = a.OH * a.OW;
        CpuParallel.For(a.N * a.C, a.KK * window, (lo, hi) =>
        {
            fixed (float* xp = xs, yp = ys)
                for (int nc = lo; nc < hi; nc++) MaxPoolPlane(xp + a.Offset + (long)nc * plane, yp + (long)nc * window, a);
        });
    }

    /// <summary>One image of <see cref="MaxPool"/>, combined in window order from −inf as the max reduction does.</summary>
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveOptimization)]
    private static unsafe void MaxPoolPlane(float* x, float* y, WindowArgs a)
    {
        if (Tiles2x2(a))
        {
            for (int oh = 0; oh < a.OH; oh++)
            {
                float* r0 = x + (long)2 * oh * a.W, r1 = r0 + a.W, yr = y + (long)oh * a.OW;
                for (int ow = 0; ow < a.OW; ow++)
                    yr[ow] = Max(Max(Max(Max(float.NegativeInfinity, r0[2 * ow]), r0[2 * ow + 1]), r1[2 * ow]), r1[2 * ow + 1]);
            }
            return;
        }
        int kh = a.KH, kw = a.KW, sh = a.SH, sw = a.SW, ph = a.PH, pw = a.PW, dh = a.DH, dw = a.DW, h = a.H, w = a.W;
        for (int oh = 0; oh < a.OH; oh++)
            for (int ow = 0; ow < a.OW; ow++)
            {
                float acc = float.NegativeInfinity;
                for (int i = 0; i < kh; i++)
                {
                    int hh = oh * sh - ph + i * dh;
                    for (int j = 0; j < kw; j++)
                    {
                        int ww = ow * sw - pw + j * dw;
                        float v = (uint)hh < (uint)h && (uint)ww < (uint)w ? x[(long)hh * w + ww] : a.Pad;
                        acc = Max(acc, v);
                    }
                }
                y[oh * a.OW + ow] = acc;
            }

        // The max reduction's Maximum: a NaN is kept, and of equal values the later (+0 after −0 gives +0).
        static float Max(float acc, float v) => float.IsNaN(acc) || acc > v ? acc : v;
    }

    public unsafe void MaxPoolBack(Storage x, Storage y, Storage g, Storage dx, WindowArgs a)
    {
        var xs = E(x); var ys = E(y); var gs = E(g); var ds = E(dx);
        int plane = a.H * a.W, window = a.OH * a.OW;
        bool tiles2 = Tiles2x2(a); // unrolled, no shares kept
        CpuParallel.For(a.N * a.C, a.KK * window, (lo, hi) =>
        {
            var (share, start) = tiles2 ? (NoShares, 0) : CpuArrayPool.RentAligned<float>(window); // g / ties of each window of one image
            try
            {
                fixed (float* xp = xs, yp = ys, gp = gs, dp = ds, qp = &share[start])
                    for (int nc = lo; nc < hi; nc++)
                        MaxPoolBackPlane(xp + a.Offset + (long)nc * plane, yp + (long)nc * window, gp + (long)nc * window,
                            dp + (long)nc * plane, qp, a);
            }
            finally { if (!tiles2) CpuArrayPool.Return(DType.Float32, share); }
        });
    }

    /// <summary>One image of <see cref="MaxPoolBack"/>: each window's share g / ties, then the shares added window position
    /// by window position (the order of col2im) to the elements equal to the max. 2×2 windows that tile the image write
    /// each element once.</summary>
    private static unsafe void MaxPoolBackPlane(float* x, float* y, float* g, float* dx, float* share, WindowArgs a)
    {
        int h = a.H, w = a.W, oh = a.OH, ow = a.OW, kh = a.KH, kw = a.KW, sh = a.SH, sw = a.SW, ph = a.PH, pw = a.PW;
        int dh = a.DH, dw = a.DW;
        float pad = a.Pad;
        if (Tiles2x2(a))
        {
            // The common 2×2 pooling, unrolled: loops over the window cost several times more
            // (see benchmarks/NOTES.md, "Moved from code comments").
            if (h != 2 * oh || w != 2 * ow) new Span<float>(dx, h * w).Clear(); // a row or column past the last window
            for (int r = 0, o = 0; r < oh; r++)
            {
                float* a0 = x + 2 * r * w, a1 = a0 + w, d0 = dx + 2 * r * w, d1 = d0 + w;
                int c = 0;
                // Two windows per step without branches (compares whose outcome follows the data mispredict).
                for (; c + 2 <= ow; c += 2, o += 2)
                {
                    int j = 2 * c;
                    var max = Vector128.Create(y[o], y[o], y[o + 1], y[o + 1]);
                    var top = Vector128.Equals(Vector128.Load(a0 + j), max) & Vector128<float>.One;
                    var bottom = Vector128.Equals(Vector128.Load(a1 + j), max) & Vector128<float>.One;
                    var columns = top + bottom;
                    var q = Vector128.Create(g[o], g[o], g[o + 1], g[o + 1])
                        / (columns + Vector128.Shuffle(columns, Vector128.Create(1, 0, 3, 2)));
                    (Vector128<float>.Zero + top * q).Store(d0 + j);
                    (Vector128<float>.Zero + bottom * q).Store(d1 + j);
                }
                for (; c < ow; c++, o++)
                {
                    int j = 2 * c;
                    float max = y[o];
                    float m0 = a0[j] == max ? 1f : 0f, m1 = a0[j + 1] == max ? 1f : 0f;
                    float m2 = a1[j] == max ? 1f : 0f, m3 = a1[j + 1] == max ? 1f : 0f;
                    float q = g[o] / (m0 + m1 + m2 + m3); // whole numbers: the same count in any order
                    d0[j] = 0f + m0 * q; d0[j + 1] = 0f + m1 * q; d1[j] = 0f + m2 * q; d1[j + 1] = 0f + m3 * q;
                }
            }
            return;
        }
        for (int r = 0, o = 0; r < oh; r++)
            for (int c = 0; c < ow; c++, o++)
            {
                int ties = 0;
                float max = y[o];
                for (int i = 0; i < kh; i++)
                    for (int j = 0; j < kw; j++)
                    {
                        int hh = r * sh - ph + i * dh, ww = c * sw - pw + j * dw;
                        ties += (a.Inside(hh, ww) ? x[hh * w + ww] : pad) == max ? 1 : 0;
                    }
                share[o] = g[o] / ties;
            }
        new Span<float>(dx, h * w).Clear();
        for (int i = 0; i < kh; i++)
            for (int j = 0; j < kw; j++)
            {
                var (cLo, cHi) = ValidColumns(a, j);
                for (int r = 0; r < oh; r++)
                {
                    int hh = r * sh - ph + i * dh;
                    if (hh < 0 || hh >= h) continue;
                    for (int c = cLo; c < cHi; c++)
                    {
                        int e = hh * w + c * sw - pw + j * dw, o = r * ow + c;
                        dx[e] += (x[e] == y[o] ? 1f : 0f) * share[o];
                    }
                }
            }
    }
}
