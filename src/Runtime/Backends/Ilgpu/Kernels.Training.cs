using DeepSharp.Ops;
using ILGPU;
using ILGPU.Runtime;

namespace DeepSharp.Backends.Ilgpu;

// The training kernels: fused optimizer update, fused cross-entropy, row gather and scatter-add, im2col and col2im.
public static partial class Kernels
{
    /// <summary>
    /// Fused optimizer step over up to four parameters in one launch: element i belongs to the first slot whose End
    /// exceeds it. (p, m, v) = op(p, g, m, v); the parameter is written last (m and v may alias g).
    /// </summary>
    public static void Update<TOp>(Index1D i, UpdateSlots s, TOp op) where TOp : struct, IUpdateOp
    {
        if (i < s.End0) UpdateOne(s.P0, s.PO0, s.G0, s.GO0, s.M0, s.V0, i, op);
        else if (i < s.End1) UpdateOne(s.P1, s.PO1, s.G1, s.GO1, s.M1, s.V1, i - s.End0, op);
        else if (i < s.End2) UpdateOne(s.P2, s.PO2, s.G2, s.GO2, s.M2, s.V2, i - s.End1, op);
        else UpdateOne(s.P3, s.PO3, s.G3, s.GO3, s.M3, s.V3, i - s.End2, op);
    }

    private static void UpdateOne<TOp>(ArrayView<float> p, int po, ArrayView<float> g, int go, ArrayView<float> m, ArrayView<float> v, int i, TOp op)
        where TOp : struct, IUpdateOp
    {
        var (np, nm, nv) = op.Apply(p[po + i], g[go + i], m[i], v[i]);
        m[i] = nm; v[i] = nv; p[po + i] = np;
    }

    /// <summary>One thread per row: the row's loss from max-shifted logits (NaN for an out-of-range label) and its softmax.</summary>
    public static void CrossEntropy<TIdx, EIdx>(Index1D r, ArrayView<float> x, ArrayView<TIdx> labels, ArrayView<float> loss, ArrayView<float> probs,
        GatherArgs g) where TIdx : unmanaged where EIdx : struct, IElement<TIdx> =>
        loss[r] = CrossEntropyRow<TIdx, EIdx>(x, labels, probs, g, r);

    /// <summary>
    /// The whole mean (or sum) loss in one launch of a single group: each thread folds rows t, t + size, …, then a
    /// shared-memory tree sums the partial losses and thread 0 writes scale · total.
    /// </summary>
    public static void CrossEntropyReduced<TIdx, EIdx>(ArrayView<float> x, ArrayView<TIdx> labels, ArrayView<float> loss, ArrayView<float> probs,
        GatherArgs g, float scale) where TIdx : unmanaged where EIdx : struct, IElement<TIdx>
    {
        var shared = SharedMemory.Allocate<float>(MaxReduceGroup); // static: see StaticTiles
        int t = Group.IdxX, size = Group.DimX;
        float acc = 0f;
        for (int r = t; r < g.Rows; r += size) acc += CrossEntropyRow<TIdx, EIdx>(x, labels, probs, g, r);
        shared[t] = acc;
        Group.Barrier();
        for (int s = size / 2; s > 0; s >>= 1)
        {
            if (t < s) shared[t] += shared[t + s];
            Group.Barrier();
        }
        if (t == 0) loss[0] = shared[0] * scale;
    }

    private static float CrossEntropyRow<TIdx, EIdx>(ArrayView<float> x, ArrayView<TIdx> labels, ArrayView<float> probs, GatherArgs g, int r)
        where TIdx : unmanaged where EIdx : struct, IElement<TIdx>
    {
        // From max-shifted values only (see LossMath): m and its first index k, R = Σ_{j≠k} e^(x − m), the softmax
        // e^(x − m) / (1 + R) and the loss log1p(R) − (x_label − m).
        int row = g.XOffset + r * g.Cols, k = 0;
        float m = float.NegativeInfinity, rest = 0f;
        for (int j = 0; j < g.Cols; j++)
        {
            float v = x[row + j];
            if (LossMath.Beats(v, m)) { m = v; k = j; }
        }
        for (int j = 0; j < k; j++) rest += MathF.Exp(x[row + j] - m);
        for (int j = k + 1; j < g.Cols; j++) rest += MathF.Exp(x[row + j] - m);
        if (g.Cols > 0) rest += LossMath.MaxTerm(x[row + k], m);
        float inv = 1f / (1f + rest);
        for (int j = 0; j < g.Cols; j++) probs[r * g.Cols + j] = MathF.Exp(x[row + j] - m) * inv;
        long label = (long)default(EIdx).ToDouble(labels[g.IndexOffset + r]);
        return label < 0 || label >= g.Cols ? float.NaN : LossMath.CrossEntropy(rest, x[row + (int)label], m);
    }

    /// <summary>dx = (softmax - one-hot) · g[r] · scale per row (g's stride is 0 for a mean or sum).</summary>
    public static void CrossEntropyBackward<TIdx, EIdx>(Index1D t, ArrayView<float> probs, ArrayView<TIdx> labels, ArrayView<float> g,
        ArrayView<float> dx, CeBackArgs a) where TIdx : unmanaged where EIdx : struct, IElement<TIdx>
    {
        int r = t / a.Cols, j = t - r * a.Cols;
        long label = (long)default(EIdx).ToDouble(labels[a.IndexOffset + r]);
        dx[t] = (probs[t] - (label == j ? 1f : 0f)) * g[a.GOffset + r * a.GStride] * a.Scale;
    }

    /// <summary>im2col, one thread per column entry: cols[n, c, i·K + j, oh, ow] = x[n, c, oh·S - P + i, ow·S - P + j] (Pad outside).</summary>
    public static void Unfold(Index1D t, ArrayView<float> x, ArrayView<float> cols, WindowArgs a)
    {
        int r = t, ow = r % a.OW; r /= a.OW;
        int oh = r % a.OH; r /= a.OH;
        a.ImageOf(r, out int nc, out int ij);
        int i = ij / a.K, j = ij - i * a.K;
        int h = oh * a.S - a.P + i, w = ow * a.S - a.P + j;
        cols[t] = a.Inside(h, w) ? x[a.Offset + (nc * a.H + h) * a.W + w] : a.Pad;
    }

    /// <summary>col2im as a gather (no atomics, deterministic): each input element sums the column entries that read it
    /// (cols from a.Offset).</summary>
    public static void Fold(Index1D t, ArrayView<float> cols, ArrayView<float> dx, WindowArgs a)
    {
        int w = t % a.W, r = t / a.W, h = r % a.H, nc = r / a.H;
        float acc = 0f;
        for (int i = 0; i < a.K; i++)
        {
            if (!a.Covers(h, i, a.OH, out int oh)) continue;
            for (int j = 0; j < a.K; j++)
                if (a.Covers(w, j, a.OW, out int ow))
                    acc += cols[a.Offset + (a.Plane(nc, i * a.K + j) * a.OH + oh) * a.OW + ow];
        }
        dx[t] = acc;
    }

    /// <summary>Max pooling's gradient as a gather (see <c>IBackend.MaxPoolBack</c>): each input element visits the windows
    /// that read it in increasing window position, counts each window's elements equal to its max, and adds its share.</summary>
    public static void MaxPoolBack(Index1D t, ArrayView<float> x, ArrayView<float> y, ArrayView<float> g, ArrayView<float> dx, WindowArgs a)
    {
        int w = t % a.W, r = t / a.W, h = r % a.H, nc = r / a.H;
        float xv = x[a.Offset + t], acc = 0f;
        for (int i = 0; i < a.K; i++)
        {
            if (!a.Covers(h, i, a.OH, out int oh)) continue;
            for (int j = 0; j < a.K; j++)
            {
                if (!a.Covers(w, j, a.OW, out int ow)) continue;
                int o = (nc * a.OH + oh) * a.OW + ow;
                float max = y[o], ties = 0f;
                for (int ii = 0; ii < a.K; ii++)
                    for (int jj = 0; jj < a.K; jj++)
                    {
                        int h2 = oh * a.S - a.P + ii, w2 = ow * a.S - a.P + jj;
                        ties += (a.Inside(h2, w2) ? x[a.Offset + (nc * a.H + h2) * a.W + w2] : a.Pad) == max ? 1f : 0f;
                    }
                acc += (xv == max ? 1f : 0f) * (g[o] / ties);
            }
        }
        dx[t] = acc;
    }

    /// <summary>y[index[r], c] += src[r, c] with atomic adds (several r may name the same row).</summary>
    public static void IndexAddRows<TIdx, EIdx>(Index1D t, ArrayView<float> y, ArrayView<TIdx> index, ArrayView<float> src, GatherArgs g)
        where TIdx : unmanaged where EIdx : struct, IElement<TIdx>
    {
        int r = t / g.Cols, col = t - r * g.Cols;
        long ix = (long)default(EIdx).ToDouble(index[g.IndexOffset + r]);
        if (ix < 0) ix += g.Rows;
        Atomic.Add(ref y[(int)ix * g.Cols + col], src[g.XOffset + t]);
    }

    /// <summary>y[r, c] = x[index[r], c]; an out-of-range index writes 0 and sets error[0] = 1 + position.</summary>
    public static void GatherRows<TIdx, EIdx>(Index1D t, ArrayView<float> x, ArrayView<TIdx> index, ArrayView<float> y, ArrayView<int> error,
        GatherArgs g) where TIdx : unmanaged where EIdx : struct, IElement<TIdx>
    {
        int r = t / g.Cols, col = t - r * g.Cols;
        long ix = (long)default(EIdx).ToDouble(index[g.IndexOffset + r]);
        if (ix < 0) ix += g.Rows;
        if (ix < 0 || ix >= g.Rows) { y[t] = 0f; error[0] = 1 + r; return; }
        y[t] = x[g.XOffset + (int)ix * g.Cols + col];
    }
}

/// <summary>Four parameters of one <see cref="Kernels.Update{TOp}"/> launch: views, offsets and cumulative element ends.</summary>
public struct UpdateSlots
{
    /// <summary>Parameter, gradient and state views per slot.</summary>
    public ArrayView<float> P0, G0, M0, V0, P1, G1, M1, V1, P2, G2, M2, V2, P3, G3, M3, V3;
    /// <summary>Element offsets of the parameter and gradient per slot.</summary>
    public int PO0, GO0, PO1, GO1, PO2, GO2, PO3, GO3;
    /// <summary>Cumulative element counts: slot k covers [End(k-1), End(k)).</summary>
    public int End0, End1, End2, End3;

    internal void Set(int k, ArrayView<float> p, int po, ArrayView<float> g, int go, ArrayView<float> m, ArrayView<float> v, int end)
    {
        switch (k)
        {
            case 0: (P0, PO0, G0, GO0, M0, V0, End0) = (p, po, g, go, m, v, end); break;
            case 1: (P1, PO1, G1, GO1, M1, V1, End1) = (p, po, g, go, m, v, end); break;
            case 2: (P2, PO2, G2, GO2, M2, V2, End2) = (p, po, g, go, m, v, end); break;
            default: (P3, PO3, G3, GO3, M3, V3, End3) = (p, po, g, go, m, v, end); break;
        }
    }
}

/// <summary>Arguments of <see cref="Kernels.CrossEntropyBackward{TIdx, EIdx}"/>.</summary>
public struct CeBackArgs
{
    /// <summary>Offset and stride of the upstream gradient, offset of the labels, classes.</summary>
    public int GOffset, GStride, IndexOffset, Cols;
    /// <summary>Factor applied to every gradient (1/n for a mean).</summary>
    public float Scale;
}

/// <summary>Arguments of <see cref="Kernels.GatherRows{TIdx, EIdx}"/>.</summary>
public struct GatherArgs
{
    /// <summary>Offsets of x and index; rows and columns of x.</summary>
    public int XOffset, IndexOffset, Rows, Cols;
}
