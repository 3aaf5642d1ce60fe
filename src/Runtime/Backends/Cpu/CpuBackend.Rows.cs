namespace DeepSharp.Backends.Cpu;

// Rows picked by an index (an embedding lookup) and its adjoint, the scatter-add of rows.
internal sealed partial class CpuBackend
{
    public void GatherRows(Storage x, int xOffset, int rows, int cols, Storage index, int indexOffset, Storage y, int count)
    {
        if (x.DType == DType.Float64) GatherRowsOf<double>(x, xOffset, rows, cols, index, indexOffset, y, count);
        else GatherRowsOf<float>(x, xOffset, rows, cols, index, indexOffset, y, count);
    }

    private static void GatherRowsOf<T>(Storage x, int xOffset, int rows, int cols, Storage index, int indexOffset, Storage y,
        int count) where T : unmanaged
    {
        var xs = Host<T>(x); var ys = Host<T>(y);
        for (int r = 0; r < count; r++)
        {
            long ix = IndexAt(index, indexOffset + r);
            if (ix < -rows || ix >= rows)
                throw new ArgumentOutOfRangeException("index", ix,
                    $"GatherRows: index {ix} at position {r} is out of range for {rows} rows (expected {-rows}..{rows - 1}).");
            if (ix < 0) ix += rows;
            xs.AsSpan((int)(xOffset + ix * cols), cols).CopyTo(ys.AsSpan(r * cols, cols));
        }
    }

    public void IndexAddRows(Storage y, int rows, int cols, Storage index, int indexOffset, Storage src, int srcOffset, int count)
    {
        if (y.DType == DType.Float64) IndexAddRowsOf<double>(y, rows, cols, index, indexOffset, src, srcOffset, count);
        else IndexAddRowsOf<float>(y, rows, cols, index, indexOffset, src, srcOffset, count);
    }

    private static void IndexAddRowsOf<T>(Storage y, int rows, int cols, Storage index, int indexOffset, Storage src, int srcOffset,
        int count) where T : unmanaged, System.Numerics.INumberBase<T>
    {
        var ys = ((CpuStorage)y).Span<T>(); var xs = Host<T>(src);
        for (int r = 0; r < count; r++)
        {
            long ix = IndexAt(index, indexOffset + r);
            if (ix < 0) ix += rows; // validated by the forward GatherRows
            var dst = ys.Slice((int)ix * cols, cols);
            var row = xs.AsSpan(srcOffset + r * cols, cols);
            for (int c = 0; c < cols; c++) dst[c] += row[c];
        }
    }

    /// <summary>Element i of an int32 or int64 index (or label) tensor.</summary>
    private static long IndexAt(Storage indices, int i) => indices.DType == DType.Int32 ? S<int>(indices)[i] : S<long>(indices)[i];
}
