using DeepSharp.Backends.Cpu;

namespace DeepSharp.Tests;

/// <summary>The CPU backend's worker pool: every item once, errors surface unchanged, nested and concurrent calls finish.</summary>
public class CpuParallelTests
{
    [Fact]
    public void EveryItemRunsExactlyOnce()
    {
        for (int round = 0; round < 200; round++)
        {
            int items = 1 + round % 37;
            var hits = new int[items];
            CpuParallel.Run(items, i => Interlocked.Increment(ref hits[i]));
            Assert.All(hits, h => Assert.Equal(1, h));
        }
    }

    [Fact]
    public void AnItemsExceptionIsRethrownAsItsOwnTypeAfterTheOthersRan()
    {
        int ran = 0;
        var e = Assert.Throws<IndexOutOfRangeException>(() => CpuParallel.Run(8, i =>
        {
            Interlocked.Increment(ref ran);
            if (i == 3) throw new IndexOutOfRangeException("item 3");
        }));
        Assert.Equal("item 3", e.Message);
        Assert.Equal(8, ran);
        // The pool still works afterwards.
        int after = 0;
        CpuParallel.Run(4, _ => Interlocked.Increment(ref after));
        Assert.Equal(4, after);
    }

    [Fact]
    public async Task NestedAndConcurrentCallsFinish()
    {
        long total = 0;
        var callers = Enumerable.Range(0, 4).Select(_ => Task.Run(() =>
        {
            for (int r = 0; r < 50; r++)
                CpuParallel.Run(4, i => CpuParallel.Run(3, j => Interlocked.Increment(ref total)));
        })).ToArray();
        await Task.WhenAll(callers).WaitAsync(TimeSpan.FromSeconds(60), TestContext.Current.CancellationToken);
        Assert.Equal(4 * 50 * 4 * 3, Interlocked.Read(ref total));
    }

    [Fact]
    public void JobsSubmittedWhileTheWorkersFallAsleepAllRun()
    {
        // Jobs too short for a worker to join leave it to fall asleep while more are submitted: the submitter then races
        // the worker's way into and out of its sleep (once it asked the semaphore to release zero waiters and threw).
        if (CpuParallel.Threads < 2) Assert.Skip("needs two CPU threads");
        var deadline = System.Diagnostics.Stopwatch.StartNew();
        long jobs = 0, items = 0;
        while (deadline.ElapsedMilliseconds < 1500)
        {
            CpuParallel.Run(2, _ => Interlocked.Increment(ref items));
            jobs++;
        }
        Assert.Equal(2 * jobs, Interlocked.Read(ref items));
    }

    [Fact]
    public void TheCallerRunsItsOwnShareOfItemsFirst()
    {
        // The same items land on the same threads call after call (what an item wrote stays in that core's cache for
        // the next op): the caller owns the first half of 8 items. The worker's items wait until the caller's four are
        // done, so a worker can never get to steal from the caller's share, however the threads are scheduled; under
        // a first-come schedule a worker that joined while the caller slept in item 0 took item 1.
        if (CpuParallel.Threads != 2) Assert.Skip("the shares are laid out for two CPU threads here");
        CpuParallel.Run(2, _ => { }); // wakes the worker
        int caller = Environment.CurrentManagedThreadId, callersDone = 0;
        var ranOn = new int[8];
        CpuParallel.Run(8, i =>
        {
            ranOn[i] = Environment.CurrentManagedThreadId;
            if (i < 4) { Thread.Sleep(1); Interlocked.Increment(ref callersDone); }
            else SpinWait.SpinUntil(() => Volatile.Read(ref callersDone) == 4);
        });
        Assert.All(ranOn[..4], t => Assert.Equal(caller, t));
    }
}

/// <summary>Changes the process-wide thread count, so it runs alone.</summary>
[CollectionDefinition(nameof(CpuThreadsTests), DisableParallelization = true)]
[Collection(nameof(CpuThreadsTests))]
public class CpuThreadsTests
{
    [Fact]
    public void TheDefaultComesFromTheEnvironmentAndTheSettingIsChecked()
    {
        string? None(string _) => null;
        Assert.Equal(Environment.ProcessorCount, CpuParallel.DefaultThreads(None));
        Assert.Equal(3, CpuParallel.DefaultThreads(n => n == "OMP_NUM_THREADS" ? "3" : null));
        Assert.Equal(1, CpuParallel.DefaultThreads(n => n == "DEEPSHARP_NUM_THREADS" ? "1" : "3"));
        foreach (var bad in new[] { "0", "-2", "two", "", " 4" })
            Assert.Equal(Environment.ProcessorCount, CpuParallel.DefaultThreads(n => n == "DEEPSHARP_NUM_THREADS" ? bad : null));
        Assert.Throws<ArgumentOutOfRangeException>(() => Device.CpuThreads = 0);
        int start = Device.CpuThreads;
        try
        {
            // More threads than cores would only multiply the work splits (a sum of 1 M floats allocated a partial per
            // "thread"): one per core at most.
            Device.CpuThreads = 46341;
            Assert.Equal(Environment.ProcessorCount, Device.CpuThreads);
        }
        finally { Device.CpuThreads = start; }
        int before = Device.CpuThreads;
        try
        {
            Device.CpuThreads = 1;
            Assert.Equal(1, CpuParallel.Threads);
        }
        finally { Device.CpuThreads = before; }
    }

    /// <summary>The CPU convolution groups images for its products and sums the weight's gradient in chunks fixed by the
    /// batch size alone: forward and backward give the same bits on 1, 2 or 3 threads (shapes of LeNet's layers, a padded
    /// strided one, odd batch sizes).</summary>
    [Theory]
    [InlineData(37, 1, 28, 28, 6, 5, 1, 2)]
    [InlineData(33, 6, 14, 14, 16, 5, 1, 0)]
    [InlineData(9, 3, 11, 13, 8, 3, 2, 1)]
    [InlineData(20, 64, 16, 16, 64, 3, 1, 1)] // Winograd: groups of 8, 8 and 4 images in three chunks
    [InlineData(1, 64, 34, 34, 64, 3, 1, 0)] // Winograd: one group, its products split over the cores
    [InlineData(40, 64, 4, 4, 64, 3, 1, 1)] // Winograd F(2×2, 3×3): groups of 32 and 8 images in two chunks
    public void ConvolutionBitsDoNotDependOnTheThreadCount(int n, int c, int h, int w, int o, int k, int stride, int padding)
    {
        var g = new Generator(5);
        var x = Tensor.Randn([n, c, h, w], generator: g);
        var wt = Tensor.Randn([o, c, k, k], generator: g);
        var b = Tensor.Randn([o], generator: g);
        float[][] Run(int threads)
        {
            int before = Device.CpuThreads;
            try
            {
                Device.CpuThreads = threads;
                var (xr, wr, br) = (x.Clone().RequiresGradient(), wt.Clone().RequiresGradient(), b.Clone().RequiresGradient());
                var y = Functional.Conv2d(xr, wr, br, stride, padding);
                (y * y).Sum().Backward();
                return [y.ToArray<float>(), xr.Grad!.ToArray<float>(), wr.Grad!.ToArray<float>(), br.Grad!.ToArray<float>()];
            }
            finally { Device.CpuThreads = before; }
        }
        var one = Run(1);
        foreach (int threads in new[] { 2, 3 })
        {
            var other = Run(threads);
            for (int i = 0; i < one.Length; i++)
                Assert.True(one[i].AsSpan().SequenceEqual(other[i]), $"result {i} differs on {threads} threads");
        }
    }
}
