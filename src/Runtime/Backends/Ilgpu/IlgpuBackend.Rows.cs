using ILGPU;
using ILGPU.Runtime;

namespace DeepSharp.Backends.Ilgpu;

// Launches of the row kernels (Kernels.Rows.cs): rows picked by an index, and their scatter-add.
internal sealed partial class IlgpuBackend
{
    public void GatherRows(Storage x, int xOffset, int rows, int cols, Storage index, int indexOffset, Storage y, int count)
    {
        using var scope = Enter(nameof(GatherRows));
        try
        {
            if (count * cols == 0) return;
            var args = new GatherArgs { XOffset = xOffset, IndexOffset = indexOffset, Rows = rows, Cols = cols };
            // One 4-byte flag per accelerator, reused: the read-back below is the only cost of the clear error.
            var error = _gatherError ??= Accelerator.Allocate1D<int>(1);
            error.MemSetToZero(Accelerator.DefaultStream);
            _launches++;
            if (index.DType == DType.Int32) LaunchGather<int, I32>(x, index, y, error.View, args, count * cols);
            else LaunchGather<long, I64>(x, index, y, error.View, args, count * cols);
            int bad = error.GetAsArray1D(Accelerator.DefaultStream)[0];
            if (bad != 0)
            {
                long value = IndexAt(index, indexOffset + bad - 1);
                throw new ArgumentOutOfRangeException("index", value,
                    $"GatherRows: index {value} at position {bad - 1} is out of range for {rows} rows (expected {-rows}..{rows - 1}).");
            }
        }
        catch (AcceleratorException e) when (IsDeviceFailure(e)) { throw Fault(e, nameof(GatherRows)); }
    }

    /// <summary>One element of an index tensor, read back to name a bad index in an error.</summary>
    private long IndexAt(Storage index, int i)
    {
        Span<long> one = stackalloc long[1];
        if (index.DType == DType.Int32)
        {
            Span<int> v = stackalloc int[1];
            V<int>(index).SubView(i, 1).CopyToCPU(Accelerator.DefaultStream, v);
            return v[0];
        }
        V<long>(index).SubView(i, 1).CopyToCPU(Accelerator.DefaultStream, one);
        return one[0];
    }

    private void LaunchGather<TIdx, EIdx>(Storage x, Storage index, Storage y, ArrayView<int> error, GatherArgs args, int n)
        where TIdx : unmanaged where EIdx : struct, IElement<TIdx>
    {
        _launches++;
        GatherK<TIdx, EIdx>()(n, V<float>(x), V<TIdx>(index), V<float>(y), error, args);
    }

    public void IndexAddRows(Storage y, int rows, int cols, Storage index, int indexOffset, Storage src, int srcOffset, int count)
    {
        if (count * cols == 0) return;
        var args = new GatherArgs { XOffset = srcOffset, IndexOffset = indexOffset, Rows = rows, Cols = cols };
        using var scope = Enter(nameof(IndexAddRows));
        try
        {
            if (index.DType == DType.Int32) LaunchIndexAdd<int, I32>(y, index, src, args, count * cols);
            else LaunchIndexAdd<long, I64>(y, index, src, args, count * cols);
        }
        catch (AcceleratorException e) when (IsDeviceFailure(e)) { throw Fault(e, nameof(IndexAddRows)); }
    }

    private void LaunchIndexAdd<TIdx, EIdx>(Storage y, Storage index, Storage src, GatherArgs args, int n)
        where TIdx : unmanaged where EIdx : struct, IElement<TIdx>
    {
        _launches++;
        IndexAddK<TIdx, EIdx>()(n, V<float>(y), V<TIdx>(index), V<float>(src), args);
    }
}
