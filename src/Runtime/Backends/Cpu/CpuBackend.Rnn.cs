using DeepSharp.Ops;

namespace DeepSharp.Backends.Cpu;

// The fused recurrent cells both ways, row by row over CpuParallel; the element math is the kernels' (RnnMath).
internal sealed partial class CpuBackend
{
    public void LstmCell(Storage gates, Storage cPrev, Storage hc, RnnArgs a)
    {
        var g = E(gates); var cp = E(cPrev); var y = E(hc);
        int h = a.Hidden, count = a.Count;
        CpuParallel.For(a.Batch, 8 * h, (start, end) =>
        {
            for (int b = start; b < end; b++)
                for (int u = 0; u < h; u++)
                {
                    int t = b * h + u, g0 = a.GOffset + b * 4 * h + u;
                    float c = RnnMath.LstmC(g[g0], g[g0 + h], g[g0 + 2 * h], cp[a.SOffset + t]);
                    y[t] = RnnMath.Sigmoid(g[g0 + 3 * h]) * MathF.Tanh(c);
                    y[count + t] = c;
                }
        });
    }

    public void LstmCellBackward(Storage gates, Storage cPrev, Storage dhc, Storage dGates, Storage dcPrev, RnnArgs a)
    {
        var g = E(gates); var cp = E(cPrev); var d = E(dhc); var dg = E(dGates); var dcp = E(dcPrev);
        int h = a.Hidden, count = a.Count;
        CpuParallel.For(a.Batch, 12 * h, (start, end) =>
        {
            for (int b = start; b < end; b++)
                for (int u = 0; u < h; u++)
                {
                    int t = b * h + u, g0 = a.GOffset + b * 4 * h + u, d0 = b * 4 * h + u;
                    var r = RnnMath.LstmBackward(g[g0], g[g0 + h], g[g0 + 2 * h], g[g0 + 3 * h], cp[a.SOffset + t], d[a.DOffset + t],
                        d[a.DOffset + count + t]);
                    dg[d0] = r.I; dg[d0 + h] = r.F; dg[d0 + 2 * h] = r.G; dg[d0 + 3 * h] = r.O;
                    dcp[t] = r.CPrev;
                }
        });
    }

    public void GruCell(Storage xGates, Storage hGates, Storage hPrev, Storage h, RnnArgs a)
    {
        var xg = E(xGates); var hg = E(hGates); var hp = E(hPrev); var y = E(h);
        int n = a.Hidden;
        CpuParallel.For(a.Batch, 8 * n, (start, end) =>
        {
            for (int b = start; b < end; b++)
                for (int u = 0; u < n; u++)
                {
                    int t = b * n + u, x0 = a.GOffset + b * 3 * n + u, h0 = a.HOffset + b * 3 * n + u;
                    y[t] = RnnMath.Gru(xg[x0], xg[x0 + n], xg[x0 + 2 * n], hg[h0], hg[h0 + n], hg[h0 + 2 * n], hp[a.SOffset + t]);
                }
        });
    }

    public void GruCellBackward(Storage xGates, Storage hGates, Storage hPrev, Storage dh, Storage dxGates, Storage dhGates,
        Storage dhPrev, RnnArgs a)
    {
        var xg = E(xGates); var hg = E(hGates); var hp = E(hPrev); var d = E(dh);
        var dx = E(dxGates); var dhg = E(dhGates); var dhp = E(dhPrev);
        int n = a.Hidden;
        CpuParallel.For(a.Batch, 12 * n, (start, end) =>
        {
            for (int b = start; b < end; b++)
                for (int u = 0; u < n; u++)
                {
                    int t = b * n + u, x0 = a.GOffset + b * 3 * n + u, h0 = a.HOffset + b * 3 * n + u, d0 = b * 3 * n + u;
                    var r = RnnMath.GruBackward(xg[x0], xg[x0 + n], xg[x0 + 2 * n], hg[h0], hg[h0 + n], hg[h0 + 2 * n],
                        hp[a.SOffset + t], d[a.DOffset + t]);
                    dx[d0] = r.R; dhg[d0] = r.R;
                    dx[d0 + n] = r.Z; dhg[d0 + n] = r.Z;
                    dx[d0 + 2 * n] = r.XN; dhg[d0 + 2 * n] = r.HN;
                    dhp[t] = r.HPrev;
                }
        });
    }
}
