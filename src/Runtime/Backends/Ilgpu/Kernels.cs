using DeepSharp.Backends.Cpu;
using DeepSharp.Ops;
using ILGPU;
using ILGPU.Runtime;

namespace DeepSharp.Backends.Ilgpu;

/// <summary>Shape of a reduction over the middle axis of a dense [Outer, N, Inner] block starting at Offset.</summary>
public struct ReduceArgs
{
    /// <summary>Offset of the block, reduced length, inner count (the outer count is the launch size).</summary>
    public int Offset, N, Inner;
}

/// <summary>
/// Every ILGPU kernel of the runtime. Each is generic over an op struct from <c>DeepSharp.Ops</c> — the same structs the
/// managed CPU backend runs — so an operation is written once. Elementwise kernels are implicitly grouped; reductions and
/// GEMM are explicitly grouped, with shared memory sized per device.
/// </summary>
public static partial class Kernels
{
    /// <summary>y[i] = op.At(i).</summary>
    public static void Fill<T, TOp>(Index1D i, ArrayView<T> y, TOp op) where T : unmanaged where TOp : struct, IIndexOp<T> =>
        y[i] = op.At(i);

    /// <summary>Strided copy: y[map.B(i)] = x[map.A(i)].</summary>
    public static void Copy<T>(Index1D i, ArrayView<T> x, ArrayView<T> y, StridedMap map) where T : unmanaged
    {
        var (a, b, _) = map.Map(i);
        y[b] = x[a];
    }

    /// <summary>Strided copy with dtype conversion through double: y[map.B(i)] = (TOut)x[map.A(i)].</summary>
    public static void Convert<TIn, EIn, TOut, EOut>(Index1D i, ArrayView<TIn> x, ArrayView<TOut> y, StridedMap map)
        where TIn : unmanaged where EIn : struct, IElement<TIn> where TOut : unmanaged where EOut : struct, IElement<TOut>
    {
        var (a, b, _) = map.Map(i);
        y[b] = default(EOut).FromDouble(default(EIn).ToDouble(x[a]));
    }

    /// <summary>y[map.B(i)] = op(x[map.A(i)]).</summary>
    public static void Unary<TOp>(Index1D i, ArrayView<float> x, ArrayView<float> y, StridedMap map, TOp op)
        where TOp : struct, IUnaryOp
    {
        var (a, o, _) = map.Map(i);
        y[o] = op.Apply(x[a]);
    }

    /// <summary>
    /// Dense unary op, four elements per thread through 16-byte loads and stores (x and y start 16-byte aligned); the
    /// last thread finishes a ragged tail one element at a time. Twice the bandwidth of one element per thread at 16 M.
    /// </summary>
    public static void UnaryDense<TOp>(Index1D t, ArrayView<float> x, ArrayView<float> y, DenseArgs d, TOp op) where TOp : struct, IUnaryOp
    {
        int i = 4 * t;
        if (i + 4 <= d.Count)
        {
            var v = x.SubView(d.OffA, d.Count & ~3).Cast<Float4>().AsAligned(16)[t];
            y.SubView(d.OffC, d.Count & ~3).Cast<Float4>().AsAligned(16)[t] =
                new Float4 { X = op.Apply(v.X), Y = op.Apply(v.Y), Z = op.Apply(v.Z), W = op.Apply(v.W) };
        }
        else for (; i < d.Count; i++) y[d.OffC + i] = op.Apply(x[d.OffA + i]);
    }

    /// <summary>Dense binary op without broadcasting, four elements per thread (see <see cref="UnaryDense{TOp}"/>).</summary>
    public static void BinaryDense<TOp>(Index1D t, ArrayView<float> a, ArrayView<float> b, ArrayView<float> y, DenseArgs d, TOp op)
        where TOp : struct, IBinaryOp
    {
        int i = 4 * t;
        if (i + 4 <= d.Count)
        {
            int n4 = d.Count & ~3;
            var u = a.SubView(d.OffA, n4).Cast<Float4>().AsAligned(16)[t];
            var v = b.SubView(d.OffB, n4).Cast<Float4>().AsAligned(16)[t];
            y.SubView(d.OffC, n4).Cast<Float4>().AsAligned(16)[t] =
                new Float4 { X = op.Apply(u.X, v.X), Y = op.Apply(u.Y, v.Y), Z = op.Apply(u.Z, v.Z), W = op.Apply(u.W, v.W) };
        }
        else for (; i < d.Count; i++) y[d.OffC + i] = op.Apply(a[d.OffA + i], b[d.OffB + i]);
    }

    /// <summary>y[map.C(i)] = op(a[map.A(i)], b[map.B(i)]).</summary>
    public static void Binary<TOp>(Index1D i, ArrayView<float> a, ArrayView<float> b, ArrayView<float> y, StridedMap map, TOp op)
        where TOp : struct, IBinaryOp
    {
        var (oa, ob, o) = map.Map(i);
        y[o] = op.Apply(a[oa], b[ob]);
    }

    /// <summary>y[i] = cond != 0 ? a : b.</summary>
    public static void Where(Index1D i, ArrayView<float> cond, ArrayView<float> a, ArrayView<float> b, ArrayView<float> y, StridedMap map)
    {
        var (oc, oa, ob) = map.Map(i);
        y[i] = cond[oc] != 0f ? a[oa] : b[ob];
    }

    /// <summary>One group per row of a [Outer, N] block (Inner = 1): strided partial folds, then a shared-memory tree.</summary>
    public static void ReduceRows<TOp>(ArrayView<float> x, ArrayView<float> y, ReduceArgs r) where TOp : struct, IReduceOp
    {
        var shared = SharedMemory.GetDynamic<float>(); // one float per thread; the group size is a power of two
        var op = default(TOp);
        int row = Grid.IdxX, t = Group.IdxX, size = Group.DimX, start = r.Offset + row * r.N;
        float acc = op.Identity;
        for (int k = t; k < r.N; k += size) acc = op.Combine(acc, x[start + k]);
        shared[t] = acc;
        Group.Barrier();
        for (int s = size / 2; s > 0; s >>= 1)
        {
            if (t < s) shared[t] = op.Combine(shared[t], shared[t + s]);
            Group.Barrier();
        }
        if (t == 0) y[row] = shared[0];
    }

    /// <summary>One thread per output of [Outer, N, Inner] with Inner &gt; 1: neighbours read neighbouring columns (coalesced).</summary>
    public static void ReduceColumns<TOp>(Index1D t, ArrayView<float> x, ArrayView<float> y, ReduceArgs r) where TOp : struct, IReduceOp
    {
        var op = default(TOp);
        int o = t / r.Inner, j = t - o * r.Inner, start = r.Offset + o * r.N * r.Inner + j;
        float acc = op.Identity;
        for (int k = 0; k < r.N; k++) acc = op.Combine(acc, x[start + k * r.Inner]);
        y[t] = acc;
    }

    /// <summary>Arg-max (max ≠ 0) or arg-min along N; ties keep the first index, NaN wins (as in PyTorch).</summary>
    public static void ArgReduce(Index1D t, ArrayView<float> x, ArrayView<long> y, ReduceArgs r, int max)
    {
        int o = t / r.Inner, j = t - o * r.Inner, start = r.Offset + o * r.N * r.Inner + j;
        float best = x[start];
        long idx = 0;
        for (int k = 1; k < r.N; k++)
        {
            float v = x[start + k * r.Inner];
            if (ArgScan.Better(v, best, max != 0)) { best = v; idx = k; }
        }
        y[t] = idx;
    }

    /// <summary>
    /// GEMM without shared memory: one thread per element of C, k unrolled by four. Used on OpenCL, where PoCL gave
    /// wrong products from the tiled kernel when several groups ran at once (measured 2026-11-26; cause not yet found).
    /// </summary>
    public static void GemmDirect(Index1D t, ArrayView<float> a, ArrayView<float> b, ArrayView<float> c, ArrayView<float> bias, GemmArgs g)
    {
        int col = t % g.N, rest = t / g.N, row = rest % g.M, batch = rest / g.M;
        int pa = g.OffA + batch * g.BatchA + row * g.RowA, pb = g.OffB + batch * g.BatchB + col * g.ColB;
        float acc = 0f;
        int k = 0;
        for (; k + 4 <= g.K; k += 4)
            acc += a[pa + k * g.ColA] * b[pb + k * g.RowB] + a[pa + (k + 1) * g.ColA] * b[pb + (k + 1) * g.RowB]
                 + a[pa + (k + 2) * g.ColA] * b[pb + (k + 2) * g.RowB] + a[pa + (k + 3) * g.ColA] * b[pb + (k + 3) * g.RowB];
        for (; k < g.K; k++) acc += a[pa + k * g.ColA] * b[pb + k * g.RowB];
        c[t] = g.HasBias == 1 ? acc + bias[g.OffBias + col] : g.HasBias == 2 ? acc + bias[g.OffBias + row] : acc;
    }

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

    /// <summary>One thread per row: a stable log-sum-exp, the row's loss (NaN for an out-of-range label) and its softmax.</summary>
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
        var shared = SharedMemory.GetDynamic<float>();
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
        int row = g.XOffset + r * g.Cols;
        float m = float.NegativeInfinity, s = 0f;
        for (int j = 0; j < g.Cols; j++) m = default(MaximumOp).Apply(m, x[row + j]);
        for (int j = 0; j < g.Cols; j++) s += MathF.Exp(x[row + j] - m);
        float lse = m + MathF.Log(s);
        for (int j = 0; j < g.Cols; j++) probs[r * g.Cols + j] = MathF.Exp(x[row + j] - lse);
        long label = (long)default(EIdx).ToDouble(labels[g.IndexOffset + r]);
        return label < 0 || label >= g.Cols ? float.NaN : lse - x[row + (int)label];
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
        int kk = a.K * a.K, ij = r % kk, nc = r / kk, i = ij / a.K, j = ij - i * a.K;
        int h = oh * a.S - a.P + i, w = ow * a.S - a.P + j;
        cols[t] = h >= 0 && h < a.H && w >= 0 && w < a.W ? x[a.Offset + (nc * a.H + h) * a.W + w] : a.Pad;
    }

    /// <summary>col2im as a gather (no atomics, deterministic): each input element sums the column entries that read it
    /// (cols from a.Offset).</summary>
    public static void Fold(Index1D t, ArrayView<float> cols, ArrayView<float> dx, WindowArgs a)
    {
        int w = t % a.W, r = t / a.W, h = r % a.H, nc = r / a.H, kk = a.K * a.K;
        float acc = 0f;
        for (int i = 0; i < a.K; i++)
        {
            int hh = h + a.P - i;
            if (hh < 0 || hh % a.S != 0 || hh / a.S >= a.OH) continue;
            int oh = hh / a.S;
            for (int j = 0; j < a.K; j++)
            {
                int ww = w + a.P - j;
                if (ww < 0 || ww % a.S != 0 || ww / a.S >= a.OW) continue;
                acc += cols[a.Offset + ((nc * kk + i * a.K + j) * a.OH + oh) * a.OW + ww / a.S];
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

/// <summary>Element offsets (multiples of 4) and count of the dense elementwise kernels.</summary>
public struct DenseArgs
{
    /// <summary>Offsets of the operands and the output; element count.</summary>
    public int OffA, OffB, OffC, Count;
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
