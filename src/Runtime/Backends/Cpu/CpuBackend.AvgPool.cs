using System.Runtime.CompilerServices;

namespace DeepSharp.Backends.Cpu;

// Average pooling in one pass each way, plane by plane: no windows copied out (the composite unfolded them and folded the
// gradient back; see benchmarks/NOTES.md).
internal sealed partial class CpuBackend
{
    public unsafe void AvgPool(Storage x, Storage y, WindowArgs a)
    {
        var xs = E(x); var ys = E(y);
        int planeIn = a.H * a.W, planeOut = a.OH * a.OW;
        CpuParallel.For(a.N * a.C, planeOut * a.KK, (lo, hi) =>
        {
            fixed (float* xp = xs, yp = ys)
                for (int nc = lo; nc < hi; nc++) AvgPoolPlane(xp + a.Offset + (long)nc * planeIn, yp + (long)nc * planeOut, a);
        });
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static unsafe void AvgPoolPlane(float* x, float* y, WindowArgs a)
    {
        if (Tiles2x2(a))
        {
            // 2×2 at stride 2 without padding (LeNet's, VGG's): four loads per output, no bounds checks.
            for (int oh = 0; oh < a.OH; oh++)
            {
                float* r0 = x + (long)2 * oh * a.W, r1 = r0 + a.W, yr = y + (long)oh * a.OW;
                for (int ow = 0; ow < a.OW; ow++) yr[ow] = (r0[2 * ow] + r0[2 * ow + 1] + r1[2 * ow] + r1[2 * ow + 1]) * 0.25f;
            }
            return;
        }
        int kh = a.KH, kw = a.KW, sh = a.SH, sw = a.SW, ph = a.PH, pw = a.PW, dh = a.DH, dw = a.DW, h = a.H, w = a.W;
        float scale = 1f / (kh * kw);
        for (int oh = 0; oh < a.OH; oh++)
            for (int ow = 0; ow < a.OW; ow++)
            {
                float acc = 0f;
                for (int i = 0; i < kh; i++)
                {
                    int hh = oh * sh - ph + i * dh;
                    if ((uint)hh >= (uint)h) continue;
                    float* row = x + (long)hh * w;
                    for (int j = 0; j < kw; j++)
                    {
                        int ww = ow * sw - pw + j * dw;
                        if ((uint)ww < (uint)w) acc += row[ww];
                    }
                }
                y[oh * a.OW + ow] = acc * scale;
            }
    }

    public unsafe void AvgPoolBack(Storage g, Storage dx, WindowArgs a)
    {
        var gs = E(g); var ds = E(dx);
        int planeIn = a.H * a.W, planeOut = a.OH * a.OW;
        CpuParallel.For(a.N * a.C, planeOut * a.KK, (lo, hi) =>
        {
            fixed (float* gp = gs, dp = ds)
                for (int nc = lo; nc < hi; nc++) AvgPoolBackPlane(gp + (long)nc * planeOut, dp + (long)nc * planeIn, a);
        });
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static unsafe void AvgPoolBackPlane(float* g, float* dx, WindowArgs a)
    {
        if (Tiles2x2(a))
        {
            // Each input element is in at most one window: written once, and only an uncovered last row or column cleared.
            for (int oh = 0; oh < a.OH; oh++)
            {
                float* r0 = dx + (long)2 * oh * a.W, r1 = r0 + a.W, gr = g + (long)oh * a.OW;
                for (int ow = 0; ow < a.OW; ow++)
                {
                    float v = gr[ow] * 0.25f;
                    r0[2 * ow] = v; r0[2 * ow + 1] = v; r1[2 * ow] = v; r1[2 * ow + 1] = v;
                }
                if (a.W > 2 * a.OW) { r0[a.W - 1] = 0f; r1[a.W - 1] = 0f; }
            }
            if (a.H > 2 * a.OH) new Span<float>(dx + (long)(a.H - 1) * a.W, a.W).Clear();
            return;
        }
        int kh = a.KH, kw = a.KW, sh = a.SH, sw = a.SW, ph = a.PH, pw = a.PW, dh = a.DH, dw = a.DW, h = a.H, w = a.W;
        float scale = 1f / (kh * kw);
        new Span<float>(dx, h * w).Clear();
        for (int oh = 0; oh < a.OH; oh++)
            for (int ow = 0; ow < a.OW; ow++)
            {
                float v = g[oh * a.OW + ow] * scale;
                for (int i = 0; i < kh; i++)
                {
                    int hh = oh * sh - ph + i * dh;
                    if ((uint)hh >= (uint)h) continue;
                    float* row = dx + (long)hh * w;
                    for (int j = 0; j < kw; j++)
                    {
                        int ww = ow * sw - pw + j * dw;
                        if ((uint)ww < (uint)w) row[ww] += v;
                    }
                }
            }
    }
}
