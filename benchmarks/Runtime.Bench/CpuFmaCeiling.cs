using System.Diagnostics;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

/// <summary>
/// The fp32 rate one core can reach from C#: twelve independent multiply-add chains in registers, no memory traffic
/// (Vector512 where the CPU runs it, else Vector256). The peer table reads the CPU rows against it: a workload's
/// multiply-adds at this rate are the fastest it could possibly run on this core.
/// </summary>
static class CpuFmaCeiling
{
    /// <summary>GFLOP/s of the chains on the calling thread (the best of 5 runs of ~0.1 s).</summary>
    public static double Measure()
    {
        bool wide = Vector512.IsHardwareAccelerated && Avx512F.IsSupported;
        if (!wide && !Fma.IsSupported) return double.NaN;
        const long trips = 2_000_000;
        double best = 0;
        for (int run = 0; run < 6; run++)
        {
            var sw = Stopwatch.StartNew();
            float check = wide ? Chains512(trips, 0.999f, 0.001f) : Chains256(trips, 0.999f, 0.001f);
            double seconds = sw.Elapsed.TotalSeconds;
            if (!float.IsFinite(check)) throw new InvalidOperationException($"FMA chains gave {check}");
            if (run > 0) best = Math.Max(best, 2.0 * 12 * (wide ? 16 : 8) * trips / seconds / 1e9); // run 0 warms up
        }
        return best;
    }

    // Each chain x ← a·x + b converges to 1, so the sum checks the loop ran.
    [MethodImpl(MethodImplOptions.NoInlining | MethodImplOptions.AggressiveOptimization)]
    static float Chains512(long trips, float a, float b)
    {
        Vector512<float> va = Vector512.Create(a), vb = Vector512.Create(b);
        Vector512<float> c0 = vb, c1 = vb, c2 = vb, c3 = vb, c4 = vb, c5 = vb, c6 = vb, c7 = vb, c8 = vb, c9 = vb, c10 = vb, c11 = vb;
        for (long i = 0; i < trips; i++)
        {
            c0 = Avx512F.FusedMultiplyAdd(c0, va, vb); c1 = Avx512F.FusedMultiplyAdd(c1, va, vb);
            c2 = Avx512F.FusedMultiplyAdd(c2, va, vb); c3 = Avx512F.FusedMultiplyAdd(c3, va, vb);
            c4 = Avx512F.FusedMultiplyAdd(c4, va, vb); c5 = Avx512F.FusedMultiplyAdd(c5, va, vb);
            c6 = Avx512F.FusedMultiplyAdd(c6, va, vb); c7 = Avx512F.FusedMultiplyAdd(c7, va, vb);
            c8 = Avx512F.FusedMultiplyAdd(c8, va, vb); c9 = Avx512F.FusedMultiplyAdd(c9, va, vb);
            c10 = Avx512F.FusedMultiplyAdd(c10, va, vb); c11 = Avx512F.FusedMultiplyAdd(c11, va, vb);
        }
        return Vector512.Sum(c0 + c1 + c2 + c3 + c4 + c5 + c6 + c7 + c8 + c9 + c10 + c11);
    }

    [MethodImpl(MethodImplOptions.NoInlining | MethodImplOptions.AggressiveOptimization)]
    static float Chains256(long trips, float a, float b)
    {
        Vector256<float> va = Vector256.Create(a), vb = Vector256.Create(b);
        Vector256<float> c0 = vb, c1 = vb, c2 = vb, c3 = vb, c4 = vb, c5 = vb, c6 = vb, c7 = vb, c8 = vb, c9 = vb, c10 = vb, c11 = vb;
        for (long i = 0; i < trips; i++)
        {
            c0 = Fma.MultiplyAdd(c0, va, vb); c1 = Fma.MultiplyAdd(c1, va, vb); c2 = Fma.MultiplyAdd(c2, va, vb);
            c3 = Fma.MultiplyAdd(c3, va, vb); c4 = Fma.MultiplyAdd(c4, va, vb); c5 = Fma.MultiplyAdd(c5, va, vb);
            c6 = Fma.MultiplyAdd(c6, va, vb); c7 = Fma.MultiplyAdd(c7, va, vb); c8 = Fma.MultiplyAdd(c8, va, vb);
            c9 = Fma.MultiplyAdd(c9, va, vb); c10 = Fma.MultiplyAdd(c10, va, vb); c11 = Fma.MultiplyAdd(c11, va, vb);
        }
        return Vector256.Sum(c0 + c1 + c2 + c3 + c4 + c5 + c6 + c7 + c8 + c9 + c10 + c11);
    }
}
