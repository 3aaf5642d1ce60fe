using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using DeepSharp.Ops;

namespace DeepSharp.Backends.Cpu;

// Batch, layer and group norm over the NormArgs view: statistics and gradient sums accumulate in double (two passes, so a
// large mean does not swamp the variance); the normalize pass runs in vectors.
internal sealed partial class CpuBackend
{
    public void NormStats(Storage x, Storage mean, Storage var, NormArgs a)
    {
        var xs = E(x); var ms = E(mean); var vs = E(var);
        int m = a.PerSlot;
        CpuParallel.For(a.Slots, 2 * Math.Max(m, 1), (start, end) =>
        {
            for (int s = start; s < end; s++)
            {
                double sum = 0, squares = 0;
                for (int o = 0; o < a.Outer; o++) sum += Deviations(xs.AsSpan(a.XOffset + (o * a.Slots + s) * a.Inner, a.Inner), 0, false);
                double mu = sum / m;
                for (int o = 0; o < a.Outer; o++)
                    squares += Deviations(xs.AsSpan(a.XOffset + (o * a.Slots + s) * a.Inner, a.Inner), mu, true);
                ms[s] = (float)mu;
                vs[s] = (float)(squares / m);
            }
        });
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
        bool wide = Wide, affine = a.Affine != NormAffine.None;
        CpuParallel.For(a.Outer * a.Slots, a.Inner, (start, end) =>
        {
            for (int row = start; row < end; row++)
            {
                int o = row / a.Slots, s = row - o * a.Slots, t = a.Stat(o, s);
                float mu = ms[t], r = 1f / MathF.Sqrt(vs[t] + a.Eps);
                ref float xr = ref Unsafe.Add(ref xs.Ref, a.XOffset + row * a.Inner);
                ref float yr = ref Unsafe.Add(ref ys.Ref, row * a.Inner);
                if (affine && a.AffineDiv == 1)
                {
                    // An affine entry per element (LayerNorm): y = (x − μ)·r·w[f] + b[f].
                    int f0 = a.AffineIndex(s, 0);
                    for (int i = 0; i < a.Inner; i++)
                    {
                        float v = (Unsafe.Add(ref xr, i) - mu) * r;
                        if (a.HasWeight) v *= ws[f0 + i];
                        if (a.HasBias) v += bs[f0 + i];
                        Unsafe.Add(ref yr, i) = v;
                    }
                    continue;
                }
                // Runs that share one affine entry (a channel): y = (x − μ)·(r·w) + b.
                for (int i = 0; i < a.Inner;)
                {
                    int f = affine ? a.AffineIndex(s, i) : 0;
                    int len = affine ? Math.Min(a.Inner - i, (f + 1) * a.AffineDiv - (s % a.AffinePeriod) * a.Inner - i) : a.Inner;
                    float scale = a.HasWeight ? r * ws[f] : r, shift = a.HasBias ? bs[f] : 0f;
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

    public void NormGradSums(Storage x, Storage mean, Storage var, Storage? weight, Storage g, Storage sumG, Storage sumGX, NormArgs a)
    {
        var xs = E(x); var ms = E(mean); var vs = E(var); var gs = E(g); var sg = E(sumG); var sgx = E(sumGX);
        var ws = weight is null ? default : E(weight);
        CpuParallel.For(a.Slots, 3 * Math.Max(a.PerSlot, 1), (start, end) =>
        {
            for (int s = start; s < end; s++)
            {
                double totalG = 0, totalGX = 0;
                for (int o = 0; o < a.Outer; o++)
                {
                    int t = a.Stat(o, s), at = (o * a.Slots + s) * a.Inner;
                    double mu = ms[t], r = 1f / MathF.Sqrt(vs[t] + a.Eps);
                    for (int i = 0; i < a.Inner; i++)
                    {
                        double gw = a.HasWeight ? (double)gs[a.GOffset + at + i] * ws[a.AffineIndex(s, i)] : gs[a.GOffset + at + i];
                        totalG += gw;
                        totalGX += gw * (xs[a.XOffset + at + i] - mu) * r;
                    }
                }
                sg[s] = (float)totalG;
                sgx[s] = (float)totalGX;
            }
        });
    }

    public void NormBackward(Storage x, Storage mean, Storage var, Storage? weight, Storage g, Storage? sumG, Storage? sumGX, Storage dx,
        NormArgs a)
    {
        var xs = E(x); var ms = E(mean); var vs = E(var); var gs = E(g); var ds = E(dx);
        var ws = weight is null ? default : E(weight);
        bool batch = a.Statistics == NormStatistics.Batch;
        var sg = batch ? E(sumG!) : default; var sgx = batch ? E(sumGX!) : default;
        float invM = 1f / Math.Max(a.PerSlot, 1);
        CpuParallel.For(a.Outer * a.Slots, 2 * a.Inner, (start, end) =>
        {
            for (int row = start; row < end; row++)
            {
                int o = row / a.Slots, s = row - o * a.Slots, t = a.Stat(o, s), at = row * a.Inner;
                float mu = ms[t], r = 1f / MathF.Sqrt(vs[t] + a.Eps);
                float cg = batch ? sg[t] * invM : 0f, cgx = batch ? sgx[t] * invM : 0f;
                for (int i = 0; i < a.Inner; i++)
                {
                    float gw = a.HasWeight ? gs[a.GOffset + at + i] * ws[a.AffineIndex(s, i)] : gs[a.GOffset + at + i];
                    float xh = (xs[a.XOffset + at + i] - mu) * r;
                    ds[at + i] = r * (gw - cg - xh * cgx);
                }
            }
        });
    }
}
