using ILGPU;
using ILGPU.Runtime;

namespace DeepSharp.Backends.Ilgpu;

// Launches of the fused cross-entropy kernels (Kernels.Losses.cs), both ways.
internal sealed partial class IlgpuBackend
{
    public void CrossEntropy(Storage logits, int offset, int n, int c, Storage labels, int labelsOffset, Storage loss, Storage probs,
        bool reduce, float scale)
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

    public void CrossEntropyBackward(Storage probs, int n, int c, Storage labels, int labelsOffset, Storage g, int gOffset, int gStride,
        float scale, Storage dx)
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
}
