using ILGPU;
using ILGPU.Runtime;

namespace DeepSharp.Backends.Ilgpu;

// Launches of the fused softmax kernels (Kernels.Softmax.cs), both ways.
internal sealed partial class IlgpuBackend
{
    public void Softmax(Storage x, Storage y, SoftmaxArgs a)
    {
        if (a.Count == 0) return;
        using var scope = Enter(nameof(Softmax));
        try
        {
            _launches++;
            if (a.Inner == 1) SoftmaxRowsK()(new KernelConfig(a.Outer, SoftmaxGroup(a.N)), V<float>(x), V<float>(y), a);
            else SoftmaxColumnsK()(a.Outer * a.Inner, V<float>(x), V<float>(y), a);
        }
        catch (AcceleratorException e) when (IsDeviceFailure(e)) { throw Fault(e, nameof(Softmax)); }
    }

    public void SoftmaxBackward(Storage y, Storage g, Storage dx, SoftmaxArgs a)
    {
        if (a.Count == 0) return;
        using var scope = Enter(nameof(SoftmaxBackward));
        try
        {
            _launches++;
            if (a.Inner == 1)
                SoftmaxBackRowsK()(new KernelConfig(a.Outer, SoftmaxGroup(a.N)), V<float>(y), V<float>(g), V<float>(dx), a);
            else SoftmaxBackColumnsK()(a.Outer * a.Inner, V<float>(y), V<float>(g), V<float>(dx), a);
        }
        catch (AcceleratorException e) when (IsDeviceFailure(e)) { throw Fault(e, nameof(SoftmaxBackward)); }
    }

    /// <summary>Threads per row: a power of two (the shared-memory tree), at least a warp, at most one per element beyond
    /// that, and at most <see cref="ReduceGroup"/>.</summary>
    private int SoftmaxGroup(int n) => Math.Min(ReduceGroup, Math.Max(32, (int)System.Numerics.BitOperations.RoundUpToPowerOf2((uint)n)));
}
