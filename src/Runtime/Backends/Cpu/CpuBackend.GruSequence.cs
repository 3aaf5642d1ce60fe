using System.Buffers;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using DeepSharp.Ops;

namespace DeepSharp.Backends.Cpu;

// The GRU layer's whole sequence in two calls, as the LSTM's (CpuBackend.LstmSequence.cs): W_hh packed once per call, each
// step's three gate products and cell as one parallel job over blocks of hidden units. The forward keeps each step's hidden
// projections (bias included) for the backward, which recomputes r, z and n from them and the input gates.
internal sealed partial class CpuBackend
{
    /// <summary>y [T + 1, B, H] (h0 copied in, then each h; rows as <see cref="RnnSequenceArgs.HRow"/>) and ws [T, B, 3H] =
    /// h·W_hhᵀ + b_hh of each step, from xg [T, B, 3H] (x·W_ihᵀ + b_ih), W_hh [3H, H] and b_hh (when a.HasBias).</summary>
    public unsafe void GruSequence(Storage xg, Storage w, Storage? bias, Storage h0, Storage y, Storage ws, RnnSequenceArgs a)
    {
        int b = a.Batch, h = a.Hidden, bh = b * h, g3 = 3 * h;
        E(h0).AsSpan(a.H0Offset, bh).CopyTo(E(y).AsSpan(a.H0Row * bh, bh));
        var xs = E(xg); var ys = E(y); var wss = E(ws); var bs = a.HasBias ? E(bias!) : default;
        SequenceForward(a, E(w), 3, ys, wss, (t, u0, n) =>
        {
            fixed (float* px = xs, pw = wss, py = ys, pb = bs)
                for (int r = 0; r < b; r++)
                {
                    long gate = (long)(t * b + r) * g3 + u0, row = (long)r * h + u0;
                    GruCellForward(pw + gate, px + a.XOffset + gate, a.HasBias ? pb + a.BOffset + u0 : null, h,
                        py + (long)a.PrevRow(t) * bh + row, py + (long)a.HRow(t) * bh + row, n);
                }
        });
    }

    /// <summary>The gradient of <see cref="GruSequence"/> from gy [T + 1, B, H] (dense from 0): dxg and dhg [T, B, 3H] (of
    /// the input gates and of the hidden projections), and dh0 [B, H] when a.H0Grad. W_hh's and b_hh's gradients are one
    /// product and one sum over dhg afterwards.</summary>
    public unsafe void GruSequenceBackward(Storage gy, Storage w, Storage xg, Storage y, Storage ws, Storage dxg, Storage dhg,
        Storage dh0, RnnSequenceArgs a)
    {
        int b = a.Batch, h = a.Hidden, bh = b * h, g3 = 3 * h;
        var gs = E(gy); var xs = E(xg); var ys = E(y); var wss = E(ws); var dx = E(dxg); var dhs = E(dhg); var dh = E(dh0);
        var carry = ArrayPool<float>.Shared.Rent(bh); // dh·z of the step after: h's gradient through the direct path
        carry.AsSpan(0, bh).Clear();
        SequenceBackward(a, E(w), 3, dhs, dh, (t, u0, n, next) =>
        {
            fixed (float* pg = gs, px = xs, py = ys, pw = wss, pdx = dx, pdhg = dhs, pdh = dh, pc = carry)
                for (int r = 0; r < b; r++)
                {
                    long gate = (long)(t * b + r) * g3 + u0, row = (long)r * h + u0;
                    GruCellBackward(px + a.XOffset + gate, pw + gate, h, py + (long)a.PrevRow(t) * bh + row,
                        pg + (long)a.HRow(t) * bh + row, next ? pdh + row : null, pc + row, pdx + gate, pdhg + gate, n);
                }
        });
        if (a.H0Grad)
            fixed (float* pg = gs, pdh = dh, pc = carry)
            {
                AddInto(pdh, pc, bh);                        // the direct path from time 0 (or T − 1 reversed)
                AddInto(pdh, pg + (long)a.H0Row * bh, bh);   // y's h0 row is h0 itself
            }
        ArrayPool<float>.Shared.Return(carry);
    }

    /// <summary>One row's GRU cell for n units (a multiple of 8): hidden projections hg[k·h + u] (+ bias) written back with
    /// the bias, r = σ(x_r + h_r), z = σ(x_z + h_z), g = tanh(x_n + r·h_n), y = (1 − z)·g + z·hPrev.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)] // SIMD loops: tier-0 code runs them several times slower
    private static unsafe void GruCellForward(float* hg, float* x, float* bias, int h, float* hPrev, float* y, int n)
    {
        for (int u = 0; u < n; u += 8)
        {
            var hr = Vector256.Load(hg + u); var hz = Vector256.Load(hg + h + u); var hn = Vector256.Load(hg + 2 * h + u);
            if (bias != null)
            {
                hr += Vector256.Load(bias + u); hz += Vector256.Load(bias + h + u); hn += Vector256.Load(bias + 2 * h + u);
                Vector256.Store(hr, hg + u); Vector256.Store(hz, hg + h + u); Vector256.Store(hn, hg + 2 * h + u);
            }
            var r = LstmMath.Sigmoid(Vector256.Load(x + u) + hr);
            var z = LstmMath.Sigmoid(Vector256.Load(x + h + u) + hz);
            var g = LstmMath.Tanh(Vector256.Load(x + 2 * h + u) + r * hn);
            Vector256.Store((Vector256<float>.One - z) * g + z * Vector256.Load(hPrev + u), y + u);
        }
    }

    /// <summary>One row's GRU cell gradient for n units: dh = gh + dhNext + carry (the step after's product and direct path;
    /// both absent for the last step, when dhNext is null and carry is still zero); writes the gradients of the input gates
    /// (dx) and of the hidden projections (dhg: the same for r and z, r·dn for n) and carry = dh·z.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)] // SIMD loops: tier-0 code runs them several times slower
    private static unsafe void GruCellBackward(float* x, float* hg, int h, float* hPrev, float* gh, float* dhNext, float* carry,
        float* dx, float* dhg, int n)
    {
        var one = Vector256<float>.One;
        for (int u = 0; u < n; u += 8)
        {
            var hn = Vector256.Load(hg + 2 * h + u);
            var r = LstmMath.Sigmoid(Vector256.Load(x + u) + Vector256.Load(hg + u));
            var z = LstmMath.Sigmoid(Vector256.Load(x + h + u) + Vector256.Load(hg + h + u));
            var g = LstmMath.Tanh(Vector256.Load(x + 2 * h + u) + r * hn);
            var dh = Vector256.Load(gh + u) + Vector256.Load(carry + u);
            if (dhNext != null) dh += Vector256.Load(dhNext + u);
            var dn = dh * (one - z) * (one - g * g);
            var dr = dn * hn * r * (one - r);
            var dz = dh * (Vector256.Load(hPrev + u) - g) * z * (one - z);
            Vector256.Store(dr, dx + u); Vector256.Store(dz, dx + h + u); Vector256.Store(dn, dx + 2 * h + u);
            Vector256.Store(dr, dhg + u); Vector256.Store(dz, dhg + h + u); Vector256.Store(dn * r, dhg + 2 * h + u);
            Vector256.Store(dh * z, carry + u);
        }
    }
}
