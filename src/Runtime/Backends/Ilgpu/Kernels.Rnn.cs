using DeepSharp.Ops;
using ILGPU;

namespace DeepSharp.Backends.Ilgpu;

// The fused LSTM and GRU cells both ways: one thread per (row, unit), the element math in RnnMath.
internal static partial class Kernels
{
    /// <summary>hc [2, B, H]: h = σ(o)·tanh(c) in the first half, c = σ(f)·cPrev + σ(i)·tanh(g) in the second.</summary>
    public static void LstmCell(Index1D t, ArrayView<float> gates, ArrayView<float> cPrev, ArrayView<float> hc, RnnArgs a)
    {
        int b = t / a.Hidden, u = t - b * a.Hidden, g0 = a.GOffset + b * 4 * a.Hidden + u;
        float c = RnnMath.LstmC(gates[g0], gates[g0 + a.Hidden], gates[g0 + 2 * a.Hidden], cPrev[a.SOffset + t]);
        hc[t] = RnnMath.Sigmoid(gates[g0 + 3 * a.Hidden]) * MathF.Tanh(c);
        hc[a.Count + t] = c;
    }

    /// <summary>dGates [B, 4H] and dcPrev [B, H] from the upstream gradient dhc [2, B, H] (dh, then dc).</summary>
    public static void LstmCellBackward(Index1D t, ArrayView<float> gates, ArrayView<float> cPrev, ArrayView<float> dhc,
        ArrayView<float> dGates, ArrayView<float> dcPrev, RnnArgs a)
    {
        int b = t / a.Hidden, u = t - b * a.Hidden, g0 = a.GOffset + b * 4 * a.Hidden + u, d0 = b * 4 * a.Hidden + u;
        var r = RnnMath.LstmBackward(gates[g0], gates[g0 + a.Hidden], gates[g0 + 2 * a.Hidden], gates[g0 + 3 * a.Hidden],
            cPrev[a.SOffset + t], dhc[a.DOffset + t], dhc[a.DOffset + a.Count + t]);
        dGates[d0] = r.I;
        dGates[d0 + a.Hidden] = r.F;
        dGates[d0 + 2 * a.Hidden] = r.G;
        dGates[d0 + 3 * a.Hidden] = r.O;
        dcPrev[t] = r.CPrev;
    }

    /// <summary>One step of a sequence: pre-activations = p (h·W_hhᵀ, [B, 4H] from 0) + xg's row, kept in pre; c and h
    /// from them, written into their rows of c and y.</summary>
    public static void LstmSequenceCell(Index1D t, ArrayView<float> p, ArrayView<float> xg, ArrayView<float> pre,
        ArrayView<float> c, ArrayView<float> y, RnnStepArgs a)
    {
        int b = t / a.Hidden, u = t - b * a.Hidden, h = a.Hidden, r = b * 4 * h + u;
        float gi = p[r] + xg[a.XOffset + r], gf = p[r + h] + xg[a.XOffset + r + h];
        float gg = p[r + 2 * h] + xg[a.XOffset + r + 2 * h], go = p[r + 3 * h] + xg[a.XOffset + r + 3 * h];
        pre[a.PreOffset + r] = gi; pre[a.PreOffset + r + h] = gf; pre[a.PreOffset + r + 2 * h] = gg; pre[a.PreOffset + r + 3 * h] = go;
        float cv = RnnMath.LstmC(gi, gf, gg, c[a.CPrevOffset + t]);
        c[a.COffset + t] = cv;
        y[a.YOffset + t] = RnnMath.Sigmoid(go) * MathF.Tanh(cv);
    }

    /// <summary>The gradient of one <see cref="LstmSequenceCell"/>: dh = gy's row (+ dhNext), dc carried in place (in:
    /// from the next step, out: to the previous), the gates' gradient into dxg's row.</summary>
    public static void LstmSequenceCellBackward(Index1D t, ArrayView<float> pre, ArrayView<float> c, ArrayView<float> gy,
        ArrayView<float> dhNext, ArrayView<float> dc, ArrayView<float> dxg, RnnStepArgs a)
    {
        int b = t / a.Hidden, u = t - b * a.Hidden, h = a.Hidden, r = a.PreOffset + b * 4 * h + u, d = a.DxOffset + b * 4 * h + u;
        float dh = gy[a.GyOffset + t] + (a.HasNext != 0 ? dhNext[t] : 0f);
        var g = RnnMath.LstmBackward(pre[r], pre[r + h], pre[r + 2 * h], pre[r + 3 * h], c[a.CPrevOffset + t], dh, dc[t]);
        dxg[d] = g.I; dxg[d + h] = g.F; dxg[d + 2 * h] = g.G; dxg[d + 3 * h] = g.O;
        dc[t] = g.CPrev;
    }

    /// <summary>One GRU step of a sequence: the hidden projections p (h·W_hhᵀ, [B, 3H] from 0) + the bias (when HasBias),
    /// kept in pre; h from them, the step's input gates and the h it reads (a row of y at CPrevOffset), into its row of y.</summary>
    public static void GruSequenceCell(Index1D t, ArrayView<float> p, ArrayView<float> xg, ArrayView<float> bias,
        ArrayView<float> pre, ArrayView<float> y, RnnStepArgs a)
    {
        int b = t / a.Hidden, u = t - b * a.Hidden, h = a.Hidden, r = b * 3 * h + u;
        float hr = p[r], hz = p[r + h], hn = p[r + 2 * h];
        if (a.HasBias != 0) { hr += bias[a.BOffset + u]; hz += bias[a.BOffset + h + u]; hn += bias[a.BOffset + 2 * h + u]; }
        pre[a.PreOffset + r] = hr; pre[a.PreOffset + r + h] = hz; pre[a.PreOffset + r + 2 * h] = hn;
        int x = a.XOffset + r;
        y[a.YOffset + t] = RnnMath.Gru(xg[x], xg[x + h], xg[x + 2 * h], hr, hz, hn, y[a.CPrevOffset + t]);
    }

    /// <summary>The gradient of one <see cref="GruSequenceCell"/>: dh = gy's row + dhNext + carry (both from the step after,
    /// when HasNext), the gradients of the input gates into dxg's row and of the hidden projections into dhg's row (same
    /// offset, DxOffset), carry = dh·z.</summary>
    public static void GruSequenceCellBackward(Index1D t, ArrayView<float> xg, ArrayView<float> pre, ArrayView<float> y,
        ArrayView<float> gy, ArrayView<float> dhNext, ArrayView<float> carry, ArrayView<float> dxg, ArrayView<float> dhg,
        RnnStepArgs a)
    {
        int b = t / a.Hidden, u = t - b * a.Hidden, h = a.Hidden, r = b * 3 * h + u, x = a.XOffset + r, q = a.PreOffset + r;
        float dh = gy[a.GyOffset + t] + (a.HasNext != 0 ? dhNext[t] + carry[t] : 0f);
        var g = RnnMath.GruBackward(xg[x], xg[x + h], xg[x + 2 * h], pre[q], pre[q + h], pre[q + 2 * h], y[a.CPrevOffset + t], dh);
        int d = a.DxOffset + r;
        dxg[d] = g.R; dxg[d + h] = g.Z; dxg[d + 2 * h] = g.XN;
        dhg[d] = g.R; dhg[d + h] = g.Z; dhg[d + 2 * h] = g.HN;
        carry[t] = g.HPrev;
    }

    /// <summary>h [B, H] = (1 − z)·n + z·hPrev from the input and hidden projections [B, 3H] (r, z, n).</summary>
    public static void GruCell(Index1D t, ArrayView<float> xg, ArrayView<float> hg, ArrayView<float> hPrev, ArrayView<float> h,
        RnnArgs a)
    {
        int b = t / a.Hidden, u = t - b * a.Hidden, x0 = a.GOffset + b * 3 * a.Hidden + u, h0 = a.HOffset + b * 3 * a.Hidden + u;
        h[t] = RnnMath.Gru(xg[x0], xg[x0 + a.Hidden], xg[x0 + 2 * a.Hidden], hg[h0], hg[h0 + a.Hidden], hg[h0 + 2 * a.Hidden],
            hPrev[a.SOffset + t]);
    }

    /// <summary>dxg and dhg [B, 3H] and dhPrev [B, H] from the upstream gradient dh [B, H].</summary>
    public static void GruCellBackward(Index1D t, ArrayView<float> xg, ArrayView<float> hg, ArrayView<float> hPrev,
        ArrayView<float> dh, ArrayView<float> dxg, ArrayView<float> dhg, ArrayView<float> dhPrev, RnnArgs a)
    {
        int b = t / a.Hidden, u = t - b * a.Hidden, x0 = a.GOffset + b * 3 * a.Hidden + u, h0 = a.HOffset + b * 3 * a.Hidden + u;
        int d0 = b * 3 * a.Hidden + u;
        var r = RnnMath.GruBackward(xg[x0], xg[x0 + a.Hidden], xg[x0 + 2 * a.Hidden], hg[h0], hg[h0 + a.Hidden],
            hg[h0 + 2 * a.Hidden], hPrev[a.SOffset + t], dh[a.DOffset + t]);
        dxg[d0] = r.R; dhg[d0] = r.R;
        dxg[d0 + a.Hidden] = r.Z; dhg[d0 + a.Hidden] = r.Z;
        dxg[d0 + 2 * a.Hidden] = r.XN; dhg[d0 + 2 * a.Hidden] = r.HN;
        dhPrev[t] = r.HPrev;
    }
}
