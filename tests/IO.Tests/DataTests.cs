using DeepSharp.Data;
using DeepSharp.Tests;

namespace DeepSharp.IO.Tests;

/// <summary>A user's data set of samples [2, 3] whose features encode the index; optionally throws at one index, and
/// counts the samples read (from the loader's worker).</summary>
public sealed class CountingSamples(int count, int throwAt = -1, int delayMs = 0) : Dataset<Sample>
{
    private int _reads;
    public int Reads => Volatile.Read(ref _reads);
    public static readonly InvalidOperationException Failure = new("sample failure");

    public override int Count => count;

    public override Sample this[int index]
    {
        get
        {
            if (index == throwAt) throw Failure;
            Interlocked.Increment(ref _reads);
            if (delayMs > 0) Thread.Sleep(delayMs);
            return new Sample(Enumerable.Range(0, 6).Select(k => index * 10f + k).ToArray(), [2, 3], index % 4);
        }
    }
}

/// <summary>DataLoader: batches, order, determinism, the worker's shutdown and errors.</summary>
public class DataTests
{
    /// <summary>N samples of [2, 3] float32 (sample i holds 100·i + k) and int64 labels 7·i.</summary>
    private static TensorDataset Rows(int n)
    {
        using var x = Tensor.FromArray(Enumerable.Range(0, n * 6).Select(v => 100f * (v / 6) + v % 6).ToArray(), [n, 2, 3]);
        using var y = Tensor.FromArray(Enumerable.Range(0, n).Select(i => 7L * i).ToArray());
        return new TensorDataset(x, y);
    }

    private static List<(float[] X, long[] Y)> Epoch(DataLoader loader)
    {
        var batches = new List<(float[], long[])>();
        foreach (var batch in loader)
            using (batch) batches.Add((batch.Features.ToArray<float>(), batch.Labels.ToArray<long>()));
        return batches;
    }

    /// <summary>Each batch as text, to compare epochs by value.</summary>
    private static List<string> Keys(List<(float[] X, long[] Y)> batches) =>
        batches.Select(b => string.Join(",", b.X) + " | " + string.Join(",", b.Y)).ToList();

    [Theory]
    [MemberData(nameof(TestDevices.All), MemberType = typeof(TestDevices))]
    public void BatchesHoldTheRowsInOrderOnTheDevice(string device)
    {
        var d = TestDevices.Use(device);
        var loader = new DataLoader(Rows(10), batchSize: 4, device: d);
        Assert.Equal(3, loader.Count);
        int start = 0;
        foreach (var (x, y) in loader)
        {
            int n = Math.Min(4, 10 - start);
            Assert.Equal(d, x.Device);
            Assert.Equal(d, y.Device);
            Assert.Equal([n, 2, 3], x.Shape);
            Assert.Equal([n], y.Shape);
            Assert.Equal(DType.Int64, y.DType);
            Assert.Equal(Enumerable.Range(start * 6, n * 6).Select(v => 100f * (v / 6) + v % 6), x.ToArray<float>());
            Assert.Equal(Enumerable.Range(start, n).Select(i => 7L * i), y.ToArray<long>());
            start += n;
            x.Dispose();
            y.Dispose();
        }
        Assert.Equal(10, start);
    }

    [Theory]
    [MemberData(nameof(TestDevices.All), MemberType = typeof(TestDevices))]
    public void TransformedShuffledBatchesOnEveryDeviceMatchTheCpu(string device)
    {
        var d = TestDevices.Use(device);
        var t = new Compose(new RandomCrop(2, 2, 1), new RandomHorizontalFlip());
        var cpu = Epoch(new DataLoader(Rows(9), 4, shuffle: true, seed: 3, transform: t));
        var other = new List<(float[], long[])>();
        foreach (var batch in new DataLoader(Rows(9), 4, shuffle: true, seed: 3, transform: t, device: d))
            using (batch)
            {
                Assert.Equal(d, batch.Features.Device);
                Assert.Equal([batch.Size, 2, 2], batch.Features.Shape);
                other.Add((batch.Features.ToArray<float>(), batch.Labels.ToArray<long>()));
            }
        Assert.Equal(Keys(cpu), Keys(other));
    }

    [Fact]
    public void DropLastDropsTheSmallerLastBatch()
    {
        var loader = new DataLoader(Rows(10), 4, dropLast: true);
        Assert.Equal(2, loader.Count);
        var batches = Epoch(loader);
        Assert.Equal(2, batches.Count);
        Assert.All(batches, b => Assert.Equal(4, b.Y.Length));
        Assert.Equal(3, new DataLoader(Rows(12), 4, dropLast: true).Count); // nothing to drop when it divides
        Assert.Equal(0, new DataLoader(Rows(3), 4, dropLast: true).Count);
        Assert.Empty(Epoch(new DataLoader(Rows(3), 4, dropLast: true)));
    }

    [Fact]
    public void SameSeedSameBatchesEachEpochDiffersAndASetEpochReproducesIt()
    {
        var t = new Compose(new RandomCrop(3, 3, 1), new RandomHorizontalFlip());
        DataLoader Make(int prefetch) => new(Rows(50), 8, shuffle: true, seed: 42, transform: t, prefetch: prefetch);
        var a = Make(2);
        var a0 = Epoch(a);
        var a1 = Epoch(a);
        Assert.Equal(2, a.Epoch);
        var b = Make(0); // no worker: the same batches whatever the thread
        Assert.Equal(Keys(a0), Keys(Epoch(b)));
        Assert.Equal(Keys(a1), Keys(Epoch(b)));
        Assert.NotEqual(a0.Select(x => x.Y), a1.Select(x => x.Y));
        // Every epoch is a permutation of all the samples.
        Assert.Equal(Enumerable.Range(0, 50).Select(i => 7L * i), a0.SelectMany(x => x.Y).Order());
        Assert.Equal(Enumerable.Range(0, 50).Select(i => 7L * i), a1.SelectMany(x => x.Y).Order());
        var resumed = Make(3);
        resumed.Epoch = 1;
        Assert.Equal(Keys(a1), Keys(Epoch(resumed)));
        Assert.NotEqual(a0.Select(x => x.Y), Epoch(new DataLoader(Rows(50), 8, shuffle: true, seed: 43)).Select(x => x.Y));
        Assert.Equal(a.Order(5), Make(1).Order(5));
    }

    [Fact]
    public void WithoutShuffleTransformsStillDifferPerEpoch()
    {
        var loader = new DataLoader(Rows(20), 20, seed: 1, transform: new RandomCrop(2, 2, 1));
        var e0 = Epoch(loader);
        var e1 = Epoch(loader);
        Assert.Equal(e0[0].Y, e1[0].Y);
        Assert.NotEqual(e0[0].X, e1[0].X);
    }

    [Fact]
    public void SampleDatasetsBatchIntoFloatFeaturesAndLongLabels()
    {
        var loader = new DataLoader(new CountingSamples(5), 2);
        var batches = Epoch(loader);
        Assert.Equal(3, batches.Count);
        Assert.Equal([0f, 1, 2, 3, 4, 5, 10, 11, 12, 13, 14, 15], batches[0].X);
        Assert.Equal([40f, 41, 42, 43, 44, 45], batches[2].X);
        Assert.Equal([0L, 1, 2, 3, 0], batches.SelectMany(b => b.Y));
    }

    [Theory]
    [InlineData(0)]
    [InlineData(2)]
    public void AWorkerExceptionReachesTheConsumerWithTheOriginalInside(int prefetch)
    {
        var loader = new DataLoader(new CountingSamples(10, throwAt: 5), 2, prefetch: prefetch);
        using var e = loader.GetEnumerator(TestContext.Current.CancellationToken);
        Assert.True(e.MoveNext());
        Assert.True(e.MoveNext());
        e.Current.Dispose();
        var thrown = Assert.Throws<InvalidOperationException>(() => e.MoveNext());
        Assert.Same(CountingSamples.Failure, thrown.InnerException);
        Assert.Contains("batch 2", thrown.Message);
        Assert.Contains("sample 5", thrown.Message);
        Assert.False(e.MoveNext());
    }

    [Fact]
    public void EarlyBreakStopsTheWorker()
    {
        var data = new CountingSamples(1000, delayMs: 1);
        foreach (var batch in new DataLoader(data, 1, prefetch: 2))
        {
            batch.Dispose();
            if (batch.Labels.Shape[0] == 1) break;
        }
        int afterBreak = data.Reads;
        // At most: sample 0 read once by the constructor (the shape), the batch taken, the two prefetched, and the one the
        // worker holds while it waits for room (how far it got before the break is timing).
        Assert.True(afterBreak <= 1 + 1 + 2 + 1, $"{afterBreak} samples read for one batch with prefetch 2");
        Thread.Sleep(50);
        Assert.Equal(afterBreak, data.Reads); // the worker stopped when the enumerator was disposed
    }

    [Fact]
    public void CancellationStopsTheEnumerationAndTheWorker()
    {
        var data = new CountingSamples(1000, delayMs: 1);
        using var cts = new CancellationTokenSource();
        var loader = new DataLoader(data, 4, prefetch: 3);
        int seen = 0;
        Assert.ThrowsAny<OperationCanceledException>(() =>
        {
            foreach (var (x, y) in loader.WithCancellation(cts.Token))
            {
                x.Dispose();
                y.Dispose();
                if (++seen == 2) cts.Cancel();
            }
        });
        Assert.Equal(2, seen);
        int after = data.Reads;
        Thread.Sleep(50);
        Assert.Equal(after, data.Reads);
        Assert.True(after < 4 * (2 + 3 + 2), $"{after} samples read");
        // A token cancelled while the consumer waits for a slow worker interrupts the wait.
        // and the worker stops between two samples (the first batch alone would take 10 s).
        var slowLoader = new DataLoader(new CountingSamples(100, delayMs: 200), 50);
        using var soon = new CancellationTokenSource();
        var clock = System.Diagnostics.Stopwatch.StartNew();
        using (var e = slowLoader.GetEnumerator(soon.Token))
        {
            soon.CancelAfter(100);
            Assert.ThrowsAny<OperationCanceledException>(() => e.MoveNext());
            Assert.True(clock.ElapsedMilliseconds >= 90, $"MoveNext returned after {clock.ElapsedMilliseconds} ms, before the cancel");
        }
        Assert.True(clock.ElapsedMilliseconds < 3000, $"cancelled and disposed after {clock.ElapsedMilliseconds} ms");
    }

    [Fact]
    public void ArgumentsAreChecked()
    {
        var rows = Rows(4);
        Assert.Equal("batchSize", Assert.Throws<ArgumentOutOfRangeException>(() => new DataLoader(rows, 0)).ParamName);
        Assert.Equal("prefetch", Assert.Throws<ArgumentOutOfRangeException>(() => new DataLoader(rows, 1, prefetch: -1)).ParamName);
        Assert.Throws<ArgumentOutOfRangeException>(() => new DataLoader(rows, 1).Epoch = -1);
        using var ints = Tensor.Zeros([4, 2, 2], DType.Int32);
        using var labels = Tensor.Zeros([4], DType.Int64);
        var e = Assert.Throws<ArgumentException>(() => new DataLoader(new TensorDataset(ints, labels), 2, transform: new Resize(3, 3)));
        Assert.Contains("int32", e.Message);
        var crop = new RandomCrop(5);
        Assert.Contains("RandomCrop", Assert.Throws<ArgumentException>(() => new DataLoader(rows, 2, transform: crop)).Message);
        using var three = Tensor.Zeros(3, 2);
        Assert.Contains("first dims", Assert.Throws<ArgumentException>(() => new TensorDataset(three, labels)).Message);
        Assert.Throws<ArgumentOutOfRangeException>(() => rows[4]);
    }

    [Fact]
    public void TensorDatasetKeepsDTypesAndShapes()
    {
        using var x = Tensor.FromArray(new double[] { 1, 2, 3, 4, 5, 6 }, [3, 2]);
        using var y = Tensor.FromArray(new float[] { 0.5f, 1.5f, 2.5f, 3.5f, 4.5f, 5.5f }, [3, 2]);
        var set = new TensorDataset(x, y);
        Assert.Equal(3, set.Count);
        Assert.Equal([2], set.FeatureShape);
        Assert.Equal([2], set.LabelShape);
        var (f, l) = set[1];
        Assert.Equal([3.0, 4.0], f.ToArray<double>());
        Assert.Equal([2.5f, 3.5f], l.ToArray<float>());
        var batches = new DataLoader(set, 2).ToList();
        Assert.Equal(DType.Float64, batches[0].Features.DType);
        Assert.Equal([2, 2], batches[0].Labels.Shape);
        Assert.Equal([5.0, 6.0], batches[1].Features.ToArray<double>());
        foreach (var b in batches) b.Dispose();
    }

    [Fact]
    public void SamplesOfAnotherShapeAreRefused()
    {
        var bad = new Odd();
        using var e = new DataLoader(bad, 2).GetEnumerator(TestContext.Current.CancellationToken);
        var thrown = Assert.Throws<InvalidOperationException>(() => e.MoveNext());
        Assert.Contains("sample 1 has shape [3]", thrown.InnerException!.Message);
        Assert.Equal("shape", Assert.Throws<ArgumentException>(() => new Sample([1f, 2f], [3], 0)).ParamName);
    }

    private sealed class Odd : Dataset<Sample>
    {
        public override int Count => 2;
        public override Sample this[int index] => index == 0 ? new([1f, 2f], [2], 0) : new([1f, 2f, 3f], [3], 1);
    }
}
