using System.Numerics;
using System.Runtime.Intrinsics;
using DeepSharp.Ops;

namespace DeepSharp.Backends.Cpu;

internal sealed partial class CpuBackend
{
    public void Reduce<TOp>(Storage x, int xOffset, Storage y, int outer, int n, int inner) where TOp : struct, IReduceOp
    {
        if (x.DType == DType.Float64) { ReduceScalar<double, TOp>(x, xOffset, y, outer, n, inner); return; }
        var xs = E(x); var ys = E(y);
        if (inner == 1 && outer < CpuParallel.Threads && CpuParallel.Threads > 1 && n >= CpuParallel.MinParallelWork)
        {
            // Few long rows (a full sum): split each row over the cores, then fold the partials.
            for (int o = 0; o < outer; o++)
            {
                int row = xOffset + o * n, parts = CpuParallel.Threads * 4;
                var partial = new float[parts];
                CpuParallel.Run(parts, p =>
                {
                    int lo = (int)((long)n * p / parts), hi = (int)((long)n * (p + 1) / parts);
                    partial[p] = FoldRow<TOp>(xs.AsSpan(row + lo, hi - lo));
                });
                ys[o] = FoldRow<TOp>(partial);
            }
            return;
        }
        CpuParallel.For(outer, n * inner, (lo, hi) =>
        {
            for (int o = lo; o < hi; o++)
            {
                int src = xOffset + o * n * inner;
                if (inner == 1) { ys[o] = FoldRow<TOp>(xs.AsSpan(src, n)); continue; }
                var dst = ys.AsSpan(o * inner, inner);
                dst.Fill(ReduceIdentity.Of<float, TOp>());
                for (int k = 0; k < n; k++) CombineInto<TOp>(dst, xs.AsSpan(src + k * inner, inner));
            }
        });
    }

    private static float FoldRow<TOp>(ReadOnlySpan<float> row) where TOp : struct, IReduceOp
    {
        var op = default(TOp);
        int k = 0;
        float acc = ReduceIdentity.Of<float, TOp>();
        if (row.Length >= 16)
        {
            // Two 8-lane accumulators hide the add latency; lanes are folded at the end (pairwise-ish, better than serial).
            // Without 256-bit vectors each accumulator is two Vector128 halves combined the same way: the same bits.
            if (Wide)
            {
                var v0 = Vector256.Create(ReduceIdentity.Of<float, TOp>()); var v1 = v0;
                for (; k <= row.Length - 16; k += 16)
                {
                    v0 = op.Combine(v0, Vector256.Create(row.Slice(k, 8)));
                    v1 = op.Combine(v1, Vector256.Create(row.Slice(k + 8, 8)));
                }
                v0 = op.Combine(v0, v1);
                for (int l = 0; l < 8; l++) acc = op.Combine(acc, v0.GetElement(l));
            }
            else
            {
                var lo0 = Vector128.Create(ReduceIdentity.Of<float, TOp>()); var hi0 = lo0; var lo1 = lo0; var hi1 = lo0;
                for (; k <= row.Length - 16; k += 16)
                {
                    lo0 = op.Combine(lo0, Vector128.Create(row.Slice(k, 4)));
                    hi0 = op.Combine(hi0, Vector128.Create(row.Slice(k + 4, 4)));
                    lo1 = op.Combine(lo1, Vector128.Create(row.Slice(k + 8, 4)));
                    hi1 = op.Combine(hi1, Vector128.Create(row.Slice(k + 12, 4)));
                }
                lo0 = op.Combine(lo0, lo1); hi0 = op.Combine(hi0, hi1);
                for (int l = 0; l < 4; l++) acc = op.Combine(acc, lo0.GetElement(l));
                for (int l = 0; l < 4; l++) acc = op.Combine(acc, hi0.GetElement(l));
            }
        }
        for (; k < row.Length; k++) acc = op.Combine(acc, row[k]);
        return acc;
    }

    private static void CombineInto<TOp>(Span<float> acc, ReadOnlySpan<float> x) where TOp : struct, IReduceOp
    {
        var op = default(TOp);
        int k = 0;
        if (Wide)
            for (; k <= acc.Length - 8; k += 8)
                op.Combine(Vector256.Create<float>(acc.Slice(k, 8)), Vector256.Create(x.Slice(k, 8))).CopyTo(acc.Slice(k, 8));
        else
            for (; k <= acc.Length - 4; k += 4)
                op.Combine(Vector128.Create<float>(acc.Slice(k, 4)), Vector128.Create(x.Slice(k, 4))).CopyTo(acc.Slice(k, 4));
        for (; k < acc.Length; k++) acc[k] = op.Combine(acc[k], x[k]);
    }

    public void ArgReduce(Storage x, int xOffset, Storage y, int outer, int n, int inner, bool max, Storage? values = null)
    {
        if (x.DType == DType.Float64) ArgReduceOf<double>(x, xOffset, y, outer, n, inner, max, values);
        else ArgReduceOf<float>(x, xOffset, y, outer, n, inner, max, values);
    }

    public void ScatterAlong(Storage g, int gOffset, Storage index, Storage dx, int outer, int n, int inner)
    {
        if (g.DType == DType.Float64) ScatterAlongOf<double>(g, gOffset, index, dx, outer, n, inner);
        else ScatterAlongOf<float>(g, gOffset, index, dx, outer, n, inner);
    }
}

/// <summary>The arg-max/min rule shared by both backends: first best index wins; the first NaN beats everything.</summary>
internal static class ArgScan
{
    /// <summary>True when <paramref name="v"/> should replace the current <paramref name="best"/>.</summary>
    public static bool Better<T>(T v, T best, bool max) where T : IFloatingPointIeee754<T> =>
        !T.IsNaN(best) && (T.IsNaN(v) || (max ? v > best : v < best));

    /// <summary>Index along n of the best of x[start + k·stride], k &lt; n.</summary>
    public static long Best<T>(T[] x, int start, int stride, int n, bool max) where T : IFloatingPointIeee754<T>
    {
        T best = x[start]; long idx = 0;
        for (int k = 1; k < n; k++)
        {
            T v = x[start + k * stride];
            if (Better(v, best, max)) { best = v; idx = k; }
        }
        return idx;
    }
}
