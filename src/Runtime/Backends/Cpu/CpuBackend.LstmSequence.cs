using System.Buffers;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using DeepSharp.Ops;

namespace DeepSharp.Backends.Cpu;

/// <summary>Sizes and offsets of a fused recurrent sequence (<see cref="CpuBackend.LstmSequence"/>,
/// <see cref="CpuBackend.GruSequence"/>): T steps of B rows and H units, run backwards in time when <see cref="Reverse"/>;
/// the offsets (in elements) of the dense input gates [T, B, kH], the recurrent weight [kH, H], h0 and c0 [B, H], and the
/// GRU's hidden bias [3H] (when <see cref="HasBias"/>).</summary>
internal struct RnnSequenceArgs
{
    public int Steps, Batch, Hidden;
    public bool Reverse, HasBias;
    public int XOffset, WOffset, H0Offset, C0Offset, BOffset;
    /// <summary>Whether the backward computes h0's gradient (one of the recurrent products; skipped when h0 needs none).</summary>
    public bool H0Grad;

    /// <summary>Row of y [T + 2, B, H] holding h at time t (the output), h0, and the final c.</summary>
    public readonly int HRow(int t) => Reverse ? t : t + 1;
    public readonly int H0Row => Reverse ? Steps : 0;
    public readonly int CnRow => Steps + 1;
    /// <summary>Row of y holding the h that time t reads, and of c [T + 1, B, H] holding c at time t and the c it reads.</summary>
    public readonly int PrevRow(int t) => Reverse ? t + 1 : t;
    public readonly int CRow(int t) => Reverse ? t : t + 1;
    /// <summary>The time of processing step s.</summary>
    public readonly int Time(int s) => Reverse ? Steps - 1 - s : s;
}

// The LSTM layer's whole sequence in two calls (forward, backward) instead of a dozen ops per step: the recurrent weight is
// packed once per call for the GEMM's micro-kernels, each step's product and cell run in one parallel job split by blocks
// of hidden units (a block's four gate panels, then its cell: no second pass over the gates), and the forward keeps the
// activated gates and tanh(c), so the backward computes no transcendental function.
internal sealed partial class CpuBackend
{
    /// <summary>Hidden units per work item (and so what H must be a multiple of): the micro-kernel's panel width.</summary>
    internal static int LstmUnitBlock => UseVector512 ? 2 * NR : NR;

    /// <summary>y [T + 2, B, H] (h0 copied in, each h, the final c), c [T + 1, B, H] (c0 and each c), tc [T, B, H] = tanh(c)
    /// and ws [T, B, 4H] = the activated gates (i, f, g, o) from xg [T, B, 4H] (input projection and both biases) and W.</summary>
    public unsafe void LstmSequence(Storage xg, Storage w, Storage h0, Storage c0, Storage y, Storage c, Storage tc, Storage ws,
        RnnSequenceArgs a)
    {
        int b = a.Batch, h = a.Hidden, bh = b * h, g4 = 4 * h;
        E(h0).AsSpan(a.H0Offset, bh).CopyTo(E(y).AsSpan(a.H0Row * bh, bh));
        E(c0).AsSpan(a.C0Offset, bh).CopyTo(E(c).AsSpan((a.Reverse ? a.Steps : 0) * bh, bh));
        var xs = E(xg); var ys = E(y); var cs = E(c); var tcs = E(tc); var wss = E(ws);
        SequenceForward(a, E(w), 4, ys, wss, (t, u0, n) =>
        {
            fixed (float* px = xs, pw = wss, py = ys, pc = cs, pt = tcs)
                for (int r = 0; r < b; r++)
                {
                    float* gate = pw + (long)(t * b + r) * g4 + u0, x = px + a.XOffset + (long)(t * b + r) * g4 + u0;
                    long row = (long)r * h + u0;
                    LstmCellForward(gate, x, h, pc + (long)a.PrevRow(t) * bh + row, pc + (long)a.CRow(t) * bh + row,
                        pt + (long)t * bh + row, py + (long)a.HRow(t) * bh + row, n);
                }
        });
        int last = a.Time(a.Steps - 1);
        cs.AsSpan(a.CRow(last) * bh, bh).CopyTo(ys.AsSpan(a.CnRow * bh, bh));
    }

    /// <summary>The gradient of <see cref="LstmSequence"/> from gy [T + 2, B, H] (dense from 0): dxg [T, B, 4H] and dh0, dc0
    /// [B, H]. The weight's gradient is one product afterwards (dxgᵀ · the h each step read, from y).</summary>
    public unsafe void LstmSequenceBackward(Storage gy, Storage w, Storage y, Storage c, Storage tc, Storage ws, Storage dxg,
        Storage dh0, Storage dc0, RnnSequenceArgs a)
    {
        int b = a.Batch, h = a.Hidden, bh = b * h, g4 = 4 * h;
        var gs = E(gy); var cs = E(c); var tcs = E(tc); var wss = E(ws); var dx = E(dxg); var dh = E(dh0); var dc = E(dc0);
        gs.AsSpan(a.CnRow * bh, bh).CopyTo(dc.AsSpan(0, bh)); // dc carried back in dc0's storage, dh in dh0's
        SequenceBackward(a, E(w), 4, dx, dh, (t, u0, n, next) =>
        {
            fixed (float* pg = gs, pc = cs, pt = tcs, pw = wss, pdx = dx, pdh = dh, pdc = dc)
                for (int r = 0; r < b; r++)
                {
                    long row = (long)r * h + u0, gate = (long)(t * b + r) * g4 + u0;
                    LstmCellBackward(pw + gate, pdx + gate, h, pc + (long)a.PrevRow(t) * bh + row, pt + (long)t * bh + row,
                        pg + (long)a.HRow(t) * bh + row, next ? pdh + row : null, pdc + row, n);
                }
        });
        if (a.H0Grad)
            fixed (float* pg = gs, pdh = dh)
                AddInto(pdh, pg + (long)a.H0Row * bh, bh); // y's h0 row is h0 itself
    }

    /// <summary>The forward's step loop of the fused sequences (LSTM, GRU: <paramref name="gates"/> = 4 or 3): W_hh [kH, H]
    /// packed once; per step the h it reads (a row of y) packed as A, then one parallel job per block of units: the block's
    /// k gate panels of h·W_hhᵀ into the step's row of ws, then <paramref name="cell"/>(t, u0, units) on those units.</summary>
    private static void SequenceForward(RnnSequenceArgs a, HostElements<float> w, int gates, HostElements<float> y,
        HostElements<float> ws, Action<int, int, int> cell)
    {
        int b = a.Batch, h = a.Hidden, gk = gates * h;
        using var pack = new LstmPacks(new GemmArgs { M = b, N = gk, K = h, RowA = h, ColA = 1, RowB = 1, ColB = h }, w, a.WOffset);
        for (int s = 0; s < a.Steps; s++)
        {
            int t = a.Time(s);
            pack.PackA(y, a.PrevRow(t) * b * h);
            CpuParallel.Run(h / pack.W, j =>
            {
                int u0 = j * pack.W;
                for (int k = 0; k < gates; k++) pack.Product(k * h + u0, ws, t * b * gk, gk, accumulate: false);
                cell(t, u0, pack.W);
            });
        }
    }

    /// <summary>The backward's step loop of the fused sequences: step s (from T down) runs the product for the gradient of
    /// the h that time(s) read (dGates' row of time(s) · W_hh, into dh; at s = 0 only when a.H0Grad), then
    /// <paramref name="cell"/>(t, u0, units, next) for time(s − 1), where next says dh holds that product. One parallel
    /// job per block of units, which owns those units of dh and of the cell's outputs.</summary>
    private static void SequenceBackward(RnnSequenceArgs a, HostElements<float> w, int gates, HostElements<float> dGates,
        HostElements<float> dh, Action<int, int, int, bool> cell)
    {
        int b = a.Batch, h = a.Hidden, gk = gates * h;
        using var pack = new LstmPacks(new GemmArgs { M = b, N = h, K = gk, RowA = gk, ColA = 1, RowB = h, ColB = 1 }, w, a.WOffset);
        for (int s = a.Steps; s >= 0; s--)
        {
            bool product = s < a.Steps && (s > 0 || a.H0Grad);
            if (!product && s == 0) break;
            if (product) pack.PackA(dGates, a.Time(s) * b * gk);
            int t = s > 0 ? a.Time(s - 1) : -1;
            CpuParallel.Run(h / pack.W, j =>
            {
                int u0 = j * pack.W;
                if (product) pack.Product(u0, dh, 0, h, accumulate: false);
                if (t >= 0) cell(t, u0, pack.W, product);
            });
        }
    }

    /// <summary>One row's cell for n units (a multiple of 16 on the 512-bit path, else of 8): pre-activations gate[k·h + u] +
    /// x[k·h + u] → activated gates written back to gate, c = f·cPrev + i·g, tc = tanh(c), y = o·tc.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)] // SIMD loops: tier-0 code runs them several times slower
    private static unsafe void LstmCellForward(float* gate, float* x, int h, float* cPrev, float* c, float* tc, float* y, int n)
    {
        if (UseVector512)
        {
            for (int u = 0; u < n; u += 16)
            {
                var i = LstmMath.Sigmoid(Vector512.Load(gate + u) + Vector512.Load(x + u));
                var f = LstmMath.Sigmoid(Vector512.Load(gate + h + u) + Vector512.Load(x + h + u));
                var g = LstmMath.Tanh(Vector512.Load(gate + 2 * h + u) + Vector512.Load(x + 2 * h + u));
                var o = LstmMath.Sigmoid(Vector512.Load(gate + 3 * h + u) + Vector512.Load(x + 3 * h + u));
                var cv = f * Vector512.Load(cPrev + u) + i * g;
                var t = LstmMath.Tanh(cv);
                Vector512.Store(i, gate + u); Vector512.Store(f, gate + h + u); Vector512.Store(g, gate + 2 * h + u);
                Vector512.Store(o, gate + 3 * h + u);
                Vector512.Store(cv, c + u); Vector512.Store(t, tc + u); Vector512.Store(o * t, y + u);
            }
            return;
        }
        for (int u = 0; u < n; u += 8)
        {
            var i = LstmMath.Sigmoid(Vector256.Load(gate + u) + Vector256.Load(x + u));
            var f = LstmMath.Sigmoid(Vector256.Load(gate + h + u) + Vector256.Load(x + h + u));
            var g = LstmMath.Tanh(Vector256.Load(gate + 2 * h + u) + Vector256.Load(x + 2 * h + u));
            var o = LstmMath.Sigmoid(Vector256.Load(gate + 3 * h + u) + Vector256.Load(x + 3 * h + u));
            var cv = f * Vector256.Load(cPrev + u) + i * g;
            var t = LstmMath.Tanh(cv);
            Vector256.Store(i, gate + u); Vector256.Store(f, gate + h + u); Vector256.Store(g, gate + 2 * h + u);
            Vector256.Store(o, gate + 3 * h + u);
            Vector256.Store(cv, c + u); Vector256.Store(t, tc + u); Vector256.Store(o * t, y + u);
        }
    }

    /// <summary>One row's cell gradient for n units from the activated gates: dh = gh + dhNext (null: none), dc carried in
    /// place (in: from the next step, out: to the previous); writes the gates' gradients.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)] // SIMD loops: tier-0 code runs them several times slower
    private static unsafe void LstmCellBackward(float* gate, float* dGate, int h, float* cPrev, float* tc, float* gh, float* dhNext,
        float* dc, int n)
    {
        var one = Vector256<float>.One;
        for (int u = 0; u < n; u += 8)
        {
            var i = Vector256.Load(gate + u); var f = Vector256.Load(gate + h + u);
            var g = Vector256.Load(gate + 2 * h + u); var o = Vector256.Load(gate + 3 * h + u);
            var t = Vector256.Load(tc + u);
            var dh = Vector256.Load(gh + u);
            if (dhNext != null) dh += Vector256.Load(dhNext + u);
            var dct = Vector256.Load(dc + u) + dh * o * (one - t * t);
            Vector256.Store(dct * g * i * (one - i), dGate + u);
            Vector256.Store(dct * Vector256.Load(cPrev + u) * f * (one - f), dGate + h + u);
            Vector256.Store(dct * i * (one - g * g), dGate + 2 * h + u);
            Vector256.Store(dh * t * o * (one - o), dGate + 3 * h + u);
            Vector256.Store(dct * f, dc + u);
        }
    }

    /// <summary>A sequence's recurrent weight packed once into the micro-kernel's panels (every K block), and the packed
    /// rows of the current A (B rows by K).</summary>
    private sealed unsafe class LstmPacks : IDisposable
    {
        private readonly GemmArgs _g;
        private readonly float[] _b, _a;
        private readonly int _panels, _mr, _bAt, _aAt;
        private readonly bool _wide, _narrow;

        public LstmPacks(GemmArgs g, HostElements<float> w, int wOffset)
        {
            (_g, _wide, _narrow) = (g, UseVector512, !Wide);
            W = _wide ? 2 * NR : NR;
            _mr = _wide ? MR512 : MR;
            _panels = (g.N + W - 1) / W;
            _b = ArrayPool<float>.Shared.Rent(_panels * W * g.K + 16);
            _a = ArrayPool<float>.Shared.Rent(((g.M + _mr - 1) / _mr * _mr) * g.K + 16);
            (_bAt, _aAt) = (AlignedIndex(_b), AlignedIndex(_a)); // fixed once: the arrays are not pinned between calls
            // Split by panels over the cores: once per call, but a megabyte for H = 256, which one core would pack alone.
            int chunks = Math.Min(CpuParallel.Threads, _panels);
            var (bArray, panels, width, bAt) = (_b, _panels, W, _bAt);
            CpuParallel.Run(chunks, ch =>
            {
                int j0 = ch * panels / chunks, j1 = (ch + 1) * panels / chunks;
                var part = g with { N = Math.Min(g.N - j0 * width, (j1 - j0) * width) };
                fixed (float* pw = w, pb = bArray)
                    for (int p0 = 0; p0 < g.K; p0 += KC)
                    {
                        int kc = Math.Min(KC, g.K - p0);
                        PackB(part, new Operands(0, (nint)(pw + wOffset + (long)j0 * width * g.ColB), 0), p0, kc, j1 - j0, width,
                            pb + bAt + panels * width * p0 + j0 * width * kc);
                    }
            });
        }

        /// <summary>Panel width (columns of C per panel).</summary>
        public int W { get; }

        /// <summary>Packs A = rows [B, K] dense from <paramref name="offset"/> of <paramref name="src"/>.</summary>
        public void PackA(HostElements<float> src, int offset)
        {
            fixed (float* ps = src, pa = _a)
                for (int p0 = 0; p0 < _g.K; p0 += KC)
                    CpuBackend.PackA(_g, new Operands((nint)(ps + offset), 0, 0), 0, _g.M, p0, Math.Min(KC, _g.K - p0), _mr,
                        pa + _aAt + RowsPadded * p0);
        }

        private int RowsPadded => (_g.M + _mr - 1) / _mr * _mr;

        /// <summary>C[:, col .. col + W) = A · B[:, col .. col + W) into dst (row stride ldc, from offset).</summary>
        public void Product(int col, HostElements<float> dst, int offset, int ldc, bool accumulate)
        {
            float* tile = stackalloc float[MR512 * 2 * NR];
            int jp = col / W;
            fixed (float* pa = _a, pb = _b, pc = dst)
                for (int p0 = 0; p0 < _g.K; p0 += KC)
                {
                    int kc = Math.Min(KC, _g.K - p0);
                    float* aBlock = pa + _aAt + RowsPadded * p0, bPanel = pb + _bAt + _panels * W * p0 + jp * W * kc;
                    for (int ir = 0; ir < _g.M; ir += _mr)
                    {
                        int mr = Math.Min(_mr, _g.M - ir);
                        float* cTile = pc + offset + (long)ir * ldc + col, aPanel = aBlock + ir * kc;
                        bool acc = accumulate || p0 > 0;
                        if (_wide) Micro512(kc, aPanel, bPanel, cTile, ldc, mr, W, acc, tile);
                        else if (_narrow) Micro128(kc, aPanel, bPanel, cTile, ldc, mr, W, acc, tile);
                        else Micro(kc, aPanel, bPanel, cTile, ldc, mr, W, acc, tile);
                    }
                }
        }

        public void Dispose()
        {
            ArrayPool<float>.Shared.Return(_b);
            ArrayPool<float>.Shared.Return(_a);
        }
    }
}
