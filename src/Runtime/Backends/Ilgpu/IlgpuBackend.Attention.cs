using ILGPU;
using ILGPU.Runtime;

namespace DeepSharp.Backends.Ilgpu;

// Launches of the attention softmax kernels (Kernels.Attention.cs), both ways: one group per row.
internal sealed partial class IlgpuBackend
{
    public void AttentionSoftmax(Storage x, Storage? mask, Storage y, AttentionArgs a)
    {
        if (a.Count == 0) return;
        using var scope = Enter(nameof(AttentionSoftmax));
        try
        {
            _launches++;
            AttentionSoftmaxK()(new KernelConfig(a.Rows, SoftmaxGroup(a.S)), V<float>(x), V<float>(mask ?? x), V<float>(y), a);
        }
        catch (AcceleratorException e) when (IsDeviceFailure(e)) { throw Fault(e, nameof(AttentionSoftmax)); }
    }

    public void AttentionSoftmaxBackward(Storage y, Storage g, Storage dx, AttentionArgs a)
    {
        if (a.Count == 0) return;
        using var scope = Enter(nameof(AttentionSoftmaxBackward));
        try
        {
            _launches++;
            AttentionSoftmaxBackK()(new KernelConfig(a.Rows, SoftmaxGroup(a.S)), V<float>(y), V<float>(g), V<float>(dx), a);
        }
        catch (AcceleratorException e) when (IsDeviceFailure(e)) { throw Fault(e, nameof(AttentionSoftmaxBackward)); }
    }

    private Action<KernelConfig, ArrayView<float>, ArrayView<float>, ArrayView<float>, AttentionArgs> AttentionSoftmaxK() =>
        Compiled("attentionSoftmax", typeof(float), null, static b =>
            b.Accelerator.LoadStreamKernel<ArrayView<float>, ArrayView<float>, ArrayView<float>, AttentionArgs>(Kernels.AttentionSoftmax));

    private Action<KernelConfig, ArrayView<float>, ArrayView<float>, ArrayView<float>, AttentionArgs> AttentionSoftmaxBackK() =>
        Compiled("attentionSoftmaxBack", typeof(float), null, static b =>
            b.Accelerator.LoadStreamKernel<ArrayView<float>, ArrayView<float>, ArrayView<float>, AttentionArgs>(
                Kernels.AttentionSoftmaxBackward));
}
