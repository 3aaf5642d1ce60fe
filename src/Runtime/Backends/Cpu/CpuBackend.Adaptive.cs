using DeepSharp.Ops;

namespace DeepSharp.Backends.Cpu;

// Adaptive max pooling and its gradient, image by image (see AdaptiveArgs for the bins).
internal sealed partial class CpuBackend
{
    public void AdaptiveMax(Storage x, Storage y, AdaptiveArgs a)
    {
        var xs = E(x); var ys = E(y);
        CpuParallel.For(a.NC, a.H * a.W, (lo, hi) =>
        {
            for (int nc = lo; nc < hi; nc++)
                for (int r = 0; r < a.OH; r++)
                {
                    int h0 = AdaptiveArgs.Start(r, a.H, a.OH), h1 = AdaptiveArgs.End(r, a.H, a.OH);
                    for (int c = 0; c < a.OW; c++)
                    {
                        int w0 = AdaptiveArgs.Start(c, a.W, a.OW), w1 = AdaptiveArgs.End(c, a.W, a.OW);
                        float max = float.NegativeInfinity;
                        for (int h = h0; h < h1; h++)
                        {
                            var row = xs.AsSpan(a.Offset + (nc * a.H + h) * a.W + w0, w1 - w0);
                            foreach (float v in row) max = default(MaximumOp).Apply(max, v);
                        }
                        ys[(nc * a.OH + r) * a.OW + c] = max;
                    }
                }
        });
    }

    public void AdaptiveMaxBack(Storage x, Storage y, Storage g, Storage dx, AdaptiveArgs a)
    {
        var xs = E(x); var ys = E(y); var gs = E(g); var ds = E(dx);
        CpuParallel.For(a.NC, a.H * a.W, (lo, hi) =>
        {
            var share = new float[a.OH * a.OW]; // g / ties of each bin of one image
            for (int nc = lo; nc < hi; nc++)
            {
                int xi = a.Offset + nc * a.H * a.W, yi = nc * a.OH * a.OW;
                for (int r = 0; r < a.OH; r++)
                {
                    int h0 = AdaptiveArgs.Start(r, a.H, a.OH), h1 = AdaptiveArgs.End(r, a.H, a.OH);
                    for (int c = 0; c < a.OW; c++)
                    {
                        int w0 = AdaptiveArgs.Start(c, a.W, a.OW), w1 = AdaptiveArgs.End(c, a.W, a.OW), ties = 0;
                        float max = ys[yi + r * a.OW + c];
                        for (int h = h0; h < h1; h++)
                            for (int w = w0; w < w1; w++) ties += xs[xi + h * a.W + w] == max ? 1 : 0;
                        share[r * a.OW + c] = gs[yi + r * a.OW + c] / ties;
                    }
                }
                // Each input element sums its bins' shares in increasing bin order (the order of the device kernel).
                for (int h = 0; h < a.H; h++)
                {
                    int r0 = AdaptiveArgs.First(h, a.H, a.OH), r1 = AdaptiveArgs.Last(h, a.H, a.OH);
                    for (int w = 0; w < a.W; w++)
                    {
                        int c0 = AdaptiveArgs.First(w, a.W, a.OW), c1 = AdaptiveArgs.Last(w, a.W, a.OW);
                        float xv = xs[xi + h * a.W + w], acc = 0f;
                        for (int r = r0; r <= r1; r++)
                            for (int c = c0; c <= c1; c++)
                                acc += (xv == ys[yi + r * a.OW + c] ? 1f : 0f) * share[r * a.OW + c];
                        ds[nc * a.H * a.W + h * a.W + w] = acc;
                    }
                }
            }
        });
    }
}
