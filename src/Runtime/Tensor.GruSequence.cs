namespace DeepSharp;

// The fused GRU sequence (Functional.GruSequence): one recorded op for one direction's recurrence, on the CPU
// (CpuBackend.GruSequence) and on accelerators (IlgpuBackend.GruSequence), laid out as the LSTM's (Tensor.Rnn.cs).
public sealed partial class Tensor
{
    /// <summary>(output [T, B, H], hn), views of one recorded tensor [T + 1, B, H] (h0's row and the h rows).</summary>
    internal static (Tensor Output, Tensor H) GruSequenceFused(Tensor xGates, Tensor wHh, Tensor? bHh, Tensor h0, bool reverse)
    {
        int t = xGates.Layout.ShapeArray[0], b = h0.Layout.ShapeArray[0], h = h0.Layout.ShapeArray[1];
        var xg = xGates.Dense(); var w = wHh.Dense(); var bd = bHh?.Dense(); var hd = h0.Dense();
        var a = new Backends.Cpu.RnnSequenceArgs
        {
            Steps = t, Batch = b, Hidden = h, Reverse = reverse, HasBias = bHh is not null, H0Grad = h0.RequiresGrad,
            XOffset = xg.Layout.Offset, WOffset = w.Layout.Offset, H0Offset = hd.Layout.Offset, BOffset = bd?.Layout.Offset ?? 0,
        };
        var y = Allocate([t + 1, b, h], DType.Float32, xGates.Device);
        var ws = Allocate([t, b, 3 * h], DType.Float32, xGates.Device);
        if (xGates.Backend is Backends.Cpu.CpuBackend cpu)
            cpu.GruSequence(xg.Storage, w.Storage, bd?.Storage, hd.Storage, y.Storage, ws.Storage, a);
        else
        {
            using (Autograd.NoGrad()) RowCopy(y, a.H0Row, hd);
            using var p = Allocate([b, 3 * h], DType.Float32, xGates.Device);
            ((Backends.Ilgpu.IlgpuBackend)xGates.Backend).GruSequence(xg.Storage, w.Storage, bd?.Storage, y.Storage, ws.Storage,
                p.Storage, a);
        }
        h0.ReleaseDense(hd); bHh?.ReleaseDense(bd!);
        bool record = Autograd.IsEnabled && (xGates.RequiresGrad || wHh.RequiresGrad || bHh is { RequiresGrad: true } || h0.RequiresGrad);
        if (!record) { xGates.ReleaseDense(xg); wHh.ReleaseDense(w); ws.Dispose(); }
        else
        {
            bool[] want = [xGates.RequiresGrad, wHh.RequiresGrad, bHh?.RequiresGrad ?? false, h0.RequiresGrad];
            Tensor[] inputs = bHh is null ? [xGates, wHh, h0] : [xGates, wHh, h0, bHh];
            y = Autograd.Record(y, "GruSequence", inputs, g =>
            {
                var grads = GruSequenceBackward(g, xg, w, y, ws, a, want);
                return bHh is null ? [grads[0], grads[1], grads[3]] : [grads[0], grads[1], grads[3], grads[2]];
            }, w, xg, y); // what the backward reads that a caller could change in place: checked before it runs
        }
        var output = y.Slice(0, reverse ? 0 : 1, reverse ? t : t + 1);
        return (output, y[a.HRow(a.Time(t - 1))]);
    }

    /// <summary>[dxGates, dwHh, dbHh, dh0] of <see cref="GruSequenceFused"/> (not recorded); null where not wanted.</summary>
    private static Tensor?[] GruSequenceBackward(Tensor g, Tensor xg, Tensor w, Tensor y, Tensor ws, Backends.Cpu.RnnSequenceArgs a,
        bool[] want)
    {
        int t = a.Steps, b = a.Batch, h = a.Hidden;
        var gd = g.DenseFromZero();
        var dxg = Allocate([t, b, 3 * h], DType.Float32, g.Device);
        var dhg = Allocate([t, b, 3 * h], DType.Float32, g.Device);
        var dh0 = Allocate([b, h], DType.Float32, g.Device);
        if (g.Backend is Backends.Cpu.CpuBackend cpu)
            cpu.GruSequenceBackward(gd.Storage, w.Storage, xg.Storage, y.Storage, ws.Storage, dxg.Storage, dhg.Storage, dh0.Storage, a);
        else
        {
            using var carry = Allocate([b, h], DType.Float32, g.Device);
            ((Backends.Ilgpu.IlgpuBackend)g.Backend).GruSequenceBackward(gd.Storage, w.Storage, xg.Storage, y.Storage, ws.Storage,
                dxg.Storage, dhg.Storage, dh0.Storage, carry.Storage, a);
            if (want[3])
                using (Autograd.NoGrad())
                using (var gh = gd[a.H0Row])
                    dh0.AddInPlace(carry).AddInPlace(gh); // the direct path, and y's h0 row (h0 itself)
        }
        g.ReleaseDense(gd);
        Tensor? dw = null, db = null;
        using (var rows = dhg.Reshape(t * b, 3 * h))
        {
            if (want[1])
            {
                // Every step's weight gradient in one product: dhgᵀ [3H, T·B] · the h each step read [T·B, H].
                using var rowsT = rows.Transpose(0, 1);
                using var read = y.Slice(0, a.Reverse ? 1 : 0, a.Reverse ? t + 1 : t);
                using var readRows = read.Reshape(t * b, h);
                dw = MatMul(rowsT, readRows);
            }
            if (want[2]) db = rows.Sum([0]);
        }
        dhg.Dispose();
        if (!want[0]) dxg.Dispose();
        if (!want[3]) dh0.Dispose();
        return [want[0] ? dxg : null, dw, db, want[3] ? dh0 : null];
    }
}
