using DeepSharp;
using DeepSharp.Backends;
using ILGPU;
using ILGPU.Runtime;
using Device = DeepSharp.Device;

/// <summary>
/// The fp32 rate a C# kernel can reach on this device: every thread runs 16 independent multiply-add chains, 128
/// multiply-adds per loop trip (ptxas 11.8: 128 FFMA + 4 other instructions per trip, 32 registers), on a grid of 2048 threads
/// per multiprocessor. The GEMM table reads cuBLAS and the C# kernels against it: how much of the device's fp32 rate each uses.
/// </summary>
static class FfmaCeiling
{
    /// <summary>TFLOP/s of the FFMA loop on <paramref name="d"/> (median of 5; a smoke-sized run in quick mode).</summary>
    public static double Measure(Device d, bool quick)
    {
        var accelerator = DeviceManager.Ilgpu(d).Accelerator;
        var kernel = accelerator.LoadAutoGroupedStreamKernel<Index1D, ArrayView<float>, int, float>(Chains);
        int threads = quick ? 256 : accelerator.NumMultiprocessors * 2048, trips = quick ? 2 : 20_000;
        using var output = accelerator.Allocate1D<float>(threads);
        double seconds = Median(5, () => { kernel(threads, output.View, trips, 0.999f); accelerator.Synchronize(); });
        float check = output.GetAsArray1D()[0]; // each chain converges to 1 (x = 0.999·x + 0.001)
        if (!float.IsFinite(check)) throw new InvalidOperationException($"FFMA loop gave {check}");
        return 2.0 * 128 * trips * threads / seconds / 1e12;
    }

    private static double Median(int reps, Action run)
    {
        run(); // compile and warm up
        var times = new double[reps];
        for (int i = 0; i < reps; i++)
        {
            var sw = System.Diagnostics.Stopwatch.StartNew();
            run();
            times[i] = sw.Elapsed.TotalSeconds;
        }
        Array.Sort(times);
        return times[reps / 2];
    }

    private static void Chains(Index1D i, ArrayView<float> output, int trips, float m)
    {
        const float a = 0.001f;
        float x0 = i, x1 = x0 + 1, x2 = x0 + 2, x3 = x0 + 3, x4 = x0 + 4, x5 = x0 + 5, x6 = x0 + 6, x7 = x0 + 7;
        float x8 = x0 + 8, x9 = x0 + 9, x10 = x0 + 10, x11 = x0 + 11, x12 = x0 + 12, x13 = x0 + 13, x14 = x0 + 14, x15 = x0 + 15;
        for (int t = 0; t < trips; t++)
        {
            for (int u = 0; u < 8; u++) // ILGPU does not unroll: ptxas does (constant trip count), checked with tools/sass_stats.sh
            {
                x0 = x0 * m + a; x1 = x1 * m + a; x2 = x2 * m + a; x3 = x3 * m + a;
                x4 = x4 * m + a; x5 = x5 * m + a; x6 = x6 * m + a; x7 = x7 * m + a;
                x8 = x8 * m + a; x9 = x9 * m + a; x10 = x10 * m + a; x11 = x11 * m + a;
                x12 = x12 * m + a; x13 = x13 * m + a; x14 = x14 * m + a; x15 = x15 * m + a;
            }
        }
        output[i] = x0 + x1 + x2 + x3 + x4 + x5 + x6 + x7 + x8 + x9 + x10 + x11 + x12 + x13 + x14 + x15;
    }
}
