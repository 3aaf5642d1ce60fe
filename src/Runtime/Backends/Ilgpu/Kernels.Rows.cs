using ILGPU;
using ILGPU.Runtime;

namespace DeepSharp.Backends.Ilgpu;

// Rows picked by an index (an embedding lookup), and their scatter-add.
internal static partial class Kernels
{
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
    public static void GatherRows<TIdx, EIdx>(Index1D t, ArrayView<float> x, ArrayView<TIdx> index, ArrayView<float> y,
        ArrayView<int> error, GatherArgs g) where TIdx : unmanaged where EIdx : struct, IElement<TIdx>
    {
        int r = t / g.Cols, col = t - r * g.Cols;
        long ix = (long)default(EIdx).ToDouble(index[g.IndexOffset + r]);
        if (ix < 0) ix += g.Rows;
        if (ix < 0 || ix >= g.Rows) { y[t] = 0f; error[0] = 1 + r; return; }
        y[t] = x[g.XOffset + (int)ix * g.Cols + col];
    }
}

/// <summary>Arguments of <see cref="Kernels.GatherRows{TIdx, EIdx}"/>.</summary>
internal struct GatherArgs
{
    /// <summary>Offsets of x and index; rows and columns of x.</summary>
    public int XOffset, IndexOffset, Rows, Cols;
}
