using DeepSharp.Ops;
using ILGPU;
using ILGPU.Runtime;

namespace DeepSharp.Backends.Ilgpu;

// Adaptive max pooling and its gradient, each a gather (see AdaptiveArgs for the bins).
internal static partial class Kernels
{
    /// <summary>Adaptive max pooling, one thread per output: y[nc, r, c] = the max of bin (r, c) of image nc (NaN wins).</summary>
    public static void AdaptiveMax(Index1D t, ArrayView<float> x, ArrayView<float> y, AdaptiveArgs a)
    {
        int c = t % a.OW, r = t / a.OW % a.OH, nc = t / (a.OW * a.OH);
        int h1 = AdaptiveArgs.End(r, a.H, a.OH), w0 = AdaptiveArgs.Start(c, a.W, a.OW), w1 = AdaptiveArgs.End(c, a.W, a.OW);
        float max = float.NegativeInfinity;
        for (int h = AdaptiveArgs.Start(r, a.H, a.OH); h < h1; h++)
            for (int w = w0; w < w1; w++) max = default(MaximumOp).Apply(max, x[a.Offset + (nc * a.H + h) * a.W + w]);
        y[t] = max;
    }

    /// <summary>Adaptive max pooling's gradient as a gather (see <c>IBackend.AdaptiveMaxBack</c>): each input element visits
    /// the bins that hold it in increasing order, counts each bin's elements equal to its max, and adds its share.</summary>
    public static void AdaptiveMaxBack(Index1D t, ArrayView<float> x, ArrayView<float> y, ArrayView<float> g, ArrayView<float> dx,
        AdaptiveArgs a)
    {
        int w = t % a.W, h = t / a.W % a.H, nc = t / (a.W * a.H);
        float xv = x[a.Offset + t], acc = 0f;
        int r1 = AdaptiveArgs.Last(h, a.H, a.OH), c0 = AdaptiveArgs.First(w, a.W, a.OW), c1 = AdaptiveArgs.Last(w, a.W, a.OW);
        for (int r = AdaptiveArgs.First(h, a.H, a.OH); r <= r1; r++)
        {
            int h0 = AdaptiveArgs.Start(r, a.H, a.OH), h1 = AdaptiveArgs.End(r, a.H, a.OH);
            for (int c = c0; c <= c1; c++)
            {
                int o = (nc * a.OH + r) * a.OW + c, w0 = AdaptiveArgs.Start(c, a.W, a.OW), w1 = AdaptiveArgs.End(c, a.W, a.OW);
                float max = y[o], ties = 0f;
                for (int hh = h0; hh < h1; hh++)
                    for (int ww = w0; ww < w1; ww++) ties += x[a.Offset + (nc * a.H + hh) * a.W + ww] == max ? 1f : 0f;
                acc += (xv == max ? 1f : 0f) * (g[o] / ties);
            }
        }
        dx[t] = acc;
    }
}
