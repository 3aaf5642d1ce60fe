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

// The fused LSTM sequence (Functional.LstmSequence): one recorded op for the whole recurrence of one direction, on the CPU
// (CpuBackend.LstmSequence: the step's product and cell as one parallel job) and on accelerators (IlgpuBackend.LstmSequence:
// a product and a cell launch per step).
public sealed partial class Tensor
{
    /// <summary>The whole recurrence in one call each way: (output [T, B, H], hn, cn), views of one recorded tensor
    /// [T + 2, B, H] (the h rows, h0's row, cn).</summary>
    internal static (Tensor Output, Tensor H, Tensor C) LstmSequenceFused(Tensor xGates, Tensor wHh, Tensor h0, Tensor c0,
        bool reverse)
    {
        int t = xGates.Layout.ShapeArray[0], b = h0.Layout.ShapeArray[0], h = h0.Layout.ShapeArray[1];
        var xg = xGates.Dense(); var w = wHh.Dense(); var hd = h0.Dense(); var cd = c0.Dense();
        var a = new Backends.Cpu.RnnSequenceArgs
        {
            Steps = t, Batch = b, Hidden = h, Reverse = reverse,
            XOffset = xg.Layout.Offset, WOffset = w.Layout.Offset, H0Offset = hd.Layout.Offset, C0Offset = cd.Layout.Offset,
            H0Grad = h0.RequiresGrad,
        };
        var y = Allocate([t + 2, b, h], DType.Float32, xGates.Device);
        var c = Allocate([t + 1, b, h], DType.Float32, xGates.Device);
        var ws = Allocate([t, b, 4 * h], DType.Float32, xGates.Device);
        Tensor? tc = null;
        if (xGates.Backend is Backends.Cpu.CpuBackend cpu)
        {
            tc = Allocate([t, b, h], DType.Float32, xGates.Device);
            cpu.LstmSequence(xg.Storage, w.Storage, hd.Storage, cd.Storage, y.Storage, c.Storage, tc.Storage, ws.Storage, a);
        }
        else
        {
            using (Autograd.NoGrad())
            {
                RowCopy(y, a.H0Row, hd);
                RowCopy(c, reverse ? t : 0, cd);
            }
            using var p = Allocate([b, 4 * h], DType.Float32, xGates.Device);
            ((Backends.Ilgpu.IlgpuBackend)xGates.Backend).LstmSequence(xg.Storage, w.Storage, y.Storage, c.Storage, ws.Storage,
                p.Storage, a);
            using (Autograd.NoGrad())
            using (var cn = c[a.CRow(a.Time(t - 1))]) RowCopy(y, a.CnRow, cn);
        }
        xGates.ReleaseDense(xg); h0.ReleaseDense(hd); c0.ReleaseDense(cd);
        bool record = Autograd.IsEnabled && (xGates.RequiresGrad || wHh.RequiresGrad || h0.RequiresGrad || c0.RequiresGrad);
        if (!record) { wHh.ReleaseDense(w); c.Dispose(); tc?.Dispose(); ws.Dispose(); }
        else
            y = Autograd.Record(y, "LstmSequence", [xGates, wHh, h0, c0], g => LstmSequenceBackward(g, w, y, c, tc, ws, a,
                [xGates.RequiresGrad, wHh.RequiresGrad, h0.RequiresGrad, c0.RequiresGrad]), w, y);
        var output = y.Slice(0, reverse ? 0 : 1, reverse ? t : t + 1);
        return (output, y[a.HRow(a.Time(t - 1))], y[a.CnRow]);
    }

    /// <summary>Copies src into row <paramref name="row"/> of dst, through a view disposed at once (a view holds its
    /// storage until disposed).</summary>
    private static void RowCopy(Tensor dst, int row, Tensor src)
    {
        using var view = dst[row];
        view.CopyFrom(src);
    }

    /// <summary>[dxGates, dwHh, dh0, dc0] of <see cref="LstmSequenceFused"/> (not recorded); null where not wanted.</summary>
    private static Tensor?[] LstmSequenceBackward(Tensor g, Tensor w, Tensor y, Tensor c, Tensor? tc, Tensor ws,
        Backends.Cpu.RnnSequenceArgs a, bool[] want)
    {
        int t = a.Steps, b = a.Batch, h = a.Hidden;
        var gd = g.DenseFromZero();
        var dxg = Allocate([t, b, 4 * h], DType.Float32, g.Device);
        var dh0 = Allocate([b, h], DType.Float32, g.Device);
        var dc0 = Allocate([b, h], DType.Float32, g.Device);
        if (g.Backend is Backends.Cpu.CpuBackend cpu)
            cpu.LstmSequenceBackward(gd.Storage, w.Storage, y.Storage, c.Storage, tc!.Storage, ws.Storage, dxg.Storage,
                dh0.Storage, dc0.Storage, a);
        else
        {
            using (Autograd.NoGrad())
            using (var gc = gd[a.CnRow]) dc0.CopyFrom(gc);
            ((Backends.Ilgpu.IlgpuBackend)g.Backend).LstmSequenceBackward(gd.Storage, w.Storage, c.Storage, ws.Storage,
                dxg.Storage, dh0.Storage, dc0.Storage, a);
            if (want[2])
                using (Autograd.NoGrad())
                using (var gh = gd[a.H0Row]) dh0.AddInPlace(gh); // y's h0 row is h0 itself
        }
        g.ReleaseDense(gd);
        // Every step's weight gradient in one product: dGatesᵀ [4H, T·B] · the h each step read [T·B, H].
        Tensor? dw = null;
        if (want[1])
        {
            // Views disposed at once: each holds its storage until disposed.
            using var rows = dxg.Reshape(t * b, 4 * h);
            using var rowsT = rows.Transpose(0, 1);
            using var read = y.Slice(0, a.Reverse ? 1 : 0, a.Reverse ? t + 1 : t);
            using var readRows = read.Reshape(t * b, h);
            dw = MatMul(rowsT, readRows);
        }
        if (!want[0]) dxg.Dispose();
        if (!want[2]) dh0.Dispose();
        if (!want[3]) dc0.Dispose();
        return [want[0] ? dxg : null, dw, want[2] ? dh0 : null, want[3] ? dc0 : null];
    }
}
