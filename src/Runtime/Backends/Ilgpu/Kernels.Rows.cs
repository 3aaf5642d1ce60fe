using ILGPU;
using ILGPU.Runtime;

namespace DeepSharp.Backends.Ilgpu;

// Rows picked by an index (an embedding lookup), and their scatter-add.
internal static partial class Kernels
{
    /// <summary>y[index[r], c] += src[r, c] with atomic adds (several r may name the same row).</summary>
    public static void IndexAddRows<T, TAdd, TIdx, EIdx>(Index1D t, ArrayView<T> y, ArrayView<TIdx> index, ArrayView<T> src, GatherArgs g)
        where T : unmanaged where TAdd : struct, IAtomicAdd<T> where TIdx : unmanaged where EIdx : struct, IElement<TIdx>
    {
        int r = t / g.Cols, col = t - r * g.Cols;
        long ix = (long)default(EIdx).ToDouble(index[g.IndexOffset + r]);
        if (ix < 0) ix += g.Rows;
        default(TAdd).Add(ref y[(int)ix * g.Cols + col], src[g.XOffset + t]);
    }

    /// <summary>y[r, c] = x[index[r], c]; an out-of-range index writes 0 and sets error[0] = 1 + position.</summary>
    public static void GatherRows<T, TIdx, EIdx>(Index1D t, ArrayView<T> x, ArrayView<TIdx> index, ArrayView<T> y,
        ArrayView<int> error, GatherArgs g) where T : unmanaged where TIdx : unmanaged where EIdx : struct, IElement<TIdx>
    {
        int r = t / g.Cols, col = t - r * g.Cols;
        long ix = (long)default(EIdx).ToDouble(index[g.IndexOffset + r]);
        if (ix < 0) ix += g.Rows;
        if (ix < 0 || ix >= g.Rows) { y[t] = default; error[0] = 1 + r; return; }
        y[t] = x[g.XOffset + (int)ix * g.Cols + col];
    }
}

/// <summary>Arguments of <see cref="Kernels.GatherRows{T, TIdx, EIdx}"/>.</summary>
internal struct GatherArgs
{
    /// <summary>Offsets of x and index; rows and columns of x.</summary>
    public int XOffset, IndexOffset, Rows, Cols;
}

/// <summary>An atomic add on one element type (the scatter-add kernels are generic over it).</summary>
internal interface IAtomicAdd<T> where T : unmanaged
{
    /// <summary>target += value, atomically.</summary>
    void Add(ref T target, T value);
}

/// <summary>Atomic float32 adds.</summary>
internal struct AtomicF32 : IAtomicAdd<float>
{
    /// <inheritdoc/>
    public readonly void Add(ref float target, float value) => Atomic.Add(ref target, value);
}

/// <summary>Atomic float64 adds.</summary>
internal struct AtomicF64 : IAtomicAdd<double>
{
    /// <inheritdoc/>
    public readonly void Add(ref double target, double value) => Atomic.Add(ref target, value);
}
