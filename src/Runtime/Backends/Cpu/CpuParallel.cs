using System.Diagnostics;
using System.Runtime.CompilerServices;
using System.Runtime.ExceptionServices;

namespace DeepSharp.Backends.Cpu;

/// <summary>
/// Splits work over the cores. Jobs go to persistent workers that spin for a short while after each job before they
/// sleep, as OpenMP runtimes do: the thread pool's <see cref="Parallel.For(int, int, Action{int})"/> did not pick up the
/// second half of a 10–50 µs job in time, so mid-sized ops gained nothing from a second core
/// (see benchmarks/NOTES.md, "Moved from code comments").
/// A nested call, or a call from another thread while a job runs, runs on the calling thread.
/// </summary>
internal static class CpuParallel
{
    /// <summary>Below this many elements of work a job is not split (see benchmarks/NOTES.md, "Moved from code comments").</summary>
    public const int MinParallelWork = 1 << 15;

    /// <summary>Jobs with less work than this are split into one chunk per core, larger ones into four per core (for
    /// balance when a core is busy elsewhere). Each extra chunk costs traffic between the cores
    /// (see benchmarks/NOTES.md, "Moved from code comments").</summary>
    public const long BalancedWork = 1 << 20;

    /// <summary>Threads the CPU backend may use (public as <see cref="Device.CpuThreads"/>, which documents the default),
    /// at most one per core: the workers are one per core, and the work splits (chunks, partial sums) scale with this
    /// number, so a larger one would only add overhead. Benchmarks set 1 to measure one core.</summary>
    public static int Threads
    {
        get => _threads;
        set => _threads = Math.Clamp(value, 1, Math.Max(Environment.ProcessorCount, 1));
    }

    private static int _threads =
        Math.Clamp(DefaultThreads(Environment.GetEnvironmentVariable), 1, Math.Max(Environment.ProcessorCount, 1));

    /// <summary>DEEPSHARP_NUM_THREADS, else OMP_NUM_THREADS (as libtorch reads it), else every core; a value that is not a
    /// positive integer is ignored.</summary>
    internal static int DefaultThreads(Func<string, string?> env)
    {
        foreach (var name in new[] { "DEEPSHARP_NUM_THREADS", "OMP_NUM_THREADS" })
            if (int.TryParse(env(name), System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture,
                    out int n) && n > 0)
                return n;
        return Environment.ProcessorCount;
    }

    /// <summary>How long an idle worker waits awake before it sleeps (a sleeping worker takes tens of µs to wake): it spins
    /// for the first 20 µs, then yields between checks, leaving the core to any other ready thread.</summary>
    private static readonly long SpinTicks = Stopwatch.Frequency / 50_000, AwakeTicks = Stopwatch.Frequency / 5000; // 20, 200 µs

    /// <summary>Thread.SpinWait iterations per check while spinning, in workers and in the caller waiting for them
    /// (see benchmarks/NOTES.md, "Moved from code comments").</summary>
    private const int SpinIterations = 4;

    public static void For(int count, int workPerItem, Action<int, int> body)
    {
        int cores = Threads;
        long work = (long)count * Math.Max(workPerItem, 1);
        if (cores == 1 || count < 2 || work < MinParallelWork) { body(0, count); return; }
        int chunks = (int)Math.Min(Math.Min(count, cores * (work < BalancedWork ? 1L : 4L)), work / (MinParallelWork / 2));
        if (chunks < 2) { body(0, count); return; }
        Run(chunks, c => body((int)((long)count * c / chunks), (int)((long)count * (c + 1) / chunks)));
    }

    /// <summary>body(0) … body(items − 1) over the calling thread and up to <see cref="Threads"/> − 1 workers, each item
    /// once; returns when all are done. The first exception thrown by an item is rethrown here (the others still run).</summary>
    public static void Run(int items, Action<int> body)
    {
        if (items <= 1 || Threads <= 1 || _isWorker || Interlocked.CompareExchange(ref _busy, 1, 0) != 0)
        {
            for (int i = 0; i < items; i++) body(i);
            return;
        }
        try
        {
            EnsureWorkers();
            var job = new Job(body, items, Math.Min(Threads, _workerCount + 1) - 1, ++_lastId);
            Interlocked.Exchange(ref _job, job); // a full fence: the read of _sleepers below must not move above it
            // One read: a sleeper that sees the job itself leaves between two reads (Release(0) throws).
            int sleepers = Math.Min(Volatile.Read(ref _sleepers), job.Helpers);
            if (sleepers > 0) Wake.Release(sleepers);
            job.Work(0);
            // Waits for the helpers' items: short pauses for the first 20 µs (see SpinIterations: SpinWait's growing
            // back-off from the start delays short jobs), then backing off to yields.
            var spin = new SpinWait();
            long waitStart = Stopwatch.GetTimestamp();
            while (Volatile.Read(ref job.Done) < items)
                if (Stopwatch.GetTimestamp() - waitStart < SpinTicks) Thread.SpinWait(SpinIterations);
                else spin.SpinOnce(sleep1Threshold: -1);
            job.Error?.Throw();
        }
        finally
        {
            Volatile.Write(ref _job, null); // the finished job's closure (and the arrays it holds) is not kept alive
            Volatile.Write(ref _busy, 0);
        }
    }

    /// <summary>
    /// One call's items. Participant p (0: the caller, 1…: workers in the order they join) owns the items
    /// [items·p/parts, items·(p+1)/parts) and takes them first, then helps with the others' rest. So the same items land
    /// on the same cores call after call (as with OpenMP's static schedule) and what an item wrote stays in that core's
    /// cache for the next op, while a late or absent worker's share is still done by the others.
    /// </summary>
    private sealed class Job(Action<int> body, int items, int helpers, long id)
    {
        private const int Pad = 16; // one counter per 64-byte line
        public readonly int Helpers = helpers; // workers allowed to join (Threads − 1 at submission)
        public readonly long Id = id;
        public int Done, Joined;
        public ExceptionDispatchInfo? Error;
        private readonly int[] _taken = new int[(helpers + 1) * Pad]; // items claimed from each participant's share

        public void Work(int part)
        {
            int parts = Helpers + 1, done = 0;
            for (int k = 0; k < parts; k++)
            {
                int owner = (part + k) % parts;
                int start = (int)((long)items * owner / parts), count = (int)((long)items * (owner + 1) / parts) - start;
                for (int i; (i = Interlocked.Increment(ref _taken[owner * Pad]) - 1) < count; done++)
                {
                    try { body(start + i); }
                    catch (Exception e) { Interlocked.CompareExchange(ref Error, ExceptionDispatchInfo.Capture(e), null); }
                }
            }
            Interlocked.Add(ref Done, done);
        }
    }

    private static int _busy; // 1 while a job runs (not reentrant: a nested call runs inline)
    private static readonly SemaphoreSlim Wake = new(0);
    private static int _workerCount; // started on the first job (written under _busy)
    private static Job? _job;
    private static long _lastId; // written under _busy
    private static int _sleepers;
    [ThreadStatic] private static bool _isWorker;

    private static void EnsureWorkers()
    {
        if (_workerCount > 0 || Environment.ProcessorCount < 2) return;
        for (; _workerCount < Environment.ProcessorCount - 1; _workerCount++)
            new Thread(WorkerLoop) { IsBackground = true, Name = $"DeepSharp CPU worker {_workerCount + 1}" }.Start();
    }

    // Compiled optimized at once: a worker runs this loop for the whole process, so tiering never replaces its tier-0 code.
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void WorkerLoop()
    {
        _isWorker = true;
        long seen = 0;
        var idle = Stopwatch.StartNew();
        while (true)
        {
            var job = Volatile.Read(ref _job);
            if (job != null && job.Id != seen)
            {
                seen = job.Id;
                if (Interlocked.Increment(ref job.Joined) is int part && part <= job.Helpers) job.Work(part);
                idle.Restart();
                continue;
            }
            if (idle.ElapsedTicks < SpinTicks) { Thread.SpinWait(SpinIterations); continue; }
            if (idle.ElapsedTicks < AwakeTicks) { Thread.Yield(); continue; }
            Interlocked.Increment(ref _sleepers);
            if (Volatile.Read(ref _job) is not { } next || next.Id == seen) Wake.Wait();
            Interlocked.Decrement(ref _sleepers);
            idle.Restart();
        }
    }
}
