using System.Diagnostics;

/// <summary>Timing shared by every benchmark: medians of repeated runs after a warm-up.</summary>
static class Harness
{
    // BENCH_QUICK=1: three runs, no warm-up, small sizes — a smoke test of the harness itself (e.g. `gpu ilgpu-cpu` here).
    public static bool Quick() => Environment.GetEnvironmentVariable("BENCH_QUICK") == "1";

    public static double Median(int reps, Action body, Action? sync = null)
    {
        if (Quick()) reps = 3;
        // Warm-up (1.5 s: shorter warm-ups measured the first workload in tier-0 code) until tiered JIT has promoted the
        // hot loops, kernels are compiled and pools are filled.
        var warm = Stopwatch.StartNew();
        for (int i = 0; i < 3 || (!Quick() && warm.ElapsedMilliseconds < 1500); i++) { body(); sync?.Invoke(); }
        var times = new double[reps];
        for (int i = 0; i < reps; i++)
        {
            long start = Stopwatch.GetTimestamp(); // not Stopwatch.Elapsed: a TimeSpan counts 100 ns ticks (2–3 % of a 4 µs op)
            body(); sync?.Invoke();
            times[i] = (double)(Stopwatch.GetTimestamp() - start) / Stopwatch.Frequency;
        }
        Array.Sort(times);
        return times[reps / 2];
    }
}
