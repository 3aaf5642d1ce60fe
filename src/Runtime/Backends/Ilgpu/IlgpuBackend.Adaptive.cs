using ILGPU;
using ILGPU.Runtime;

namespace DeepSharp.Backends.Ilgpu;

// Launches of the adaptive pooling kernels (Kernels.Adaptive.cs).
internal sealed partial class IlgpuBackend
{
    public void AdaptiveMax(Storage x, Storage y, AdaptiveArgs a)
    {
        int count = a.NC * a.OH * a.OW;
        if (count == 0) return;
        using var scope = Enter(nameof(AdaptiveMax));
        try
        {
            _launches++;
            AdaptiveMaxK()(count, V<float>(x), V<float>(y), a);
        }
        catch (AcceleratorException e) when (IsDeviceFailure(e)) { throw Fault(e, nameof(AdaptiveMax)); }
    }

    public void AdaptiveMaxBack(Storage x, Storage y, Storage g, Storage dx, AdaptiveArgs a)
    {
        int count = a.NC * a.H * a.W;
        if (count == 0) return;
        using var scope = Enter(nameof(AdaptiveMaxBack));
        try
        {
            _launches++;
            AdaptiveMaxBackK()(count, V<float>(x), V<float>(y), V<float>(g), V<float>(dx), a);
        }
        catch (AcceleratorException e) when (IsDeviceFailure(e)) { throw Fault(e, nameof(AdaptiveMaxBack)); }
    }

    private Action<Index1D, ArrayView<float>, ArrayView<float>, AdaptiveArgs> AdaptiveMaxK() =>
        Compiled("adaptiveMax", typeof(float), null, static b =>
            b.Accelerator.LoadAutoGroupedStreamKernel<Index1D, ArrayView<float>, ArrayView<float>, AdaptiveArgs>(Kernels.AdaptiveMax));

    private Action<Index1D, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, AdaptiveArgs> AdaptiveMaxBackK() =>
        Compiled("adaptiveMaxBack", typeof(float), null, static b =>
            b.Accelerator.LoadAutoGroupedStreamKernel<Index1D, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>,
                AdaptiveArgs>(Kernels.AdaptiveMaxBack));
}
