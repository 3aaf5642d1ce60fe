using DeepSharp.Ops;
using ILGPU;
using ILGPU.Runtime;

namespace DeepSharp.Backends.Ilgpu;

// Launches of the training kernels (Kernels.Training.cs): gather and scatter-add of rows, the fused optimizer update,
// fused cross-entropy both ways, im2col and col2im.
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

    public void Update<TOp>(IReadOnlyList<UpdateItem> items, TOp op) where TOp : struct, IUpdateOp
    {
        using var scope = Enter(nameof(Update));
        try
        {
            for (int start = 0; start < items.Count; start += 4)
            {
                // Up to four parameters per launch; unused slots repeat the last one with an empty range.
                var s = new UpdateSlots();
                int end = 0;
                for (int k = 0; k < 4; k++)
                {
                    var u = items[Math.Min(start + k, items.Count - 1)];
                    if (start + k < items.Count) end += u.Count;
                    s.Set(k, V<float>(u.P), u.POffset, V<float>(u.G), u.GOffset, V<float>(u.M), V<float>(u.V), end);
                }
                if (end == 0) continue;
                _launches++;
                UpdateK<TOp>()(end, s, op);
            }
        }
        catch (AcceleratorException e) when (IsDeviceFailure(e)) { throw Fault(e, nameof(Update)); }
    }

    public void CrossEntropy(Storage logits, int offset, int n, int c, Storage labels, int labelsOffset, Storage loss, Storage probs, bool reduce, float scale)
    {
        if (n == 0) return;
        var args = new GatherArgs { XOffset = offset, IndexOffset = labelsOffset, Rows = n, Cols = c };
        using var scope = Enter(nameof(CrossEntropy));
        try
        {
            if (labels.DType == DType.Int32) LaunchCe<int, I32>(logits, labels, loss, probs, args, reduce, scale);
            else LaunchCe<long, I64>(logits, labels, loss, probs, args, reduce, scale);
        }
        catch (AcceleratorException e) when (IsDeviceFailure(e)) { throw Fault(e, nameof(CrossEntropy)); }
    }

    private void LaunchCe<TIdx, EIdx>(Storage x, Storage labels, Storage loss, Storage probs, GatherArgs args, bool reduce, float scale)
        where TIdx : unmanaged where EIdx : struct, IElement<TIdx>
    {
        _launches++;
        if (reduce)
            CeReducedK<TIdx, EIdx>()(new KernelConfig(1, ReduceGroup),
                V<float>(x), V<TIdx>(labels), V<float>(loss), V<float>(probs), args, scale);
        else
            CeK<TIdx, EIdx>()(args.Rows, V<float>(x), V<TIdx>(labels), V<float>(loss), V<float>(probs), args);
    }

    public void CrossEntropyBackward(Storage probs, int n, int c, Storage labels, int labelsOffset, Storage g, int gOffset, int gStride, float scale, Storage dx)
    {
        if (n * c == 0) return;
        var args = new CeBackArgs { GOffset = gOffset, GStride = gStride, Scale = scale, IndexOffset = labelsOffset, Cols = c };
        using var scope = Enter(nameof(CrossEntropyBackward));
        try
        {
            if (labels.DType == DType.Int32) LaunchCeBack<int, I32>(probs, labels, g, dx, args, n);
            else LaunchCeBack<long, I64>(probs, labels, g, dx, args, n);
        }
        catch (AcceleratorException e) when (IsDeviceFailure(e)) { throw Fault(e, nameof(CrossEntropyBackward)); }
    }

    private void LaunchCeBack<TIdx, EIdx>(Storage probs, Storage labels, Storage g, Storage dx, CeBackArgs args, int n)
        where TIdx : unmanaged where EIdx : struct, IElement<TIdx>
    {
        _launches++;
        CeBackK<TIdx, EIdx>()(n * args.Cols, V<float>(probs), V<TIdx>(labels), V<float>(g), V<float>(dx), args);
    }

    public void Unfold(Storage x, Storage cols, WindowArgs a)
    {
        int count = a.N * a.C * a.K * a.K * a.OH * a.OW;
        if (count == 0) return;
        using var scope = Enter(nameof(Unfold));
        try
        {
            _launches++;
            UnfoldK()(count, V<float>(x), V<float>(cols), a);
        }
        catch (AcceleratorException e) when (IsDeviceFailure(e)) { throw Fault(e, nameof(Unfold)); }
    }

    public void MaxPoolBack(Storage x, Storage y, Storage g, Storage dx, WindowArgs a)
    {
        int count = a.N * a.C * a.H * a.W;
        if (count == 0) return;
        using var scope = Enter(nameof(MaxPoolBack));
        try
        {
            _launches++;
            MaxPoolBackK()(count, V<float>(x), V<float>(y), V<float>(g), V<float>(dx), a);
        }
        catch (AcceleratorException e) when (IsDeviceFailure(e)) { throw Fault(e, nameof(MaxPoolBack)); }
    }

    public void Fold(Storage cols, Storage dx, WindowArgs a)
    {
        int count = a.N * a.C * a.H * a.W;
        if (count == 0) return;
        using var scope = Enter(nameof(Fold));
        try
        {
            _launches++;
            FoldK()(count, V<float>(cols), V<float>(dx), a);
        }
        catch (AcceleratorException e) when (IsDeviceFailure(e)) { throw Fault(e, nameof(Fold)); }
    }
}
