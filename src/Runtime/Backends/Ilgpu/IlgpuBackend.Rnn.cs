using ILGPU;
using ILGPU.Runtime;

namespace DeepSharp.Backends.Ilgpu;

// Launches of the fused recurrent cells (Kernels.Rnn.cs), both ways.
internal sealed partial class IlgpuBackend
{
    public void LstmCell(Storage gates, Storage cPrev, Storage hc, RnnArgs a)
    {
        if (a.Count == 0) return;
        using var scope = Enter(nameof(LstmCell));
        try
        {
            _launches++;
            LstmCellK()(a.Count, V<float>(gates), V<float>(cPrev), V<float>(hc), a);
        }
        catch (AcceleratorException e) when (IsDeviceFailure(e)) { throw Fault(e, nameof(LstmCell)); }
    }

    public void LstmCellBackward(Storage gates, Storage cPrev, Storage dhc, Storage dGates, Storage dcPrev, RnnArgs a)
    {
        if (a.Count == 0) return;
        using var scope = Enter(nameof(LstmCellBackward));
        try
        {
            _launches++;
            LstmCellBackK()(a.Count, V<float>(gates), V<float>(cPrev), V<float>(dhc), V<float>(dGates), V<float>(dcPrev), a);
        }
        catch (AcceleratorException e) when (IsDeviceFailure(e)) { throw Fault(e, nameof(LstmCellBackward)); }
    }

    public void GruCell(Storage xGates, Storage hGates, Storage hPrev, Storage h, RnnArgs a)
    {
        if (a.Count == 0) return;
        using var scope = Enter(nameof(GruCell));
        try
        {
            _launches++;
            GruCellK()(a.Count, V<float>(xGates), V<float>(hGates), V<float>(hPrev), V<float>(h), a);
        }
        catch (AcceleratorException e) when (IsDeviceFailure(e)) { throw Fault(e, nameof(GruCell)); }
    }

    public void GruCellBackward(Storage xGates, Storage hGates, Storage hPrev, Storage dh, Storage dxGates, Storage dhGates,
        Storage dhPrev, RnnArgs a)
    {
        if (a.Count == 0) return;
        using var scope = Enter(nameof(GruCellBackward));
        try
        {
            _launches++;
            GruCellBackK()(a.Count, V<float>(xGates), V<float>(hGates), V<float>(hPrev), V<float>(dh), V<float>(dxGates),
                V<float>(dhGates), V<float>(dhPrev), a);
        }
        catch (AcceleratorException e) when (IsDeviceFailure(e)) { throw Fault(e, nameof(GruCellBackward)); }
    }
}
