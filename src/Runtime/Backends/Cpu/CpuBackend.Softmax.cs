using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
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
                SoftmaxRow(xr, yr, a.Kind);
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
                SoftmaxBackRow(yr, gr, dr, a.Kind);
            }
        });
    }

    // The row loops are written out per width: the same loops generic over ISimd and the op structs ran at half the
    // speed (benchmarks/NOTES.md, "Softmax").
    private static void SoftmaxRow(Span<float> x, Span<float> y, SoftmaxKind kind)
    {
        int n = x.Length, full = Wide ? n - n % 8 : n - n % 4;
        ref float xr = ref MemoryMarshal.GetReference(x); ref float yr = ref MemoryMarshal.GetReference(y);
        float m = Wide ? Max256(ref xr, full) : Max128(ref xr, full), below = 0f, ties = 0f;
        for (int j = full; j < n; j++) m = default(MaxOp).Combine(m, x[j]);
        if (!SoftmaxMath.Finite(m)) { y.Fill(float.NaN); return; }
        bool store = kind == SoftmaxKind.Softmax;
        if (Wide) Terms256(ref xr, ref yr, full, m, store, ref below, ref ties);
        else Terms128(ref xr, ref yr, full, m, store, ref below, ref ties);
        for (int j = full; j < n; j++)
        {
            float d = x[j] - m;
            if (d == 0f) ties += 1f; else below += MathF.Exp(d);
        }
        float scale = SoftmaxMath.Scale(SoftmaxMath.Rest(below, ties), kind);
        int j0 = 0;
        if (Wide)
        {
            Vector256<float> sv = Vector256.Create(scale), mv = Vector256.Create(m);
            for (; j0 + 8 <= n; j0 += 8)
                (store ? Vector256.LoadUnsafe(ref yr, (nuint)j0) * sv : Vector256.LoadUnsafe(ref xr, (nuint)j0) - mv - sv)
                    .StoreUnsafe(ref yr, (nuint)j0);
        }
        else
        {
            Vector128<float> sv = Vector128.Create(scale), mv = Vector128.Create(m);
            for (; j0 + 4 <= n; j0 += 4)
                (store ? Vector128.LoadUnsafe(ref yr, (nuint)j0) * sv : Vector128.LoadUnsafe(ref xr, (nuint)j0) - mv - sv)
                    .StoreUnsafe(ref yr, (nuint)j0);
        }
        for (int j = j0; j < n; j++) y[j] = SoftmaxMath.Output(x[j], m, scale, kind);
    }

    /// <summary>The max of x[0..full) (a multiple of 8), NaN if any is NaN (as <see cref="MaxOp"/>).</summary>
    private static float Max256(ref float x, int full)
    {
        var max = Vector256.Create(float.NegativeInfinity);
        var nan = Vector256<float>.Zero;
        for (int j = 0; j < full; j += 8)
        {
            var v = Vector256.LoadUnsafe(ref x, (nuint)j);
            max = Vector256.MaxNative(max, v);
            nan |= ~Vector256.Equals(v, v);
        }
        return nan != Vector256<float>.Zero ? float.NaN : Max128(Vector128.MaxNative(max.GetLower(), max.GetUpper()));
    }

    /// <inheritdoc cref="Max256"/>
    private static float Max128(ref float x, int full)
    {
        var max = Vector128.Create(float.NegativeInfinity);
        var nan = Vector128<float>.Zero;
        for (int j = 0; j < full; j += 4)
        {
            var v = Vector128.LoadUnsafe(ref x, (nuint)j);
            max = Vector128.MaxNative(max, v);
            nan |= ~Vector128.Equals(v, v);
        }
        return nan != Vector128<float>.Zero ? float.NaN : Max128(max);
    }

    private static float Max128(Vector128<float> v) => MathF.Max(MathF.Max(v[0], v[1]), MathF.Max(v[2], v[3]));

    /// <summary>Adds to below the terms e^(x − m) of the elements under the max and to ties the count of those equal
    /// to it; with store, writes e^(x − m) to y (softmax's numerators).</summary>
    private static void Terms256(ref float x, ref float y, int full, float m, bool store, ref float below, ref float ties)
    {
        Vector256<float> mv = Vector256.Create(m), b = Vector256<float>.Zero, t = Vector256<float>.Zero;
        for (int j = 0; j < full; j += 8)
        {
            var d = Vector256.LoadUnsafe(ref x, (nuint)j) - mv;
            var e = Vector256.Exp(d);
            var tie = Vector256.Equals(d, Vector256<float>.Zero);
            b += Vector256.AndNot(e, tie);
            t += tie & Vector256<float>.One;
            if (store) e.StoreUnsafe(ref y, (nuint)j);
        }
        below += Vector256.Sum(b); ties += Vector256.Sum(t);
    }

    /// <inheritdoc cref="Terms256"/>
    private static void Terms128(ref float x, ref float y, int full, float m, bool store, ref float below, ref float ties)
    {
        Vector128<float> mv = Vector128.Create(m), b = Vector128<float>.Zero, t = Vector128<float>.Zero;
        for (int j = 0; j < full; j += 4)
        {
            var d = Vector128.LoadUnsafe(ref x, (nuint)j) - mv;
            var e = Vector128.Exp(d);
            var tie = Vector128.Equals(d, Vector128<float>.Zero);
            b += Vector128.AndNot(e, tie);
            t += tie & Vector128<float>.One;
            if (store) e.StoreUnsafe(ref y, (nuint)j);
        }
        below += Vector128.Sum(b); ties += Vector128.Sum(t);
    }

    private static void SoftmaxBackRow(Span<float> y, Span<float> g, Span<float> dx, SoftmaxKind kind)
    {
        int n = y.Length, j0 = 0;
        ref float yr = ref MemoryMarshal.GetReference(y); ref float gr = ref MemoryMarshal.GetReference(g);
        ref float dr = ref MemoryMarshal.GetReference(dx);
        bool soft = kind == SoftmaxKind.Softmax;
        float s = 0f;
        if (Wide)
        {
            var acc = Vector256<float>.Zero;
            for (; j0 + 8 <= n; j0 += 8)
            {
                var gv = Vector256.LoadUnsafe(ref gr, (nuint)j0);
                acc += soft ? gv * Vector256.LoadUnsafe(ref yr, (nuint)j0) : gv;
            }
            s = Vector256.Sum(acc);
        }
        else
        {
            var acc = Vector128<float>.Zero;
            for (; j0 + 4 <= n; j0 += 4)
            {
                var gv = Vector128.LoadUnsafe(ref gr, (nuint)j0);
                acc += soft ? gv * Vector128.LoadUnsafe(ref yr, (nuint)j0) : gv;
            }
            s = Vector128.Sum(acc);
        }
        for (int j = j0; j < n; j++) s += soft ? g[j] * y[j] : g[j];
        if (Wide)
        {
            var sv = Vector256.Create(s);
            for (int j = 0; j < j0; j += 8)
            {
                Vector256<float> yv = Vector256.LoadUnsafe(ref yr, (nuint)j), gv = Vector256.LoadUnsafe(ref gr, (nuint)j);
                (soft ? yv * (gv - sv) : gv - Vector256.Exp(yv) * sv).StoreUnsafe(ref dr, (nuint)j);
            }
        }
        else
        {
            var sv = Vector128.Create(s);
            for (int j = 0; j < j0; j += 4)
            {
                Vector128<float> yv = Vector128.LoadUnsafe(ref yr, (nuint)j), gv = Vector128.LoadUnsafe(ref gr, (nuint)j);
                (soft ? yv * (gv - sv) : gv - Vector128.Exp(yv) * sv).StoreUnsafe(ref dr, (nuint)j);
            }
        }
        for (int j = j0; j < n; j++) dx[j] = SoftmaxMath.Gradient(y[j], g[j], s, kind);
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
