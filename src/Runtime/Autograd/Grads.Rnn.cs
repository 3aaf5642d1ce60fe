namespace DeepSharp;

// Gradient rules of the fused recurrent cells: one backward launch each, recomputing the gates from the saved inputs.
internal static partial class Grads
{
    /// <summary>LSTM cell: g = d(hc) [2, B, H] → [dGates, dcPrev] (each only where its input needs it).</summary>
    public static Tensor?[] LstmCell(Tensor gates, Tensor cPrev, Tensor g)
    {
        var (dg, dc) = Tensor.LstmCellBackward(gates, cPrev, g);
        return [gates.RequiresGrad ? dg : null, cPrev.RequiresGrad ? dc : null];
    }

    /// <summary>GRU cell: g = dh [B, H] → [dxGates, dhGates, dhPrev].</summary>
    public static Tensor?[] GruCell(Tensor xGates, Tensor hGates, Tensor hPrev, Tensor g)
    {
        var (dx, dh, dp) = Tensor.GruCellBackward(xGates, hGates, hPrev, g);
        return [xGates.RequiresGrad ? dx : null, hGates.RequiresGrad ? dh : null, hPrev.RequiresGrad ? dp : null];
    }
}
