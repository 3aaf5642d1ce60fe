using ILGPU;
using ILGPU.Runtime;

namespace DeepSharp.Backends.Ilgpu;

// Launches of the window kernels (Kernels.Windows.cs): im2col, col2im and max pooling's gradient.
internal sealed partial class IlgpuBackend
{
    public void Unfold(Storage x, Storage cols, WindowArgs a)
    {
        int count = a.N * a.C * a.KK * a.OH * a.OW;
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

    public void MaxPool(Storage x, Storage y, WindowArgs a)
    {
        int count = a.N * a.C * a.OH * a.OW;
        if (count == 0) return;
        using var scope = Enter(nameof(MaxPool));
        try
        {
            _launches++;
            MaxPoolK()(count, V<float>(x), V<float>(y), a);
        }
        catch (AcceleratorException e) when (IsDeviceFailure(e)) { throw Fault(e, nameof(MaxPool)); }
    }

    public void AvgPool(Storage x, Storage y, WindowArgs a)
    {
        int count = a.N * a.C * a.OH * a.OW;
        if (count == 0) return;
        using var scope = Enter(nameof(AvgPool));
        try
        {
            _launches++;
            AvgPoolK()(count, V<float>(x), V<float>(y), a);
        }
        catch (AcceleratorException e) when (IsDeviceFailure(e)) { throw Fault(e, nameof(AvgPool)); }
    }

    public void AvgPoolBack(Storage g, Storage dx, WindowArgs a)
    {
        int count = a.N * a.C * a.H * a.W;
        if (count == 0) return;
        using var scope = Enter(nameof(AvgPoolBack));
        try
        {
            _launches++;
            AvgPoolBackK()(count, V<float>(g), V<float>(dx), a);
        }
        catch (AcceleratorException e) when (IsDeviceFailure(e)) { throw Fault(e, nameof(AvgPoolBack)); }
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
