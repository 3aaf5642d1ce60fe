using System.Runtime.InteropServices;
using DeepSharp.Ops;

namespace DeepSharp.Backends.Cpu;

// Fused softmax and log-softmax both ways (SoftmaxMath): rows along the last axis as vector loops, other axes
// ([Outer, N, Inner], Inner > 1) as scalar loops over chunks of neighbouring columns, so each pass reads memory in order.
internal sealed partial class CpuBackend
{
    private const int SoftmaxColumnChunk = 64;

    public void Softmax(Storage x, Storage y, SoftmaxArgs a)
    {
        if (a.Count == 0) return;
        var xs = E(x); var ys = E(y);
        if (a.Inner > 1) { SoftmaxColumns(xs, ys, a); return; }
        int n = a.N;
        CpuParallel.For(a.Outer, 4 * n, (lo, hi) =>
        {
            for (int r = lo; r < hi; r++)
            {
                var xr = xs.AsSpan(a.Offset + r * n, n); var yr = ys.AsSpan(r * n, n);
                if (Wide) SoftmaxRow<System.Runtime.Intrinsics.Vector256<float>, Simd256>(xr, yr, a.Kind);
                else SoftmaxRow<System.Runtime.Intrinsics.Vector128<float>, Simd128>(xr, yr, a.Kind);
            }
        });
    }

    public void SoftmaxBackward(Storage y, Storage g, Storage dx, SoftmaxArgs a)
    {
        if (a.Count == 0) return;
        var ys = E(y); var gs = E(g); var ds = E(dx);
        if (a.Inner > 1) { SoftmaxBackColumns(ys, gs, ds, a); return; }
        int n = a.N;
        CpuParallel.For(a.Outer, 3 * n, (lo, hi) =>
        {
            for (int r = lo; r < hi; r++)
            {
                var yr = ys.AsSpan(r * n, n); var gr = gs.AsSpan(a.Offset + r * n, n); var dr = ds.AsSpan(r * n, n);
                if (Wide) SoftmaxBackRow<System.Runtime.Intrinsics.Vector256<float>, Simd256>(yr, gr, dr, a.Kind);
                else SoftmaxBackRow<System.Runtime.Intrinsics.Vector128<float>, Simd128>(yr, gr, dr, a.Kind);
            }
        });
    }

    private static void SoftmaxRow<TV, TS>(Span<float> x, Span<float> y, SoftmaxKind kind) where TV : struct where TS : struct, ISimd<TV>
    {
        int n = x.Length, w = TS.Count, full = n - n % w;
        ref float xr = ref MemoryMarshal.GetReference(x); ref float yr = ref MemoryMarshal.GetReference(y);
        var max = TS.Splat(float.NegativeInfinity);
        for (int j = 0; j < full; j += w) max = TS.Binary(new MaximumOp(), max, TS.Load(ref xr, (nuint)j));
        float m = Fold<TV, TS, MaxOp>(max);
        for (int j = full; j < n; j++) m = default(MaxOp).Combine(m, x[j]);
        if (!SoftmaxMath.Finite(m)) { y.Fill(float.NaN); return; }
        TV mv = TS.Splat(m), zero = TS.Splat(0f), below = zero, ties = zero;
        for (int j = 0; j < full; j += w)
        {
            var d = TS.Binary(new SubOp(), TS.Load(ref xr, (nuint)j), mv);
            var e = TS.Unary(new ExpOp(), d);
            below = TS.Binary(new AddOp(), below, TS.Binary(new BelowMaxTermOp(), d, e));
            ties = TS.Binary(new AddOp(), ties, TS.Binary(new EqOp(), d, zero));
            if (kind == SoftmaxKind.Softmax) TS.Store(e, ref yr, (nuint)j);
        }
        float sumBelow = Fold<TV, TS, SumOp>(below), sumTies = Fold<TV, TS, SumOp>(ties);
        for (int j = full; j < n; j++)
        {
            float d = x[j] - m;
            if (d == 0f) sumTies += 1f; else sumBelow += MathF.Exp(d);
        }
        float scale = SoftmaxMath.Scale(SoftmaxMath.Rest(sumBelow, sumTies), kind);
        var sv = TS.Splat(scale);
        if (kind == SoftmaxKind.Softmax)
        {
            for (int j = 0; j < full; j += w) TS.Store(TS.Binary(new MulOp(), TS.Load(ref yr, (nuint)j), sv), ref yr, (nuint)j);
        }
        else
        {
            for (int j = 0; j < full; j += w)
                TS.Store(TS.Binary(new SubOp(), TS.Binary(new SubOp(), TS.Load(ref xr, (nuint)j), mv), sv), ref yr, (nuint)j);
        }
        for (int j = full; j < n; j++) y[j] = SoftmaxMath.Output(x[j], m, scale, kind);
    }

    private static void SoftmaxBackRow<TV, TS>(Span<float> y, Span<float> g, Span<float> dx, SoftmaxKind kind)
        where TV : struct where TS : struct, ISimd<TV>
    {
        int n = y.Length, w = TS.Count, full = n - n % w;
        ref float yr = ref MemoryMarshal.GetReference(y); ref float gr = ref MemoryMarshal.GetReference(g);
        ref float dr = ref MemoryMarshal.GetReference(dx);
        bool soft = kind == SoftmaxKind.Softmax;
        var acc = TS.Splat(0f);
        for (int j = 0; j < full; j += w)
        {
            var gv = TS.Load(ref gr, (nuint)j);
            acc = TS.Binary(new AddOp(), acc, soft ? TS.Binary(new MulOp(), gv, TS.Load(ref yr, (nuint)j)) : gv);
        }
        float s = Fold<TV, TS, SumOp>(acc);
        for (int j = full; j < n; j++) s += soft ? g[j] * y[j] : g[j];
        var sv = TS.Splat(s);
        for (int j = 0; j < full; j += w)
        {
            TV yv = TS.Load(ref yr, (nuint)j), gv = TS.Load(ref gr, (nuint)j);
            var d = soft ? TS.Binary(new MulOp(), yv, TS.Binary(new SubOp(), gv, sv))
                : TS.Binary(new SubOp(), gv, TS.Binary(new MulOp(), TS.Unary(new ExpOp(), yv), sv));
            TS.Store(d, ref dr, (nuint)j);
        }
        for (int j = full; j < n; j++) dx[j] = SoftmaxMath.Gradient(y[j], g[j], s, kind);
    }

    /// <summary>The lanes of v folded with TOp.</summary>
    private static float Fold<TV, TS, TOp>(TV v) where TV : struct where TS : struct, ISimd<TV> where TOp : struct, IReduceOp
    {
        Span<float> lanes = stackalloc float[8];
        TS.Store(v, ref lanes[0], 0);
        float acc = default(TOp).Identity;
        for (int i = 0; i < TS.Count; i++) acc = default(TOp).Combine(acc, lanes[i]);
        return acc;
    }

    private static void SoftmaxColumns(HostElements<float> xs, HostElements<float> ys, SoftmaxArgs a)
    {
        const int C = SoftmaxColumnChunk;
        int chunks = (a.Inner + C - 1) / C, n = a.N, inner = a.Inner;
        CpuParallel.For(a.Outer * chunks, 4 * n * Math.Min(C, inner), (lo, hi) =>
        {
            Span<float> m = stackalloc float[C], below = stackalloc float[C], ties = stackalloc float[C];
            for (int item = lo; item < hi; item++)
            {
                int o = item / chunks, i0 = item % chunks * C, cw = Math.Min(C, inner - i0), start = o * n * inner + i0;
                m.Fill(float.NegativeInfinity); below.Clear(); ties.Clear();
                for (int k = 0; k < n; k++)
                {
                    var row = xs.AsSpan(a.Offset + start + k * inner, cw);
                    for (int i = 0; i < cw; i++) m[i] = default(MaxOp).Combine(m[i], row[i]);
                }
                for (int k = 0; k < n; k++)
                {
                    var row = xs.AsSpan(a.Offset + start + k * inner, cw);
                    for (int i = 0; i < cw; i++)
                    {
                        float d = row[i] - m[i];
                        if (d == 0f) ties[i] += 1f; else below[i] += MathF.Exp(d);
                    }
                }
                for (int i = 0; i < cw; i++) below[i] = SoftmaxMath.Scale(SoftmaxMath.Rest(below[i], ties[i]), a.Kind);
                for (int k = 0; k < n; k++)
                {
                    var row = xs.AsSpan(a.Offset + start + k * inner, cw); var outRow = ys.AsSpan(start + k * inner, cw);
                    for (int i = 0; i < cw; i++) outRow[i] = SoftmaxMath.Output(row[i], m[i], below[i], a.Kind);
                }
            }
        });
    }

    private static void SoftmaxBackColumns(HostElements<float> ys, HostElements<float> gs, HostElements<float> ds, SoftmaxArgs a)
    {
        const int C = SoftmaxColumnChunk;
        int chunks = (a.Inner + C - 1) / C, n = a.N, inner = a.Inner;
        bool soft = a.Kind == SoftmaxKind.Softmax;
        CpuParallel.For(a.Outer * chunks, 3 * n * Math.Min(C, inner), (lo, hi) =>
        {
            Span<float> s = stackalloc float[C];
            for (int item = lo; item < hi; item++)
            {
                int o = item / chunks, i0 = item % chunks * C, cw = Math.Min(C, inner - i0), start = o * n * inner + i0;
                s.Clear();
                for (int k = 0; k < n; k++)
                {
                    var y = ys.AsSpan(start + k * inner, cw); var g = gs.AsSpan(a.Offset + start + k * inner, cw);
                    for (int i = 0; i < cw; i++) s[i] += soft ? g[i] * y[i] : g[i];
                }
                for (int k = 0; k < n; k++)
                {
                    var y = ys.AsSpan(start + k * inner, cw); var g = gs.AsSpan(a.Offset + start + k * inner, cw);
                    var d = ds.AsSpan(start + k * inner, cw);
                    for (int i = 0; i < cw; i++) d[i] = SoftmaxMath.Gradient(y[i], g[i], s[i], a.Kind);
                }
            }
        });
    }
}
