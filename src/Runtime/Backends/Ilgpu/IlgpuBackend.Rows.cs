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
            bool f64 = x.DType == DType.Float64;
            if (index.DType == DType.Int32)
            {
                if (f64) LaunchGather<double, int, I32>(x, index, y, error.View, args, count * cols);
                else LaunchGather<float, int, I32>(x, index, y, error.View, args, count * cols);
            }
            else if (f64) LaunchGather<double, long, I64>(x, index, y, error.View, args, count * cols);
            else LaunchGather<float, long, I64>(x, index, y, error.View, args, count * cols);
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

    private void LaunchGather<T, TIdx, EIdx>(Storage x, Storage index, Storage y, ArrayView<int> error, GatherArgs args, int n)
        where T : unmanaged where TIdx : unmanaged where EIdx : struct, IElement<TIdx>
    {
        _launches++;
        GatherK<T, TIdx, EIdx>()(n, V<T>(x), V<TIdx>(index), V<T>(y), error, args);
    }

    public void IndexAddRows(Storage y, int rows, int cols, Storage index, int indexOffset, Storage src, int srcOffset, int count)
    {
        if (count * cols == 0) return;
        var args = new GatherArgs { XOffset = srcOffset, IndexOffset = indexOffset, Rows = rows, Cols = cols };
        using var scope = Enter(nameof(IndexAddRows));
        try
        {
            bool f64 = y.DType == DType.Float64;
            if (index.DType == DType.Int32)
            {
                if (f64) LaunchIndexAdd<double, AtomicF64, int, I32>(y, index, src, args, count * cols);
                else LaunchIndexAdd<float, AtomicF32, int, I32>(y, index, src, args, count * cols);
            }
            else if (f64) LaunchIndexAdd<double, AtomicF64, long, I64>(y, index, src, args, count * cols);
            else LaunchIndexAdd<float, AtomicF32, long, I64>(y, index, src, args, count * cols);
        }
        catch (AcceleratorException e) when (IsDeviceFailure(e)) { throw Fault(e, nameof(IndexAddRows)); }
    }

    private void LaunchIndexAdd<T, TAdd, TIdx, EIdx>(Storage y, Storage index, Storage src, GatherArgs args, int n)
        where T : unmanaged where TAdd : struct, IAtomicAdd<T> where TIdx : unmanaged where EIdx : struct, IElement<TIdx>
    {
        _launches++;
        IndexAddK<T, TAdd, TIdx, EIdx>()(n, V<T>(y), V<TIdx>(index), V<T>(src), args);
    }

    private Action<Index1D, ArrayView<T>, ArrayView<TIdx>, ArrayView<T>, ArrayView<int>, GatherArgs> GatherK<T, TIdx, EIdx>()
        where T : unmanaged where TIdx : unmanaged where EIdx : struct, IElement<TIdx> =>
        Compiled("gather", typeof(TIdx), typeof(T), static b =>
            b.Accelerator.LoadAutoGroupedStreamKernel<Index1D, ArrayView<T>, ArrayView<TIdx>, ArrayView<T>, ArrayView<int>,
                GatherArgs>(Kernels.GatherRows<T, TIdx, EIdx>));

    private Action<Index1D, ArrayView<T>, ArrayView<TIdx>, ArrayView<T>, GatherArgs> IndexAddK<T, TAdd, TIdx, EIdx>()
        where T : unmanaged where TAdd : struct, IAtomicAdd<T> where TIdx : unmanaged where EIdx : struct, IElement<TIdx> =>
        Compiled("indexAdd", typeof(TIdx), typeof(T), static b =>
            b.Accelerator.LoadAutoGroupedStreamKernel<Index1D, ArrayView<T>, ArrayView<TIdx>, ArrayView<T>, GatherArgs>(
                Kernels.IndexAddRows<T, TAdd, TIdx, EIdx>));
}
