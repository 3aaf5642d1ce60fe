namespace DeepSharp;

// The fused recurrent cells (PyTorch's LSTM and GRU equations): one launch forward and one backward per step, in place of
// the dozen elementwise launches of the composite.
public static partial class Functional
{
    /// <summary>
    /// One LSTM step from the gate pre-activations (PyTorch's <c>nn.LSTMCell</c> after its two products): gates [B, 4H] =
    /// x·W_ihᵀ + b_ih + h·W_hhᵀ + b_hh in PyTorch's order (i, f, g, o), and cPrev [B, H] →
    /// c = σ(f)·cPrev + σ(i)·tanh(g), h = σ(o)·tanh(c), both [B, H]. One launch, and one for the backward (one autograd
    /// node for both outputs).
    /// </summary>
    /// <exception cref="ArgumentNullException">gates or cPrev is null.</exception>
    /// <exception cref="ArgumentException">The shapes are not [B, 4H] and [B, H], the devices differ, or a tensor is not
    /// float32 or float64.</exception>
    public static (Tensor H, Tensor C) LstmCell(Tensor gates, Tensor cPrev)
    {
        const string op = nameof(LstmCell);
        Check.NotNull(op, gates, nameof(gates)); Check.NotNull(op, cPrev, nameof(cPrev));
        if (Autocast.IsEnabled) return Autocast.Off((gates, cPrev), static a => LstmCell(a.gates, a.cPrev)); // a float32 recurrence
        if (Autocast.AnyHalf(gates, cPrev)) return LstmCell(Autocast.Wide(gates), Autocast.Wide(cPrev)); // float32 results
        CheckCell(op, gates, nameof(gates), 4, cPrev, nameof(cPrev));
        if (AnyFloat64(gates, cPrev)) return LstmCell64(gates, cPrev);
        var hc = Tensor.LstmCellRows(gates, cPrev);
        hc = Autograd.Record(hc, op, [gates, cPrev], g => Grads.LstmCell(gates, cPrev, g), gates, cPrev);
        return (hc[0], hc[1]);
    }

    /// <summary>
    /// One GRU step (PyTorch's <c>nn.GRUCell</c> after its two products): the input projection xGates = x·W_ihᵀ + b_ih and
    /// the hidden projection hGates = h·W_hhᵀ + b_hh, both [B, 3H] in PyTorch's order (r, z, n), and hPrev [B, H] →
    /// h = (1 − z)·n + z·hPrev with r = σ(x_r + h_r), z = σ(x_z + h_z), n = tanh(x_n + r·h_n), [B, H]. The projections
    /// come separately because r multiplies only the hidden part of n. One launch each way.
    /// </summary>
    /// <exception cref="ArgumentNullException">An argument is null.</exception>
    /// <exception cref="ArgumentException">The shapes are not [B, 3H], [B, 3H] and [B, H], the devices differ, or a tensor is
    /// not float32 or float64.</exception>
    public static Tensor GruCell(Tensor xGates, Tensor hGates, Tensor hPrev)
    {
        const string op = nameof(GruCell);
        Check.NotNull(op, xGates, nameof(xGates)); Check.NotNull(op, hGates, nameof(hGates)); Check.NotNull(op, hPrev, nameof(hPrev));
        if (Autocast.IsEnabled) return Autocast.Off((xGates, hGates, hPrev), static a => GruCell(a.xGates, a.hGates, a.hPrev));
        if (Autocast.AnyHalf(xGates, hGates, hPrev)) // a float32 result
            return GruCell(Autocast.Wide(xGates), Autocast.Wide(hGates), Autocast.Wide(hPrev));
        CheckCell(op, xGates, nameof(xGates), 3, hPrev, nameof(hPrev));
        CheckCell(op, hGates, nameof(hGates), 3, hPrev, nameof(hPrev));
        if (AnyFloat64(xGates, hGates, hPrev)) return GruCell64(xGates, hGates, hPrev);
        var h = Tensor.GruCellRows(xGates, hGates, hPrev);
        return Autograd.Record(h, op, [xGates, hGates, hPrev], g => Grads.GruCell(xGates, hGates, hPrev, g), xGates, hGates, hPrev);
    }

    /// <summary>
    /// One direction of an LSTM layer over a whole sequence (what <c>nn.LSTM</c> runs per layer and direction): xGates
    /// [T, B, 4H] = x·W_ihᵀ + b_ih + b_hh for every step (one product before the call), the recurrent weight [4H, H], and
    /// h0, c0 [B, H] → output [T, B, H] (h at every step), and the last step's h and c [B, H]; with
    /// <paramref name="reverse"/> the steps run from T − 1 down to 0 (output[t] is still time t's h). Per step gates =
    /// xGates[t] + h·weightHhᵀ, then <see cref="LstmCell"/>'s equations. Gradients for every input. On the CPU (H a
    /// multiple of 16, or of 32 where the CPU runs 512-bit vectors) and on accelerators the whole recurrence is one
    /// recorded op, with the weight's gradient as one product over all steps (on an accelerator: two launches a step each
    /// way plus the product's own); for other H on the CPU it is the per-step product and fused cell.
    /// </summary>
    /// <exception cref="ArgumentNullException">An argument is null.</exception>
    /// <exception cref="ArgumentException">The shapes are not [T, B, 4H], [4H, H], [B, H] and [B, H], the devices differ, or a
    /// tensor is not float32 or float64 (float64 anywhere: computed in float64).</exception>
    public static (Tensor Output, Tensor H, Tensor C) LstmSequence(Tensor xGates, Tensor weightHh, Tensor h0, Tensor c0,
        bool reverse = false)
    {
        const string op = nameof(LstmSequence);
        Check.NotNull(op, xGates, nameof(xGates)); Check.NotNull(op, weightHh, nameof(weightHh));
        Check.NotNull(op, h0, nameof(h0)); Check.NotNull(op, c0, nameof(c0));
        if (Autocast.IsEnabled) // the recurrence runs in float32, fused or not
            return Autocast.Off((xGates, weightHh, h0, c0, reverse), static a => LstmSequence(a.xGates, a.weightHh, a.h0, a.c0, a.reverse));
        if (Autocast.AnyHalf(xGates, weightHh, h0, c0)) // float32 results
            return LstmSequence(Autocast.Wide(xGates), Autocast.Wide(weightHh), Autocast.Wide(h0), Autocast.Wide(c0), reverse);
        int hidden = CheckSequence(op, xGates, weightHh, h0, 4);
        if (!c0.Layout.ShapeArray.SequenceEqual(h0.Layout.ShapeArray))
            throw new ArgumentException($"{op}: c0 must have h0's shape {Layout.Format(h0.Layout.ShapeArray)}, got " +
                $"{Layout.Format(c0.Layout.ShapeArray)}.", nameof(c0));
        Check.SameDevice(op, xGates, nameof(xGates), c0, nameof(c0)); Check.Computes(op, c0, nameof(c0));
        int t = xGates.Layout.ShapeArray[0];
        bool f64 = AnyFloat64(xGates, weightHh, h0, c0); // float64 anywhere: the per-step loop, in float64
        if (t > 0 && !f64 && (xGates.Device != Device.Cpu || hidden % Backends.Cpu.CpuBackend.LstmUnitBlock == 0))
            return Tensor.LstmSequenceFused(xGates, weightHh, h0, c0, reverse);
        var (h, c) = (h0, c0);
        var hs = new Tensor[t];
        for (int s = 0; s < t; s++)
        {
            int step = reverse ? t - 1 - s : s;
            (h, c) = LstmCell(xGates[step] + Linear(h, weightHh), c);
            hs[step] = h;
        }
        return (t == 0 ? Tensor.Zeros([0, .. h0.Layout.ShapeArray], f64 ? DType.Float64 : DType.Float32, h0.Device)
            : Tensor.Stack(hs, 0), h, c);
    }

    /// <summary>
    /// One direction of a GRU layer over a whole sequence (what <c>nn.GRU</c> runs per layer and direction): xGates
    /// [T, B, 3H] = x·W_ihᵀ + b_ih for every step (one product before the call), the recurrent weight [3H, H], its bias
    /// biasHh [3H] (or null), and h0 [B, H] → output [T, B, H] (h at every step) and the last step's h [B, H]; with
    /// <paramref name="reverse"/> the steps run from T − 1 down to 0 (output[t] is still time t's h). Per step
    /// hGates = h·weightHhᵀ + biasHh, then <see cref="GruCell"/>'s equations (the bias stays apart from the input gates,
    /// since r multiplies only the hidden part of n). Gradients for every input. On the CPU (H a multiple of 16, or of 32
    /// where the CPU runs 512-bit vectors) and on accelerators the whole recurrence is one recorded op, the weight's and
    /// bias's gradients one product and one sum over all steps; for other H on the CPU it is the per-step product and
    /// fused cell.
    /// </summary>
    /// <example><code>
    /// var xGates = Functional.Linear(x.Reshape(t * b, inputs), wIh, bIh).Reshape(t, b, 3 * hidden);
    /// var (output, hn) = Functional.GruSequence(xGates, wHh, bHh, Tensor.Zeros([b, hidden]));
    /// </code></example>
    /// <exception cref="ArgumentNullException">xGates, weightHh or h0 is null.</exception>
    /// <exception cref="ArgumentException">The shapes are not [T, B, 3H], [3H, H], [3H] and [B, H], the devices differ, or
    /// a tensor is not float32 or float64 (float64 anywhere: computed in float64).</exception>
    public static (Tensor Output, Tensor H) GruSequence(Tensor xGates, Tensor weightHh, Tensor? biasHh, Tensor h0,
        bool reverse = false)
    {
        const string op = nameof(GruSequence);
        Check.NotNull(op, xGates, nameof(xGates)); Check.NotNull(op, weightHh, nameof(weightHh)); Check.NotNull(op, h0, nameof(h0));
        if (Autocast.IsEnabled) // the recurrence runs in float32, fused or not
            return Autocast.Off((xGates, weightHh, biasHh, h0, reverse),
                static a => GruSequence(a.xGates, a.weightHh, a.biasHh, a.h0, a.reverse));
        if (Autocast.AnyHalf(xGates, weightHh, biasHh, h0)) // float32 results
            return GruSequence(Autocast.Wide(xGates), Autocast.Wide(weightHh), biasHh is null ? null : Autocast.Wide(biasHh),
                Autocast.Wide(h0), reverse);
        int hidden = CheckSequence(op, xGates, weightHh, h0, 3);
        if (biasHh is not null)
        {
            if (biasHh.Rank != 1 || biasHh.Layout.ShapeArray[0] != 3 * hidden)
                throw new ArgumentException($"{op}: biasHh must be [3·hidden] = [{3 * hidden}] for h0 " +
                    $"{Layout.Format(h0.Layout.ShapeArray)}, got {Layout.Format(biasHh.Layout.ShapeArray)}.", nameof(biasHh));
            Check.SameDevice(op, xGates, nameof(xGates), biasHh, nameof(biasHh)); Check.Computes(op, biasHh, nameof(biasHh));
        }
        int t = xGates.Layout.ShapeArray[0];
        bool f64 = AnyFloat64(xGates, weightHh, biasHh, h0); // float64 anywhere: the per-step loop, in float64
        if (t > 0 && !f64 && (xGates.Device != Device.Cpu || hidden % Backends.Cpu.CpuBackend.LstmUnitBlock == 0))
            return Tensor.GruSequenceFused(xGates, weightHh, biasHh, h0, reverse);
        var h = h0;
        var hs = new Tensor[t];
        for (int s = 0; s < t; s++)
        {
            int step = reverse ? t - 1 - s : s;
            h = GruCell(xGates[step], Linear(h, weightHh, biasHh), h);
            hs[step] = h;
        }
        return (t == 0 ? Tensor.Zeros([0, .. h0.Layout.ShapeArray], f64 ? DType.Float64 : DType.Float32, h0.Device)
            : Tensor.Stack(hs, 0), h);
    }

    /// <summary>The shared checks of the sequence ops: h0 [B, H], xGates [T, B, k·H], weightHh [k·H, H], one device,
    /// float32; returns H.</summary>
    private static int CheckSequence(string op, Tensor xGates, Tensor weightHh, Tensor h0, int k)
    {
        if (h0.Rank != 2)
            throw new ArgumentException($"{op}: h0 must be [batch, hidden], got {Layout.Format(h0.Layout.ShapeArray)}.", nameof(h0));
        int b = h0.Layout.ShapeArray[0], hidden = h0.Layout.ShapeArray[1];
        var xs = xGates.Layout.ShapeArray;
        if (xGates.Rank != 3 || xs[1] != b || xs[2] != k * hidden)
            throw new ArgumentException($"{op}: xGates must be [steps, batch, {k}·hidden] = [steps, {b}, {k * hidden}] for h0 " +
                $"{Layout.Format(h0.Layout.ShapeArray)}, got {Layout.Format(xs)}.", nameof(xGates));
        if (weightHh.Rank != 2 || weightHh.Layout.ShapeArray[0] != k * hidden || weightHh.Layout.ShapeArray[1] != hidden)
            throw new ArgumentException($"{op}: weightHh must be [{k}·hidden, hidden] = [{k * hidden}, {hidden}] for h0 " +
                $"{Layout.Format(h0.Layout.ShapeArray)}, got {Layout.Format(weightHh.Layout.ShapeArray)}.", nameof(weightHh));
        Check.SameDevice(op, xGates, nameof(xGates), weightHh, nameof(weightHh));
        Check.SameDevice(op, xGates, nameof(xGates), h0, nameof(h0));
        Check.Computes(op, xGates, nameof(xGates)); Check.Computes(op, weightHh, nameof(weightHh)); Check.Computes(op, h0, nameof(h0));
        return hidden;
    }

    private static void CheckCell(string op, Tensor gates, string gatesName, int k, Tensor state, string stateName)
    {
        if (state.Rank != 2)
            throw new ArgumentException($"{op}: {stateName} must be [batch, hidden], got {Layout.Format(state.Layout.ShapeArray)}.",
                stateName);
        int b = state.Layout.ShapeArray[0], h = state.Layout.ShapeArray[1];
        if (gates.Rank != 2 || gates.Layout.ShapeArray[0] != b || gates.Layout.ShapeArray[1] != k * h)
            throw new ArgumentException($"{op}: {gatesName} must be [batch, {k}·hidden] = [{b}, {k * h}] for {stateName} " +
                $"{Layout.Format(state.Layout.ShapeArray)}, got {Layout.Format(gates.Layout.ShapeArray)}.", gatesName);
        Check.SameDevice(op, gates, gatesName, state, stateName);
        Check.Computes(op, gates, gatesName); Check.Computes(op, state, stateName);
    }
}
