using System.Numerics;
using DeepSharp.Ops;

namespace DeepSharp.Backends.Cpu;

// Float64 on the CPU: the element-generic scalar loops of the primitives (the float32 paths keep their SIMD loops). Float64
// serves exact checks (the double-precision gradient check), so these are plain, parallel, and easy to read.
internal sealed partial class CpuBackend
{
    private static HostElements<T> Host<T>(Storage s) where T : unmanaged => ((CpuStorage)s).Elements<T>();

    private static void UnaryScalar<T, TOp>(Storage x, Storage y, StridedMap map, int count, TOp op)
        where T : unmanaged where TOp : struct, IUnaryOp<T>
    {
        var xs = Host<T>(x); var ys = Host<T>(y);
        var (sa, so, _) = map.InnerStrides;
        Segments(map, count, 4, (i, len, a, o, _) =>
        {
            for (int k = 0; k < len; k++) ys[o + k * so] = op.Apply(xs[a + k * sa]);
        });
    }

    private static void BinaryScalar<T, TOp>(Storage a, Storage b, Storage y, StridedMap map, int count, TOp op)
        where T : unmanaged where TOp : struct, IBinaryOp<T>
    {
        var xa = Host<T>(a); var xb = Host<T>(b); var ys = Host<T>(y);
        var (sa, sb, sc) = map.InnerStrides;
        Segments(map, count, 4, (i, len, oa, ob, oc) =>
        {
            for (int k = 0; k < len; k++) ys[oc + k * sc] = op.Apply(xa[oa + k * sa], xb[ob + k * sb]);
        });
    }

    private static void WhereScalar<T>(Storage cond, Storage a, Storage b, Storage y, StridedMap map, int count)
        where T : unmanaged, INumberBase<T>
    {
        var c = Host<T>(cond); var xa = Host<T>(a); var xb = Host<T>(b); var ys = Host<T>(y);
        var (sc, sa, sb) = map.InnerStrides;
        Segments(map, count, 2, (i, len, oc, oa, ob) =>
        {
            for (int k = 0; k < len; k++) ys[i + k] = c[oc + k * sc] != T.Zero ? xa[oa + k * sa] : xb[ob + k * sb];
        });
    }

    /// <summary>Each output of [outer, n, inner] folded serially along n (as the accelerators' column kernel).</summary>
    private static void ReduceScalar<T, TOp>(Storage x, int xOffset, Storage y, int outer, int n, int inner)
        where T : unmanaged where TOp : struct, IReduceOp<T>
    {
        var xs = Host<T>(x); var ys = Host<T>(y);
        CpuParallel.For(outer * inner, n, (lo, hi) =>
        {
            var op = default(TOp);
            for (int t = lo; t < hi; t++)
            {
                int o = t / inner, j = t - o * inner, start = xOffset + o * n * inner + j;
                T acc = op.Identity;
                for (int k = 0; k < n; k++) acc = op.Combine(acc, xs[start + k * inner]);
                ys[t] = acc;
            }
        });
    }

    private static void ArgReduceOf<T>(Storage x, int xOffset, Storage y, int outer, int n, int inner, bool max, Storage? values)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        var xs = Host<T>(x); var ys = Host<long>(y);
        var vs = values is null ? default : Host<T>(values);
        bool keepValues = values != null;
        CpuParallel.For(outer * inner, n, (lo, hi) =>
        {
            for (int t = lo; t < hi; t++)
            {
                int o = t / inner, j = t % inner, src = xOffset + o * n * inner + j;
                long k = ArgScan.Best(xs.Array, xs.Start + src, inner, n, max);
                ys[t] = k;
                if (keepValues) vs[t] = xs[src + (int)k * inner];
            }
        });
    }

    private static void ScatterAlongOf<T>(Storage g, int gOffset, Storage index, Storage dx, int outer, int n, int inner)
        where T : unmanaged
    {
        var gs = Host<T>(g); var ix = Host<long>(index); var ds = Host<T>(dx);
        CpuParallel.For(outer, n * inner, (lo, hi) =>
        {
            ds.AsSpan(lo * n * inner, (hi - lo) * n * inner).Clear();
            for (int o = lo; o < hi; o++)
                for (int j = 0; j < inner; j++)
                    ds[(o * n + (int)ix[o * inner + j]) * inner + j] = gs[gOffset + o * inner + j];
        });
    }

    /// <summary>One optimizer update of a parameter, element by element (the parameter written last: states may alias g).</summary>
    private static void UpdateScalar<T, TOp>(UpdateItem u, TOp op) where T : unmanaged where TOp : struct, IUpdateOp<T>
    {
        var ps = Host<T>(u.P); var gs = Host<T>(u.G); var ms = Host<T>(u.M); var vs = Host<T>(u.V); var ws = Host<T>(u.W);
        int pOffset = u.POffset, gOffset = u.GOffset;
        CpuParallel.For(u.Count, 8, (lo, hi) =>
        {
            for (int i = lo; i < hi; i++)
            {
                var (np, nm, nv, nw) = op.Apply(ps[pOffset + i], gs[gOffset + i], ms[i], vs[i], ws[i]);
                ms[i] = nm; vs[i] = nv; ws[i] = nw; ps[pOffset + i] = np;
            }
        });
    }

    /// <summary>C = A·B (+ bias) in double, i-k-j order over the strides of <paramref name="g"/>, rows of C across the cores.</summary>
    private static void MatMulF64(Storage a, Storage b, Storage c, GemmArgs g, Storage? bias)
    {
        var xa = Host<double>(a); var xb = Host<double>(b); var xc = Host<double>(c);
        var xbias = g.Bias != BiasMode.None ? Host<double>(bias!) : default;
        CpuParallel.For(g.Batch * g.M, g.N * Math.Max(g.K, 1), (lo, hi) =>
        {
            for (int r = lo; r < hi; r++)
            {
                int bi = r / g.M, i = r - bi * g.M;
                var row = xc.AsSpan(r * g.N, g.N);
                for (int j = 0; j < g.N; j++)
                    row[j] = g.Bias == BiasMode.PerColumn ? xbias[g.OffBias + j] : g.Bias == BiasMode.PerRow ? xbias[g.OffBias + i] : 0.0;
                int pa = g.OffA + bi * g.BatchA + i * g.RowA, pb = g.OffB + bi * g.BatchB;
                for (int k = 0; k < g.K; k++)
                {
                    double aik = xa[pa + k * g.ColA];
                    int q = pb + k * g.RowB;
                    for (int j = 0; j < g.N; j++) row[j] += aik * xb[q + j * g.ColB];
                }
            }
        });
    }
}
