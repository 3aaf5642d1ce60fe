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
    /// float32.</exception>
    public static (Tensor H, Tensor C) LstmCell(Tensor gates, Tensor cPrev)
    {
        const string op = nameof(LstmCell);
        Check.NotNull(op, gates, nameof(gates)); Check.NotNull(op, cPrev, nameof(cPrev));
        CheckCell(op, gates, nameof(gates), 4, cPrev, nameof(cPrev));
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
    /// not float32.</exception>
    public static Tensor GruCell(Tensor xGates, Tensor hGates, Tensor hPrev)
    {
        const string op = nameof(GruCell);
        Check.NotNull(op, xGates, nameof(xGates)); Check.NotNull(op, hGates, nameof(hGates)); Check.NotNull(op, hPrev, nameof(hPrev));
        CheckCell(op, xGates, nameof(xGates), 3, hPrev, nameof(hPrev));
        CheckCell(op, hGates, nameof(hGates), 3, hPrev, nameof(hPrev));
        var h = Tensor.GruCellRows(xGates, hGates, hPrev);
        return Autograd.Record(h, op, [xGates, hGates, hPrev], g => Grads.GruCell(xGates, hGates, hPrev, g), xGates, hGates, hPrev);
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
        Check.Float32(op, gates, gatesName); Check.Float32(op, state, stateName);
    }
}
