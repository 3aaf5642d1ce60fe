using DeepSharp.Data;
using DeepSharp.Tests;

namespace DeepSharp.IO.Tests;

/// <summary>The book's sequential partitioning and random sampling (Dive into Deep Learning §9.3) on the corpus 0, 1, …,
/// 34, where a token's value is its position, so every batch can be checked by hand.</summary>
public class SequenceBatchesTests
{
    private static readonly int[] Corpus = Enumerable.Range(0, 35).ToArray();

    private static List<(long[][] X, long[][] Y)> Epoch(SequenceBatches batches)
    {
        var list = new List<(long[][], long[][])>();
        foreach (var (x, y) in batches)
        {
            using (x) using (y)
            {
                Assert.Equal(DType.Int64, x.DType);
                Assert.Equal(new[] { batches.BatchSize, batches.NumSteps }, x.Shape);
                Assert.Equal(x.Shape, y.Shape);
                list.Add((Rows(x.ToArray<long>(), batches.NumSteps), Rows(y.ToArray<long>(), batches.NumSteps)));
            }
        }
        return list;
    }

    private static string Show(List<(long[][] X, long[][] Y)> epoch) =>
        string.Join(" | ", epoch.Select(b => $"{Show(b.X)} -> {Show(b.Y)}"));

    private static string Show(long[][] rows) => string.Join("; ", rows.Select(r => string.Join(",", r)));

    private static long[][] Rows(long[] flat, int n) => flat.Chunk(n).ToArray();

    /// <summary>The first epoch of <paramref name="seed"/>s 0, 1, … whose sequential offset is <paramref name="offset"/>.</summary>
    private static SequenceBatches WithOffset(int offset, SequenceSampling sampling)
    {
        for (ulong seed = 0; ; seed++)
        {
            var b = new SequenceBatches(Corpus, batchSize: 2, numSteps: 5, sampling, seed);
            if (b.Starts(0)[0].Min() % 5 == offset % 5 && (sampling == SequenceSampling.Random || b.Starts(0)[0][0] == offset))
                return b;
        }
    }

    [Fact]
    public void SequentialMatchesTheHandCheckedPartitionAtOffsetZero()
    {
        // Offset 0: 34 tokens with a next one, two rows of 17 (0..16 and 17..33), three windows of 5 along each.
        var epoch = Epoch(WithOffset(0, SequenceSampling.Sequential));
        Assert.Equal(3, epoch.Count);
        Assert.Equal([[0L, 1, 2, 3, 4], [17L, 18, 19, 20, 21]], epoch[0].X);
        Assert.Equal([[1L, 2, 3, 4, 5], [18L, 19, 20, 21, 22]], epoch[0].Y);
        Assert.Equal([[5L, 6, 7, 8, 9], [22L, 23, 24, 25, 26]], epoch[1].X);
        Assert.Equal([[10L, 11, 12, 13, 14], [27L, 28, 29, 30, 31]], epoch[2].X);
        Assert.Equal([[11L, 12, 13, 14, 15], [28L, 29, 30, 31, 32]], epoch[2].Y);
    }

    [Fact]
    public void SequentialAtTheLargestOffsetStillGivesBatches()
    {
        // Offset 5: (35 - 5 - 1) / 2 = 14 tokens a row (5..18 and 19..32), two windows.
        var epoch = Epoch(WithOffset(5, SequenceSampling.Sequential));
        Assert.Equal(2, epoch.Count);
        Assert.Equal([[5L, 6, 7, 8, 9], [19L, 20, 21, 22, 23]], epoch[0].X);
        Assert.Equal([[10L, 11, 12, 13, 14], [24L, 25, 26, 27, 28]], epoch[1].X);
        Assert.Equal([[11L, 12, 13, 14, 15], [25L, 26, 27, 28, 29]], epoch[1].Y);
    }

    [Fact]
    public void SequentialBatchesContinueEachOtherRowByRow()
    {
        var batches = new SequenceBatches(Corpus, 3, 2, seed: 11);
        for (int e = 0; e < 6; e++)
        {
            var epoch = Epoch(batches);
            Assert.Equal(batches.CountOf(e), epoch.Count);
            Assert.InRange(epoch.Count, 5, 5); // rows of (35 - offset - 1) / 3 ∈ {10, 11} tokens: five windows of 2
            for (int k = 0; k < epoch.Count; k++)
                for (int r = 0; r < 3; r++)
                {
                    Assert.Equal(epoch[k].X[r].Select(v => v + 1), epoch[k].Y[r]);
                    for (int t = 1; t < 2; t++) Assert.Equal(epoch[k].X[r][t - 1] + 1, epoch[k].X[r][t]);
                    if (k > 0) Assert.Equal(epoch[k - 1].X[r][^1] + 1, epoch[k].X[r][0]);
                }
        }
        Assert.Equal(6, batches.Epoch);
    }

    [Fact]
    public void RandomSamplingCoversDisjointSubsequencesInANewOrderEachEpoch()
    {
        var batches = new SequenceBatches(Corpus, 2, 5, SequenceSampling.Random, seed: 4);
        var orders = new HashSet<string>();
        for (int e = 0; e < 8; e++)
        {
            var epoch = Epoch(batches);
            Assert.Equal(3, epoch.Count); // (35 - offset - 1) / 5 = 6 subsequences for every offset in [0, 5)
            var rows = epoch.SelectMany(b => b.X).ToArray();
            long offset = rows.Min(r => r[0]);
            Assert.InRange(offset, 0, 4);
            Assert.Equal(Enumerable.Range(0, 6).Select(i => offset + 5 * i), rows.Select(r => r[0]).Order());
            foreach (var (x, y) in epoch)
                for (int r = 0; r < 2; r++)
                {
                    Assert.Equal(Enumerable.Range(0, 5).Select(t => x[r][0] + t), x[r]);
                    Assert.Equal(x[r].Select(v => v + 1), y[r]);
                }
            orders.Add(string.Join(",", rows.Select(r => r[0])));
        }
        Assert.True(orders.Count > 1, "every epoch drew the same order");
    }

    [Theory]
    [InlineData(SequenceSampling.Sequential)]
    [InlineData(SequenceSampling.Random)]
    public void SameSeedSameBatchesAndEpochResumes(SequenceSampling sampling)
    {
        var a = new SequenceBatches(Corpus, 2, 3, sampling, seed: 9);
        var first = Enumerable.Range(0, 4).Select(_ => Epoch(a)).ToList();
        var b = new SequenceBatches(Corpus, 2, 3, sampling, seed: 9) { Epoch = 2 };
        Assert.Equal(Show(first[2]), Show(Epoch(b)));
        Assert.Equal(Show(first[3]), Show(Epoch(b)));
        var other = new SequenceBatches(Corpus, 2, 3, sampling, seed: 10);
        Assert.NotEqual(first.Select(Show), Enumerable.Range(0, 4).Select(_ => Show(Epoch(other))));
    }

    [Fact]
    public void BadArgumentsAreRefusedWithTheirNames()
    {
        Assert.Equal("numSteps", Assert.Throws<ArgumentOutOfRangeException>(() => new SequenceBatches(Corpus, 2, 0)).ParamName);
        Assert.Equal("batchSize", Assert.Throws<ArgumentOutOfRangeException>(() => new SequenceBatches(Corpus, 0, 2)).ParamName);
        Assert.Throws<ArgumentOutOfRangeException>(() => new SequenceBatches(Corpus, 2, 2, (SequenceSampling)5));
        Assert.Throws<ArgumentNullException>(() => new SequenceBatches(null!, 2, 2));
        // Sequential needs (b + 1)·n + 1 tokens, random (b + 1)·n.
        var e = Assert.Throws<ArgumentOutOfRangeException>(() => new SequenceBatches(Corpus, 6, 5));
        Assert.Contains("35 tokens", e.Message);
        Assert.Contains("at least 36", e.Message);
        _ = new SequenceBatches(Corpus, 6, 5, SequenceSampling.Random); // exactly (6 + 1)·5 = 35
        Assert.Contains("at least 35", Assert.Throws<ArgumentOutOfRangeException>(
            () => new SequenceBatches(Corpus[..34], 6, 5, SequenceSampling.Random)).Message);
        var batches = new SequenceBatches(Corpus, 2, 2);
        Assert.Throws<ArgumentOutOfRangeException>(() => batches.Epoch = -1);
        Assert.Throws<ArgumentOutOfRangeException>(() => batches.Starts(-1));
    }

    [Fact]
    public void TheSmallestCorporaGiveOneBatchAtEveryOffset()
    {
        foreach (var sampling in new[] { SequenceSampling.Sequential, SequenceSampling.Random })
        {
            int n = sampling == SequenceSampling.Sequential ? 3 * 4 + 1 : 3 * 4;
            var batches = new SequenceBatches(Enumerable.Range(0, n).ToArray(), 2, 4, sampling);
            for (int e = 0; e < 20; e++) Assert.True(batches.CountOf(e) >= 1, $"{sampling}, epoch {e}");
        }
    }

    [Theory, MemberData(nameof(TestDevices.All), MemberType = typeof(TestDevices))]
    public void BatchesGoToTheDevice(string device)
    {
        var d = TestDevices.Use(device);
        var cpu = Epoch(new SequenceBatches(Corpus, 2, 5, seed: 3));
        var batches = new SequenceBatches(Corpus, 2, 5, seed: 3, device: d);
        foreach (var (x, y) in batches)
        {
            Assert.Equal(d, x.Device);
            Assert.Equal(d, y.Device);
            x.Dispose(); y.Dispose();
        }
        batches.Epoch = 0;
        Assert.Equal(Show(cpu), Show(Epoch(batches)));
    }
}
