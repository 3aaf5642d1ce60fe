using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using DeepSharp.Ops;

namespace DeepSharp.Backends.Cpu;

// Batch, layer and group norm over the NormArgs view: statistics and gradient sums accumulate in double across a slot's
// runs (two passes, so a large mean does not swamp the variance); the elementwise passes run in vectors. A view with
// Inner = 1 (BatchNorm1d on [N, C], LayerNorm's column sums) is walked row by row, so every read is contiguous.
internal sealed partial class CpuBackend
{
    public void NormStats(Storage x, Storage mean, Storage var, NormArgs a)
    {
        var xs = E(x); var ms = E(mean); var vs = E(var);
        int m = a.PerSlot;
        CpuParallel.For(a.Slots, 2 * Math.Max(m, 1), (start, end) =>
        {
            var v = a;
            if (v.Inner == 1)
            {
                StatsByRow(xs, ms, vs, v, start, end);
                return;
            }
            for (int s = start; s < end; s++)
            {
                double sum = 0, squares = 0;
                for (int o = 0; o < v.Outer; o++) sum += Deviations(xs.AsSpan(v.XOffset + (o * v.Slots + s) * v.Inner, v.Inner), 0, false);
                double mu = sum / m;
                for (int o = 0; o < v.Outer; o++)
                    squares += Deviations(xs.AsSpan(v.XOffset + (o * v.Slots + s) * v.Inner, v.Inner), mu, true);
                ms[s] = (float)mu;
                vs[s] = (float)(squares / m);
            }
        });
    }

    /// <summary>Slots [start, end) of an Inner = 1 view: rows outermost, slots contiguous.</summary>
    private static void StatsByRow(HostElements<float> xs, HostElements<float> ms, HostElements<float> vs, NormArgs a, int start,
        int end)
    {
        int len = end - start;
        var sum = new double[len]; var squares = new double[len];
        for (int o = 0; o < a.Outer; o++)
        {
            var row = xs.AsSpan(a.XOffset + o * a.Slots + start, len);
            for (int k = 0; k < len; k++) sum[k] += row[k];
        }
        for (int k = 0; k < len; k++) sum[k] /= a.Outer;
        for (int o = 0; o < a.Outer; o++)
        {
            var row = xs.AsSpan(a.XOffset + o * a.Slots + start, len);
            for (int k = 0; k < len; k++) squares[k] += (row[k] - sum[k]) * (row[k] - sum[k]);
        }
        for (int k = 0; k < len; k++)
        {
            ms[start + k] = (float)sum[k];
            vs[start + k] = (float)(squares[k] / a.Outer);
        }
    }

    /// <summary>Σ (v − mu), or Σ (v − mu)² with <paramref name="square"/>, in double.</summary>
    private static double Deviations(ReadOnlySpan<float> v, double mu, bool square)
    {
        int k = 0;
        double acc = 0;
        ref float r = ref MemoryMarshal.GetReference(v);
        if (Wide && v.Length >= 8)
        {
            Vector256<double> m = Vector256.Create(mu), a0 = Vector256<double>.Zero, a1 = Vector256<double>.Zero;
            for (; k <= v.Length - 8; k += 8)
            {
                var (lo, hi) = Vector256.Widen(Vector256.LoadUnsafe(ref r, (nuint)k));
                lo -= m; hi -= m;
                if (square) { lo *= lo; hi *= hi; }
                a0 += lo; a1 += hi;
            }
            acc = Vector256.Sum(a0 + a1);
        }
        else if (v.Length >= 4)
        {
            Vector128<double> m = Vector128.Create(mu), a0 = Vector128<double>.Zero, a1 = Vector128<double>.Zero;
            for (; k <= v.Length - 4; k += 4)
            {
                var (lo, hi) = Vector128.Widen(Vector128.LoadUnsafe(ref r, (nuint)k));
                lo -= m; hi -= m;
                if (square) { lo *= lo; hi *= hi; }
                a0 += lo; a1 += hi;
            }
            acc = Vector128.Sum(a0 + a1);
        }
        for (; k < v.Length; k++)
        {
            double d = Unsafe.Add(ref r, k) - mu;
            acc += square ? d * d : d;
        }
        return acc;
    }

    public void NormForward(Storage x, Storage mean, Storage var, Storage? weight, Storage? bias, Storage y, NormArgs a)
    {
        var xs = E(x); var ms = E(mean); var vs = E(var); var ys = E(y);
        var ws = weight is null ? default : E(weight); var bs = bias is null ? default : E(bias);
        bool wide = Wide;
        CpuParallel.For(a.Outer * a.Slots, a.Inner, (start, end) =>
        {
            var v = a;
            for (int row = start; row < end; row++)
            {
                int o = row / v.Slots, s = row - o * v.Slots, t = v.Stat(o, s);
                float mu = ms[t], r = 1f / MathF.Sqrt(vs[t] + v.Eps);
                ref float xr = ref Unsafe.Add(ref xs.Ref, v.XOffset + row * v.Inner);
                ref float yr = ref Unsafe.Add(ref ys.Ref, row * v.Inner);
                if (v.Affine != NormAffine.None && v.AffineDiv == 1)
                {
                    // An affine entry per element (LayerNorm): y = (x − μ)·r·w[f] + b[f].
                    int f0 = v.AffineIndex(s, 0), k = 0;
                    ref float wr = ref v.HasWeight ? ref Unsafe.Add(ref ws.Ref, f0) : ref xr;
                    ref float br = ref v.HasBias ? ref Unsafe.Add(ref bs.Ref, f0) : ref xr;
                    if (v.HasWeight && v.HasBias)
                        k = wide ? NormAffineRow<Simd256, Vector256<float>>(ref xr, ref yr, ref wr, ref br, v.Inner, mu, r)
                            : NormAffineRow<Simd128, Vector128<float>>(ref xr, ref yr, ref wr, ref br, v.Inner, mu, r);
                    for (; k < v.Inner; k++)
                    {
                        float e = (Unsafe.Add(ref xr, k) - mu) * r;
                        if (v.HasWeight) e *= Unsafe.Add(ref wr, k);
                        if (v.HasBias) e += Unsafe.Add(ref br, k);
                        Unsafe.Add(ref yr, k) = e;
                    }
                    continue;
                }
                // Runs that share one affine entry (a channel): y = (x − μ)·(r·w) + b.
                for (int i = 0; i < v.Inner;)
                {
                    int len = AffineRun(v, s, i, out int f);
                    float scale = v.HasWeight ? r * ws[f] : r, shift = v.HasBias ? bs[f] : 0f;
                    ref float xi = ref Unsafe.Add(ref xr, i);
                    ref float yi = ref Unsafe.Add(ref yr, i);
                    int k = wide ? NormRun<Simd256, Vector256<float>>(ref xi, ref yi, len, mu, scale, shift)
                        : NormRun<Simd128, Vector128<float>>(ref xi, ref yi, len, mu, scale, shift);
                    for (; k < len; k++) Unsafe.Add(ref yi, k) = (Unsafe.Add(ref xi, k) - mu) * scale + shift;
                    i += len;
                }
            }
        });
    }

    /// <summary>The length of the run from element i of slot s that shares one affine entry <paramref name="f"/> (the whole
    /// rest of the row without affine parameters).</summary>
    private static int AffineRun(in NormArgs a, int s, int i, out int f)
    {
        if (a.Affine == NormAffine.None) { f = 0; return a.Inner - i; }
        f = a.AffineIndex(s, i);
        return Math.Min(a.Inner - i, (f + 1) * a.AffineDiv - (s % a.AffinePeriod) * a.Inner - i);
    }

    /// <summary>y = (x − mu)·scale + shift in whole vectors (the same operations as the scalar tail); returns where the tail
    /// starts.</summary>
    private static int NormRun<TS, TV>(ref float x, ref float y, int len, float mu, float scale, float shift)
        where TS : struct, ISimd<TV> where TV : struct
    {
        TV m = TS.Splat(mu), sc = TS.Splat(scale), sh = TS.Splat(shift);
        int n = TS.Count, k = 0;
        for (; k <= len - n; k += n)
        {
            var v = TS.Binary(new SubOp(), TS.Load(ref x, (nuint)k), m);
            TS.Store(TS.Binary(new AddOp(), TS.Binary(new MulOp(), v, sc), sh), ref y, (nuint)k);
        }
        return k;
    }

    /// <summary>y = (x − mu)·r·w + b with a weight and a bias per element, in whole vectors; returns where the tail starts.</summary>
    private static int NormAffineRow<TS, TV>(ref float x, ref float y, ref float w, ref float b, int len, float mu, float r)
        where TS : struct, ISimd<TV> where TV : struct
    {
        TV m = TS.Splat(mu), rv = TS.Splat(r);
        int n = TS.Count, k = 0;
        for (; k <= len - n; k += n)
        {
            nuint i = (nuint)k;
            var v = TS.Binary(new MulOp(), TS.Binary(new SubOp(), TS.Load(ref x, i), m), rv);
            TS.Store(TS.Binary(new AddOp(), TS.Binary(new MulOp(), v, TS.Load(ref w, i)), TS.Load(ref b, i)), ref y, i);
        }
        return k;
    }
}
