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

    /// <summary>
    /// One LSTM direction over a whole sequence (<see cref="Functional.LstmSequence"/>; the layout of y [T + 2, B, H] and
    /// c [T + 1, B, H] is <see cref="Cpu.RnnSequenceArgs"/>'s, with h0 and c0 already in their rows): per step one product
    /// h·W_hhᵀ into p [B, 4H] and one cell launch, which adds the step's input gates, keeps the pre-activations in ws
    /// [T, B, 4H] for the backward and writes c and h into their rows. Two launches a step instead of the per-step ops'
    /// four forward and fourteen backward.
    /// </summary>
    public void LstmSequence(Storage xg, Storage w, Storage y, Storage c, Storage ws, Storage p, Cpu.RnnSequenceArgs a) =>
        SequenceForward(a, 4, y, w, p, nameof(LstmSequence), step =>
            LstmSequenceCellK()(step.Count, V<float>(p), V<float>(xg), V<float>(ws), V<float>(c), V<float>(y), step));

    /// <summary>The gradient of <see cref="LstmSequence"/> from gy [T + 2, B, H] (dense from 0): per step one cell launch
    /// (the gates' gradient into dxg [T, B, 4H], dc carried back in place) and one product dxg's row · W_hh into dh [B, H]
    /// (the next step's dhNext; after the last, h0's gradient from the product, skipped unless a.H0Grad). dc holds cn's
    /// gradient on entry and c0's on return.</summary>
    public void LstmSequenceBackward(Storage gy, Storage w, Storage c, Storage ws, Storage dxg, Storage dh, Storage dc,
        Cpu.RnnSequenceArgs a) =>
        SequenceBackward(a, 4, w, dxg, dh, nameof(LstmSequenceBackward), step =>
            LstmSequenceCellBackK()(step.Count, V<float>(ws), V<float>(c), V<float>(gy), V<float>(dh), V<float>(dc), V<float>(dxg),
                step));

    /// <summary>One GRU direction over a whole sequence (<see cref="Functional.GruSequence"/>; y [T + 1, B, H] in
    /// <see cref="Cpu.RnnSequenceArgs"/>'s rows, h0 already in its row): per step one product h·W_hhᵀ into p [B, 3H] and one
    /// cell launch, which adds b_hh, keeps the hidden projections in ws [T, B, 3H] and writes h into its row.</summary>
    public void GruSequence(Storage xg, Storage w, Storage? bias, Storage y, Storage ws, Storage p, Cpu.RnnSequenceArgs a) =>
        SequenceForward(a, 3, y, w, p, nameof(GruSequence), step =>
            GruSequenceCellK()(step.Count, V<float>(p), V<float>(xg), V<float>(bias ?? p), V<float>(ws), V<float>(y), step));

    /// <summary>The gradient of <see cref="GruSequence"/> from gy [T + 1, B, H] (dense from 0): per step one cell launch
    /// (the gradients of the input gates into dxg and of the hidden projections into dhg, both [T, B, 3H]; carry [B, H] =
    /// dh·z in place) and one product dhg's row · W_hh into dh [B, H]. After the last step dh + carry is h0's gradient's
    /// share from the recurrence (the product skipped unless a.H0Grad).</summary>
    public void GruSequenceBackward(Storage gy, Storage w, Storage xg, Storage y, Storage ws, Storage dxg, Storage dhg,
        Storage dh, Storage carry, Cpu.RnnSequenceArgs a) =>
        SequenceBackward(a, 3, w, dhg, dh, nameof(GruSequenceBackward), step =>
            GruSequenceCellBackK()(step.Count, V<float>(xg), V<float>(ws), V<float>(y), V<float>(gy), V<float>(dh), V<float>(carry),
                V<float>(dxg), V<float>(dhg), step));

    /// <summary>The forward's step loop of the fused sequences (k = <paramref name="gates"/>): per step the product
    /// h·W_hhᵀ [B, kH] into p, then <paramref name="cell"/>'s launch with the step's offsets (both the LSTM's and the GRU's
    /// cells read the ones they need).</summary>
    private void SequenceForward(Cpu.RnnSequenceArgs a, int gates, Storage y, Storage w, Storage p, string op,
        Action<RnnStepArgs> cell)
    {
        int b = a.Batch, h = a.Hidden, bh = b * h, gk = gates * h;
        if (bh == 0) return;
        for (int s = 0; s < a.Steps; s++)
        {
            int t = a.Time(s);
            MatMul(y, w, p, new GemmArgs
            {
                Batch = 1, M = b, N = gk, K = h, OffA = a.PrevRow(t) * bh, RowA = h, ColA = 1, OffB = a.WOffset, RowB = 1, ColB = h,
            });
            Launch(op, cell, new RnnStepArgs
            {
                Batch = b, Hidden = h, XOffset = a.XOffset + t * b * gk, PreOffset = t * b * gk, CPrevOffset = a.PrevRow(t) * bh,
                COffset = a.CRow(t) * bh, YOffset = a.HRow(t) * bh, BOffset = a.BOffset, HasBias = a.HasBias ? 1 : 0,
            });
        }
    }

    /// <summary>The backward's step loop of the fused sequences: per step (from the last) <paramref name="cell"/>'s launch,
    /// then the product of dGates' row of the step · W_hh [kH, H] into dh (the next step's dhNext; after the first step
    /// only when a.H0Grad).</summary>
    private void SequenceBackward(Cpu.RnnSequenceArgs a, int gates, Storage w, Storage dGates, Storage dh, string op,
        Action<RnnStepArgs> cell)
    {
        int b = a.Batch, h = a.Hidden, bh = b * h, gk = gates * h;
        if (bh == 0) return;
        for (int s = a.Steps - 1; s >= 0; s--)
        {
            int t = a.Time(s);
            Launch(op, cell, new RnnStepArgs
            {
                Batch = b, Hidden = h, XOffset = a.XOffset + t * b * gk, GyOffset = a.HRow(t) * bh, HasNext = s < a.Steps - 1 ? 1 : 0,
                PreOffset = t * b * gk, CPrevOffset = a.PrevRow(t) * bh, DxOffset = t * b * gk,
            });
            if (s > 0 || a.H0Grad)
                MatMul(dGates, w, dh, new GemmArgs
                {
                    Batch = 1, M = b, N = h, K = gk, OffA = t * b * gk, RowA = gk, ColA = 1, OffB = a.WOffset, RowB = h, ColB = 1,
                });
        }
    }

    /// <summary>One cell launch of a sequence, counted and with the device's failures named after <paramref name="op"/>.</summary>
    private void Launch(string op, Action<RnnStepArgs> cell, RnnStepArgs step)
    {
        using var scope = Enter(op);
        try
        {
            _launches++;
            cell(step);
        }
        catch (AcceleratorException e) when (IsDeviceFailure(e)) { throw Fault(e, op); }
    }

    private Action<Index1D, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, RnnStepArgs>
        LstmSequenceCellK() =>
        Compiled("lstmSequenceCell", typeof(float), null, static b =>
            b.Accelerator.LoadAutoGroupedStreamKernel<Index1D, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>,
                ArrayView<float>, RnnStepArgs>(Kernels.LstmSequenceCell));

    private Action<Index1D, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>,
        RnnStepArgs> LstmSequenceCellBackK() =>
        Compiled("lstmSequenceCellBackward", typeof(float), null, static b =>
            b.Accelerator.LoadAutoGroupedStreamKernel<Index1D, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>,
                ArrayView<float>, ArrayView<float>, RnnStepArgs>(Kernels.LstmSequenceCellBackward));

    private Action<Index1D, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, RnnStepArgs>
        GruSequenceCellK() =>
        Compiled("gruSequenceCell", typeof(float), null, static b =>
            b.Accelerator.LoadAutoGroupedStreamKernel<Index1D, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>,
                ArrayView<float>, RnnStepArgs>(Kernels.GruSequenceCell));

    private Action<Index1D, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>,
        ArrayView<float>, ArrayView<float>, RnnStepArgs> GruSequenceCellBackK() =>
        Compiled("gruSequenceCellBackward", typeof(float), null, static b =>
            b.Accelerator.LoadAutoGroupedStreamKernel<Index1D, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>,
                ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, RnnStepArgs>(Kernels.GruSequenceCellBackward));

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
