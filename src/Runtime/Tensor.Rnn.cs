using DeepSharp.Backends;

namespace DeepSharp;

// The fused recurrent cells' kernels as (unrecorded) tensor ops; Functional records them with their rules in Grads.Rnn.
public sealed partial class Tensor
{
    /// <summary>LSTM cell: gates [B, 4H] (i, f, g, o) and cPrev [B, H] → hc [2, B, H] (h, then c). One launch.</summary>
    internal static Tensor LstmCellRows(Tensor gates, Tensor cPrev)
    {
        int b = cPrev.Layout.ShapeArray[0], h = cPrev.Layout.ShapeArray[1];
        var g = gates.Dense(); var c = cPrev.Dense();
        var hc = Allocate([2, b, h], DType.Float32, gates.Device);
        var a = new RnnArgs { Batch = b, Hidden = h, GOffset = g.Layout.Offset, SOffset = c.Layout.Offset };
        gates.Backend.LstmCell(g.Storage, c.Storage, hc.Storage, a);
        gates.ReleaseDense(g); cPrev.ReleaseDense(c);
        return hc;
    }

    /// <summary>The LSTM cell's gradient from dhc [2, B, H]: (dGates [B, 4H], dcPrev [B, H]). One launch.</summary>
    internal static (Tensor DGates, Tensor DCPrev) LstmCellBackward(Tensor gates, Tensor cPrev, Tensor dhc)
    {
        int b = cPrev.Layout.ShapeArray[0], h = cPrev.Layout.ShapeArray[1];
        var g = gates.Dense(); var c = cPrev.Dense(); var d = dhc.Dense();
        var dg = Allocate([b, 4 * h], DType.Float32, gates.Device);
        var dc = Allocate([b, h], DType.Float32, gates.Device);
        var a = new RnnArgs { Batch = b, Hidden = h, GOffset = g.Layout.Offset, SOffset = c.Layout.Offset, DOffset = d.Layout.Offset };
        gates.Backend.LstmCellBackward(g.Storage, c.Storage, d.Storage, dg.Storage, dc.Storage, a);
        gates.ReleaseDense(g); cPrev.ReleaseDense(c); dhc.ReleaseDense(d);
        return (dg, dc);
    }

    /// <summary>GRU cell: input and hidden projections [B, 3H] (r, z, n) and hPrev [B, H] → h [B, H]. One launch.</summary>
    internal static Tensor GruCellRows(Tensor xGates, Tensor hGates, Tensor hPrev)
    {
        int b = hPrev.Layout.ShapeArray[0], h = hPrev.Layout.ShapeArray[1];
        var x = xGates.Dense(); var hg = hGates.Dense(); var hp = hPrev.Dense();
        var y = Allocate([b, h], DType.Float32, hPrev.Device);
        var a = new RnnArgs { Batch = b, Hidden = h, GOffset = x.Layout.Offset, HOffset = hg.Layout.Offset, SOffset = hp.Layout.Offset };
        hPrev.Backend.GruCell(x.Storage, hg.Storage, hp.Storage, y.Storage, a);
        xGates.ReleaseDense(x); hGates.ReleaseDense(hg); hPrev.ReleaseDense(hp);
        return y;
    }

    /// <summary>The GRU cell's gradient from dh [B, H]: (dxGates [B, 3H], dhGates [B, 3H], dhPrev [B, H]). One launch.</summary>
    internal static (Tensor DXGates, Tensor DHGates, Tensor DHPrev) GruCellBackward(Tensor xGates, Tensor hGates, Tensor hPrev, Tensor dh)
    {
        int b = hPrev.Layout.ShapeArray[0], h = hPrev.Layout.ShapeArray[1];
        var x = xGates.Dense(); var hg = hGates.Dense(); var hp = hPrev.Dense(); var d = dh.Dense();
        var dx = Allocate([b, 3 * h], DType.Float32, hPrev.Device);
        var dhg = Allocate([b, 3 * h], DType.Float32, hPrev.Device);
        var dhp = Allocate([b, h], DType.Float32, hPrev.Device);
        var a = new RnnArgs
        {
            Batch = b, Hidden = h, GOffset = x.Layout.Offset, HOffset = hg.Layout.Offset, SOffset = hp.Layout.Offset,
            DOffset = d.Layout.Offset,
        };
        hPrev.Backend.GruCellBackward(x.Storage, hg.Storage, hp.Storage, d.Storage, dx.Storage, dhg.Storage, dhp.Storage, a);
        xGates.ReleaseDense(x); hGates.ReleaseDense(hg); hPrev.ReleaseDense(hp); dh.ReleaseDense(d);
        return (dx, dhg, dhp);
    }
}
