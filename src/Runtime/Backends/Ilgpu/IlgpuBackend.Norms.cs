using ILGPU;
using ILGPU.Runtime;

namespace DeepSharp.Backends.Ilgpu;

// Launches of the norm kernels (Kernels.Norms.cs); a missing weight, bias or sum is passed as x's view and not read.
internal sealed partial class IlgpuBackend
{
    public void NormStats(Storage x, Storage mean, Storage var, NormArgs a)
    {
        if (a.Slots == 0) return;
        using var scope = Enter(nameof(NormStats));
        try
        {
            _launches++;
            NormStatsK()(new KernelConfig(a.Slots, ReduceGroup), V<float>(x), V<float>(mean), V<float>(var), a);
        }
        catch (AcceleratorException e) when (IsDeviceFailure(e)) { throw Fault(e, nameof(NormStats)); }
    }

    public void NormForward(Storage x, Storage mean, Storage var, Storage? weight, Storage? bias, Storage y, NormArgs a)
    {
        if (a.Count == 0) return;
        using var scope = Enter(nameof(NormForward));
        try
        {
            _launches++;
            NormForwardK()(a.Count, V<float>(x), V<float>(mean), V<float>(var), V<float>(weight ?? x), V<float>(bias ?? x), V<float>(y), a);
        }
        catch (AcceleratorException e) when (IsDeviceFailure(e)) { throw Fault(e, nameof(NormForward)); }
    }

    public void NormGradSums(Storage x, Storage mean, Storage var, Storage? weight, Storage g, Storage sumG, Storage sumGX, NormArgs a)
    {
        if (a.Slots == 0) return;
        using var scope = Enter(nameof(NormGradSums));
        try
        {
            _launches++;
            NormGradSumsK()(new KernelConfig(a.Slots, ReduceGroup), V<float>(x), V<float>(mean), V<float>(var), V<float>(weight ?? x),
                V<float>(g), V<float>(sumG), V<float>(sumGX), a);
        }
        catch (AcceleratorException e) when (IsDeviceFailure(e)) { throw Fault(e, nameof(NormGradSums)); }
    }

    public void NormBackward(Storage x, Storage mean, Storage var, Storage? weight, Storage g, Storage? sumG, Storage? sumGX, Storage dx,
        NormArgs a)
    {
        if (a.Count == 0) return;
        using var scope = Enter(nameof(NormBackward));
        try
        {
            _launches++;
            NormBackwardK()(a.Count, V<float>(x), V<float>(mean), V<float>(var), V<float>(weight ?? x), V<float>(g), V<float>(sumG ?? x),
                V<float>(sumGX ?? x), V<float>(dx), a);
        }
        catch (AcceleratorException e) when (IsDeviceFailure(e)) { throw Fault(e, nameof(NormBackward)); }
    }
}
