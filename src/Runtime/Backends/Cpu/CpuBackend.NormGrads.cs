using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using DeepSharp.Ops;

namespace DeepSharp.Backends.Cpu;

// The norms' backward over the NormArgs view: the per-slot sums Σ g·w and Σ g·w·x̂ (float vectors within a block of a run,
// double across blocks and runs) and the input gradient in vectors.
internal sealed partial class CpuBackend
{
    /// <summary>Elements summed in float vectors before the partial sums move to double.</summary>
    private const int NormBlock = 1024;

    public void NormGradSums(Storage x, Storage mean, Storage var, Storage? weight, Storage g, Storage sumG, Storage sumGX, NormArgs a)
    {
        var xs = E(x); var ms = E(mean); var vs = E(var); var gs = E(g); var sg = E(sumG); var sgx = E(sumGX);
        var ws = weight is null ? default : E(weight);
        bool wide = Wide;
        CpuParallel.For(a.Slots, 3 * Math.Max(a.PerSlot, 1), (start, end) =>
        {
            var v = a;
            if (v.Inner == 1)
            {
                GradSumsByRow(xs, ms, vs, ws, gs, sg, sgx, v, start, end);
                return;
            }
            for (int s = start; s < end; s++)
            {
                double totalG = 0, totalGX = 0;
                for (int o = 0; o < v.Outer; o++)
                {
                    int t = v.Stat(o, s), at = (o * v.Slots + s) * v.Inner;
                    float mu = ms[t], r = 1f / MathF.Sqrt(vs[t] + v.Eps);
                    ref float xr = ref Unsafe.Add(ref xs.Ref, v.XOffset + at);
                    ref float gr = ref Unsafe.Add(ref gs.Ref, v.GOffset + at);
                    if (v.HasWeight && v.AffineDiv == 1)
                    {
                        var (rg, rgx) = GradRun(ref xr, ref gr, ref Unsafe.Add(ref ws.Ref, v.AffineIndex(s, 0)), true, v.Inner, mu, wide);
                        totalG += rg; totalGX += rgx * r;
                        continue;
                    }
                    for (int i = 0; i < v.Inner;)
                    {
                        int len = AffineRun(v, s, i, out int f);
                        float w = v.HasWeight ? ws[f] : 1f;
                        var (rg, rgx) = GradRun(ref Unsafe.Add(ref xr, i), ref Unsafe.Add(ref gr, i), ref xr, false, len, mu, wide);
                        totalG += rg * w; totalGX += rgx * w * r;
                        i += len;
                    }
                }
                sg[s] = (float)totalG;
                sgx[s] = (float)totalGX;
            }
        });
    }

    /// <summary>(Σ g·w, Σ g·w·(x − mu)) over a run, w per element or 1: float vectors per block, double across blocks.</summary>
    private static (double G, double GX) GradRun(ref float x, ref float g, ref float w, bool weighted, int len, float mu, bool wide)
    {
        double totalG = 0, totalGX = 0;
        for (int b = 0; b < len; b += NormBlock)
        {
            int n = Math.Min(NormBlock, len - b);
            ref float xb = ref Unsafe.Add(ref x, b), gb = ref Unsafe.Add(ref g, b), wb = ref weighted ? ref Unsafe.Add(ref w, b) : ref w;
            var (bg, bgx, k) = wide ? GradBlock<Simd256, Vector256<float>>(ref xb, ref gb, ref wb, weighted, n, mu)
                : GradBlock<Simd128, Vector128<float>>(ref xb, ref gb, ref wb, weighted, n, mu);
            double dg = bg, dgx = bgx;
            for (; k < n; k++)
            {
                double gw = weighted ? Unsafe.Add(ref gb, k) * Unsafe.Add(ref wb, k) : Unsafe.Add(ref gb, k);
                dg += gw;
                dgx += gw * (Unsafe.Add(ref xb, k) - mu);
            }
            totalG += dg; totalGX += dgx;
        }
        return (totalG, totalGX);
    }

    /// <summary>The vector part of one block of <see cref="GradRun"/>; returns the sums and where the tail starts.</summary>
    private static (float G, float GX, int Tail) GradBlock<TS, TV>(ref float x, ref float g, ref float w, bool weighted, int n, float mu)
        where TS : struct, ISimd<TV> where TV : struct
    {
        int c = TS.Count, k = 0;
        TV m = TS.Splat(mu), accG = TS.Splat(0f), accGX = TS.Splat(0f);
        for (; k <= n - c; k += c)
        {
            nuint i = (nuint)k;
            var gv = TS.Load(ref g, i);
            if (weighted) gv = TS.Binary(new MulOp(), gv, TS.Load(ref w, i));
            accG = TS.Binary(new AddOp(), accG, gv);
            accGX = TS.Binary(new AddOp(), accGX, TS.Binary(new MulOp(), gv, TS.Binary(new SubOp(), TS.Load(ref x, i), m)));
        }
        return (Lanes<TS, TV>(accG), Lanes<TS, TV>(accGX), k);
    }

    private static float Lanes<TS, TV>(TV v) where TS : struct, ISimd<TV> where TV : struct
    {
        Span<float> lanes = stackalloc float[TS.Count];
        TS.Store(v, ref lanes[0], 0);
        float sum = 0f;
        foreach (var e in lanes) sum += e;
        return sum;
    }

    /// <summary>Slots [start, end) of an Inner = 1 view (LayerNorm's column sums, BatchNorm1d on [N, C]): rows outermost,
    /// slots contiguous; r is recomputed only when the statistic changes.</summary>
    private static void GradSumsByRow(HostElements<float> xs, HostElements<float> ms, HostElements<float> vs, HostElements<float> ws,
        HostElements<float> gs, HostElements<float> sg, HostElements<float> sgx, NormArgs a, int start, int end)
    {
        int len = end - start, last = -1;
        var accG = new double[len]; var accGX = new double[len];
        float mu = 0f, r = 0f;
        for (int o = 0; o < a.Outer; o++)
            for (int k = 0; k < len; k++)
            {
                int s = start + k, t = a.Stat(o, s), e = o * a.Slots + s;
                if (t != last) { last = t; mu = ms[t]; r = 1f / MathF.Sqrt(vs[t] + a.Eps); }
                double gw = a.HasWeight ? (double)gs[a.GOffset + e] * ws[a.AffineIndex(s, 0)] : gs[a.GOffset + e];
                accG[k] += gw;
                accGX[k] += gw * (xs[a.XOffset + e] - mu) * r;
            }
        for (int k = 0; k < len; k++)
        {
            sg[start + k] = (float)accG[k];
            sgx[start + k] = (float)accGX[k];
        }
    }

    public void NormBackward(Storage x, Storage mean, Storage var, Storage? weight, Storage g, Storage? sumG, Storage? sumGX, Storage dx,
        NormArgs a)
    {
        var xs = E(x); var ms = E(mean); var vs = E(var); var gs = E(g); var ds = E(dx);
        var ws = weight is null ? default : E(weight);
        bool batch = a.Statistics == NormStatistics.Batch, wide = Wide;
        var sg = batch ? E(sumG!) : default; var sgx = batch ? E(sumGX!) : default;
        float invM = 1f / Math.Max(a.PerSlot, 1);
        CpuParallel.For(a.Outer * a.Slots, 2 * a.Inner, (start, end) =>
        {
            var v = a;
            for (int row = start; row < end; row++)
            {
                int o = row / v.Slots, s = row - o * v.Slots, t = v.Stat(o, s), at = row * v.Inner;
                float mu = ms[t], r = 1f / MathF.Sqrt(vs[t] + v.Eps);
                // dx = r·(g·w − mean(g·w) − x̂·mean(g·w·x̂)) = g·w·r − (x − μ)·r²·mean(g·w·x̂) − r·mean(g·w).
                float slope = batch ? r * r * sgx[t] * invM : 0f, shift = batch ? r * sg[t] * invM : 0f;
                ref float xr = ref Unsafe.Add(ref xs.Ref, v.XOffset + at);
                ref float gr = ref Unsafe.Add(ref gs.Ref, v.GOffset + at);
                ref float dr = ref Unsafe.Add(ref ds.Ref, at);
                if (v.HasWeight && v.AffineDiv == 1)
                {
                    ref float wr = ref Unsafe.Add(ref ws.Ref, v.AffineIndex(s, 0));
                    InputGradRun(ref xr, ref gr, ref wr, true, ref dr, v.Inner, mu, r, slope, shift, wide);
                    continue;
                }
                for (int i = 0; i < v.Inner;)
                {
                    int len = AffineRun(v, s, i, out int f);
                    float scale = v.HasWeight ? r * ws[f] : r;
                    ref float xi = ref Unsafe.Add(ref xr, i);
                    InputGradRun(ref xi, ref Unsafe.Add(ref gr, i), ref xr, false, ref Unsafe.Add(ref dr, i), len, mu, scale, slope, shift,
                        wide);
                    i += len;
                }
            }
        });
    }

    /// <summary>dx = g·w·scale − (x − mu)·slope − shift over a run (w per element, or 1).</summary>
    private static void InputGradRun(ref float x, ref float g, ref float w, bool weighted, ref float dx, int len, float mu, float scale,
        float slope, float shift, bool wide)
    {
        int k = wide ? InputGradVectors<Simd256, Vector256<float>>(ref x, ref g, ref w, weighted, ref dx, len, mu,
                scale, slope, shift)
            : InputGradVectors<Simd128, Vector128<float>>(ref x, ref g, ref w, weighted, ref dx, len, mu, scale,
                slope, shift);
        for (; k < len; k++)
        {
            float gw = weighted ? Unsafe.Add(ref g, k) * Unsafe.Add(ref w, k) : Unsafe.Add(ref g, k);
            Unsafe.Add(ref dx, k) = gw * scale - (Unsafe.Add(ref x, k) - mu) * slope - shift;
        }
    }

    private static int InputGradVectors<TS, TV>(ref float x, ref float g, ref float w, bool weighted, ref float dx, int len, float mu,
        float scale, float slope, float shift) where TS : struct, ISimd<TV> where TV : struct
    {
        int c = TS.Count, k = 0;
        TV m = TS.Splat(mu), sc = TS.Splat(scale), sl = TS.Splat(slope), sh = TS.Splat(shift);
        for (; k <= len - c; k += c)
        {
            nuint i = (nuint)k;
            var gw = TS.Load(ref g, i);
            if (weighted) gw = TS.Binary(new MulOp(), gw, TS.Load(ref w, i));
            var centered = TS.Binary(new MulOp(), TS.Binary(new SubOp(), TS.Load(ref x, i), m), sl);
            TS.Store(TS.Binary(new SubOp(), TS.Binary(new SubOp(), TS.Binary(new MulOp(), gw, sc), centered), sh), ref dx, i);
        }
        return k;
    }
}
