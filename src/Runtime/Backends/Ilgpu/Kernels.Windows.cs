using ILGPU;
using ILGPU.Runtime;

namespace DeepSharp.Backends.Ilgpu;

// The sliding windows of convolution and pooling: im2col, col2im and max pooling's gradient, each a gather.
internal static partial class Kernels
{
    /// <summary>im2col, one thread per column entry: cols[n, c, i·KW + j, oh, ow] = x[n, c, oh·SH − PH + i·DH,
    /// ow·SW − PW + j·DW] (Pad outside).</summary>
    public static void Unfold(Index1D t, ArrayView<float> x, ArrayView<float> cols, WindowArgs a)
    {
        int r = t, ow = r % a.OW; r /= a.OW;
        int oh = r % a.OH; r /= a.OH;
        a.ImageOf(r, out int nc, out int ij);
        int i = ij / a.KW, j = ij - i * a.KW;
        int h = oh * a.SH - a.PH + i * a.DH, w = ow * a.SW - a.PW + j * a.DW;
        cols[t] = a.Inside(h, w) ? x[a.Offset + (nc * a.H + h) * a.W + w] : a.Pad;
    }

    /// <summary>col2im as a gather (no atomics, deterministic): each input element sums the column entries that read it
    /// (cols from a.Offset).</summary>
    public static void Fold(Index1D t, ArrayView<float> cols, ArrayView<float> dx, WindowArgs a)
    {
        int w = t % a.W, r = t / a.W, h = r % a.H, nc = r / a.H;
        float acc = 0f;
        for (int i = 0; i < a.KH; i++)
        {
            if (!a.CoversRow(h, i, out int oh)) continue;
            for (int j = 0; j < a.KW; j++)
                if (a.CoversColumn(w, j, out int ow))
                    acc += cols[a.Offset + (a.Plane(nc, i * a.KW + j) * a.OH + oh) * a.OW + ow];
        }
        dx[t] = acc;
    }

    /// <summary>Max pooling (see <c>IBackend.MaxPool</c>): one thread per output element.</summary>
    public static void MaxPool(Index1D t, ArrayView<float> x, ArrayView<float> y, WindowArgs a)
    {
        int ow = t % a.OW, r = t / a.OW, oh = r % a.OH, nc = r / a.OH;
        float acc = float.NegativeInfinity;
        for (int i = 0; i < a.KH; i++)
            for (int j = 0; j < a.KW; j++)
            {
                int h = oh * a.SH - a.PH + i * a.DH, w = ow * a.SW - a.PW + j * a.DW;
                float v = a.Inside(h, w) ? x[a.Offset + (nc * a.H + h) * a.W + w] : a.Pad;
                acc = float.IsNaN(acc) || acc > v ? acc : v; // the reduction's Maximum: NaN kept, the later of equal values
            }
        y[t] = acc;
    }

    /// <summary>Average pooling (see <c>IBackend.AvgPool</c>): one thread per output element.</summary>
    public static void AvgPool(Index1D t, ArrayView<float> x, ArrayView<float> y, WindowArgs a)
    {
        int ow = t % a.OW, r = t / a.OW, oh = r % a.OH, nc = r / a.OH;
        float acc = 0f;
        for (int i = 0; i < a.KH; i++)
            for (int j = 0; j < a.KW; j++)
            {
                int h = oh * a.SH - a.PH + i * a.DH, w = ow * a.SW - a.PW + j * a.DW;
                if (a.Inside(h, w)) acc += x[a.Offset + (nc * a.H + h) * a.W + w];
            }
        y[t] = acc / (a.KH * a.KW);
    }

    /// <summary>Average pooling's gradient as a gather (see <c>IBackend.AvgPoolBack</c>): one thread per input element.</summary>
    public static void AvgPoolBack(Index1D t, ArrayView<float> g, ArrayView<float> dx, WindowArgs a)
    {
        int w = t % a.W, r = t / a.W, h = r % a.H, nc = r / a.H;
        float acc = 0f;
        for (int i = 0; i < a.KH; i++)
        {
            if (!a.CoversRow(h, i, out int oh)) continue;
            for (int j = 0; j < a.KW; j++)
                if (a.CoversColumn(w, j, out int ow)) acc += g[(nc * a.OH + oh) * a.OW + ow];
        }
        dx[t] = acc / (a.KH * a.KW);
    }

    /// <summary>Max pooling's gradient as a gather (see <c>IBackend.MaxPoolBack</c>): each input element visits the windows
    /// that read it in increasing window position, counts each window's elements equal to its max, and adds its share.</summary>
    public static void MaxPoolBack(Index1D t, ArrayView<float> x, ArrayView<float> y, ArrayView<float> g, ArrayView<float> dx, WindowArgs a)
    {
        int w = t % a.W, r = t / a.W, h = r % a.H, nc = r / a.H;
        float xv = x[a.Offset + t], acc = 0f;
        for (int i = 0; i < a.KH; i++)
        {
            if (!a.CoversRow(h, i, out int oh)) continue;
            for (int j = 0; j < a.KW; j++)
            {
                if (!a.CoversColumn(w, j, out int ow)) continue;
                int o = (nc * a.OH + oh) * a.OW + ow;
                float max = y[o], ties = 0f;
                for (int ii = 0; ii < a.KH; ii++)
                    for (int jj = 0; jj < a.KW; jj++)
                    {
                        int h2 = oh * a.SH - a.PH + ii * a.DH, w2 = ow * a.SW - a.PW + jj * a.DW;
                        ties += (a.Inside(h2, w2) ? x[a.Offset + (nc * a.H + h2) * a.W + w2] : a.Pad) == max ? 1f : 0f;
                    }
                acc += (xv == max ? 1f : 0f) * (g[o] / ties);
            }
        }
        dx[t] = acc;
    }
}
