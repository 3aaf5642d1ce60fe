using DeepSharp.Ops;
using ILGPU;
using ILGPU.Runtime;

namespace DeepSharp.Backends.Ilgpu;

// Fused cross-entropy, forward (per row, or the whole mean in one group) and backward.
internal static partial class Kernels
{
    /// <summary>One thread per row: the row's loss from max-shifted logits (NaN for an out-of-range label) and its softmax.</summary>
    public static void CrossEntropy<TIdx, EIdx>(Index1D r, ArrayView<float> x, ArrayView<TIdx> labels, ArrayView<float> loss,
        ArrayView<float> probs, GatherArgs g) where TIdx : unmanaged where EIdx : struct, IElement<TIdx> =>
        loss[r] = CrossEntropyRow<TIdx, EIdx>(x, labels, probs, g, r);

    /// <summary>
    /// The whole mean (or sum) loss in one launch of a single group: each thread folds rows t, t + size, …, then a
    /// shared-memory tree sums the partial losses and thread 0 writes scale · total.
    /// </summary>
    public static void CrossEntropyReduced<TIdx, EIdx>(ArrayView<float> x, ArrayView<TIdx> labels, ArrayView<float> loss,
        ArrayView<float> probs, GatherArgs g, float scale) where TIdx : unmanaged where EIdx : struct, IElement<TIdx>
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

    private static float CrossEntropyRow<TIdx, EIdx>(ArrayView<float> x, ArrayView<TIdx> labels, ArrayView<float> probs, GatherArgs g,
        int r)
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
    public static void CrossEntropyBackward<TIdx, EIdx>(Index1D t, ArrayView<float> probs, ArrayView<TIdx> labels,
        ArrayView<float> g, ArrayView<float> dx, CeBackArgs a) where TIdx : unmanaged where EIdx : struct, IElement<TIdx>
    {
        int r = t / a.Cols, j = t - r * a.Cols;
        long label = (long)default(EIdx).ToDouble(labels[a.IndexOffset + r]);
        dx[t] = (probs[t] - (label == j ? 1f : 0f)) * g[a.GOffset + r * a.GStride] * a.Scale;
    }
}

/// <summary>Arguments of <see cref="Kernels.CrossEntropyBackward{TIdx, EIdx}"/>.</summary>
internal struct CeBackArgs
{
    /// <summary>Offset and stride of the upstream gradient, offset of the labels, classes.</summary>
    public int GOffset, GStride, IndexOffset, Cols;
    /// <summary>Factor applied to every gradient (1/n for a mean).</summary>
    public float Scale;
}
