namespace DeepSharp.Backends.Cpu;

/// <summary>Splits [0, count) into a few large chunks over the cores; small jobs stay on the calling thread.</summary>
internal static class CpuParallel
{
    /// <summary>Below this many elements of work a job is not split (thread hand-off costs ~µs).</summary>
    public const int MinParallelWork = 1 << 18;

    /// <summary>Threads the CPU backend may use (default: all cores). Benchmarks set 1 to measure one core.</summary>
    public static int Threads { get; set; } = Environment.ProcessorCount;

    public static ParallelOptions Options => new() { MaxDegreeOfParallelism = Threads };

    public static void For(int count, int workPerItem, Action<int, int> body)
    {
        int cores = Threads;
        long work = (long)count * Math.Max(workPerItem, 1);
        if (cores == 1 || count < 2 || work < MinParallelWork) { body(0, count); return; }
        int chunks = (int)Math.Min(Math.Min(count, cores * 4L), work / (MinParallelWork / 2));
        if (chunks < 2) { body(0, count); return; }
        Parallel.For(0, chunks, Options, c => body((int)((long)count * c / chunks), (int)((long)count * (c + 1) / chunks)));
    }
}
