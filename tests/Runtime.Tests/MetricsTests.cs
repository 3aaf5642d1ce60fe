using DeepSharp;

namespace DeepSharp.Tests;

/// <summary>
/// <see cref="Metrics"/>: accuracy and top-k accuracy against a plain C# stable sort (largest first, NaN above every
/// number, ties by lower index), the confusion matrix against counting loops, perplexity against Math.Exp; and the
/// argument checks, on every device.
/// </summary>
public class MetricsTests
{
    /// <summary>Logits with many ties (few distinct values), a NaN, ±∞ and a row of equal values.</summary>
    private static (float[] Logits, long[] Labels) Data(int n, int c, int seed)
    {
        var r = new Random(seed);
        var x = Enumerable.Range(0, n * c).Select(_ => (float)r.Next(-2, 3)).ToArray();
        x[1] = float.NaN; x[c + 2] = float.NaN; x[c] = float.NaN; // row 1: two NaNs, one of them (possibly) the label
        x[2 * c] = float.PositiveInfinity; x[2 * c + 1] = float.NegativeInfinity;
        for (int j = 0; j < c; j++) x[3 * c + j] = 0.5f; // row 3: all tied
        var labels = Enumerable.Range(0, n).Select(_ => (long)r.Next(c)).ToArray();
        labels[1] = 2; labels[3] = c - 1;
        return (x, labels);
    }

    /// <summary>The reference: the classes of row i in the order a stable descending sort puts them (NaN first).</summary>
    private static int[] Ranked(float[] x, int c, int row) =>
        Enumerable.Range(0, c).OrderByDescending(j => x[row * c + j], Comparer<float>.Create((a, b) =>
            float.IsNaN(a) ? (float.IsNaN(b) ? 0 : 1) : float.IsNaN(b) ? -1 : a.CompareTo(b))).ToArray();

    private static double[] Hits(float[] x, long[] labels, int c, int k) =>
        labels.Select((t, i) => Ranked(x, c, i).Take(k).Contains((int)t) ? 1.0 : 0.0).ToArray();

    [Theory, MemberData(nameof(TestDevices.All), MemberType = typeof(TestDevices))]
    public void AccuracyMatchesAStableSortForEveryK(string device)
    {
        var d = TestDevices.Use(device);
        const int n = 40, c = 7;
        var (x, labels) = Data(n, c, 3);
        var logits = Tensor.FromArray(x, [n, c], d);
        foreach (var dtype in new[] { DType.Int64, DType.Int32 })
        {
            var y = Tensor.FromArray(labels, [n], d).To(dtype);
            for (int k = 1; k <= c; k++)
            {
                var hits = Hits(x, labels, c, k);
                var none = Metrics.Accuracy(logits, y, k, Reduction.None);
                Assert.Equal([n], none.Shape);
                Assert.Equal(hits.Select(h => (float)h).ToArray(), none.ToArray<float>());
                Assert.Equal((float)hits.Sum(), Metrics.Accuracy(logits, y, k, Reduction.Sum).Item());
                var mean = Metrics.Accuracy(logits, y, topK: k);
                Assert.Empty(mean.Shape);
                Assert.Equal(hits.Average(), mean.Item(), 6);
            }
            Assert.Equal(1f, Metrics.Accuracy(logits, y, topK: c).Item()); // every label is among all C classes
        }
        // Top-1 is arg-max accuracy, ties and NaN included; the tied row's label (the last class) is not the first maximum.
        var top1 = Metrics.Accuracy(logits, Tensor.FromArray(labels, [n], d), reduction: Reduction.None).ToArray<float>();
        var argmax = logits.ArgMax(1).ToArray<long>();
        Assert.Equal(labels.Select((t, i) => argmax[i] == t ? 1f : 0f).ToArray(), top1);
        Assert.Equal(0f, top1[3]);
    }

    [Theory, MemberData(nameof(TestDevices.All), MemberType = typeof(TestDevices))]
    public void TopKTiesGoToTheLowerClassIndex(string device)
    {
        var d = TestDevices.Use(device);
        // Row 0: classes 1, 2, 3 tie for first; row 1: a NaN (class 3) ranks above 9; row 2: the label's own logit is NaN.
        var logits = Tensor.FromArray(new float[] { 0, 5, 5, 5, 9, 1, 2, float.NaN, float.NaN, 1, float.NaN, 0 }, [3, 4], d);
        float[] At(long[] t, int k) => Metrics.Accuracy(logits, Tensor.FromArray(t, [3], d), k, Reduction.None).ToArray<float>();
        Assert.Equal(new float[] { 1, 1, 1 }, At([2, 0, 0], 2)); // 2 follows 1; 9 follows the NaN; the first NaN leads
        Assert.Equal(new float[] { 0, 1, 1 }, At([3, 3, 2], 2)); // 3 is third of the tie; the NaN leads; the second NaN is second
        Assert.Equal(new float[] { 0, 0, 0 }, At([3, 1, 1], 2));
        Assert.Equal(new float[] { 1, 0, 1 }, At([3, 1, 1], 3)); // 1 < 2 < 9 < NaN: fourth in row 1
        Assert.Equal(new float[] { 0, 0, 0 }, At([3, 0, 2], 1));
    }

    [Theory, MemberData(nameof(TestDevices.All), MemberType = typeof(TestDevices))]
    public void ConfusionMatrixCountsTrueRowsAgainstPredictedColumns(string device)
    {
        var d = TestDevices.Use(device);
        const int n = 50, c = 5;
        var (x, labels) = Data(n, c, 11);
        var argmax = Enumerable.Range(0, n).Select(i => Ranked(x, c, i)[0]).ToArray();
        var expected = new long[c * c];
        for (int i = 0; i < n; i++) expected[labels[i] * c + argmax[i]]++;
        var y = Tensor.FromArray(labels, [n], d);
        var fromLogits = Metrics.ConfusionMatrix(Tensor.FromArray(x, [n, c], d), y);
        Assert.Equal([c, c], fromLogits.Shape);
        Assert.Equal(DType.Int64, fromLogits.DType);
        Assert.Equal(expected, fromLogits.ToArray<long>());
        // Class indices (int32 and int64), and a view: the labels as a strided slice of a longer tensor.
        var pred = Tensor.FromArray(argmax.Select(v => (long)v).ToArray(), [n], d);
        Assert.Equal(expected, Metrics.ConfusionMatrix(pred.To(DType.Int32), y, classes: c).ToArray<long>());
        Assert.Equal(expected, Metrics.ConfusionMatrix(pred, y.To(DType.Int32), classes: c).ToArray<long>());
        var wide = Tensor.FromArray(labels.SelectMany(v => new[] { v, 0L }).ToArray(), [n, 2], d);
        Assert.Equal(expected, Metrics.ConfusionMatrix(pred, wide.Select(1, 0), c).ToArray<long>());
        // The diagonal is the per-class count of correct rows.
        long correct = Enumerable.Range(0, c).Sum(k => expected[k * c + k]);
        Assert.Equal(correct, (long)Metrics.Accuracy(Tensor.FromArray(x, [n, c], d), y, reduction: Reduction.Sum).Item());
        Assert.Equal(new long[4], Metrics.ConfusionMatrix(Tensor.Zeros([0, 2], DType.Float32, d), Tensor.Zeros([0], DType.Int64, d))
            .ToArray<long>());
    }

    [Theory, MemberData(nameof(TestDevices.All), MemberType = typeof(TestDevices))]
    public void PerplexityIsTheExponentialOfTheMeanCrossEntropy(string device)
    {
        var d = TestDevices.Use(device);
        const int n = 6, v = 4;
        var x = Ref.Random(n * v, 5, -3, 3);
        long[] t = [0, 3, 1, 2, 2, 0];
        double h = 0;
        for (int i = 0; i < n; i++)
        {
            var row = x.AsSpan(i * v, v).ToArray();
            double m = row.Max(), lse = m + Math.Log(row.Sum(e => Math.Exp(e - m)));
            h += (lse - row[t[i]]) / n;
        }
        var logits = Tensor.FromArray(x, [n, v], d).RequiresGradient();
        var labels = Tensor.FromArray(t, [n], d);
        var tol = TestDevices.Tol(d, 1e-5);
        Ref.Close([Math.Exp(h)], [Metrics.Perplexity(logits, labels).Item()], tol, "perplexity(logits, labels)");
        var fromLoss = Metrics.Perplexity(Functional.CrossEntropy(logits, labels));
        Assert.Null(fromLoss.GradFn); // a metric, never recorded
        Ref.Close([Math.Exp(h)], [fromLoss.Item()], tol, "perplexity(loss)");
        Ref.Close([1, Math.E, Math.Exp(2.5)], Metrics.Perplexity(Tensor.FromArray(new[] { 0f, 1f, 2.5f }, [3], d)).ToArray<float>(), tol);
        Assert.Equal(Math.Exp(1.25), Metrics.Perplexity(1.25));
        Assert.True(double.IsNaN(Metrics.Perplexity(double.NaN)));
        var e = Assert.Throws<ArgumentOutOfRangeException>(() => Metrics.Perplexity(-0.5));
        Assert.Equal("meanCrossEntropy", e.ParamName);
        Assert.Contains("-0.5", e.Message);
    }

    [Theory, MemberData(nameof(TestDevices.All), MemberType = typeof(TestDevices))]
    public void BadArgumentsAreNamedWithTheirValues(string device)
    {
        var d = TestDevices.Use(device);
        var logits = Tensor.Zeros([3, 4], DType.Float32, d);
        var labels = Tensor.FromArray(new long[] { 0, 1, 2 }, [3], d);
        var e = Assert.Throws<ArgumentOutOfRangeException>(() =>
            Metrics.Accuracy(logits, Tensor.FromArray(new long[] { 0, 4, 1 }, [3], d)));
        Assert.Equal("labels", e.ParamName);
        Assert.Contains("labels[1] = 4", e.Message);
        Assert.Contains("[0, 4)", e.Message);
        e = Assert.Throws<ArgumentOutOfRangeException>(() => Metrics.Accuracy(logits, Tensor.FromArray(new[] { 0, 1, -1 }, [3], d)));
        Assert.Contains("labels[2] = -1", e.Message);
        foreach (int k in new[] { 0, 5 })
        {
            e = Assert.Throws<ArgumentOutOfRangeException>(() => Metrics.Accuracy(logits, labels, topK: k));
            Assert.Equal("topK", e.ParamName);
            Assert.Contains($"got {k}", e.Message);
        }
        Assert.Throws<ArgumentOutOfRangeException>(() => Metrics.Accuracy(logits, labels, reduction: (Reduction)7));
        var a = Assert.Throws<ArgumentException>(() => Metrics.Accuracy(Tensor.Zeros([3], DType.Float32, d), labels));
        Assert.Equal("logits", a.ParamName);
        Assert.Contains("[N, C]", a.Message);
        a = Assert.Throws<ArgumentException>(() => Metrics.Accuracy(logits, Tensor.FromArray(new long[] { 0, 1 }, [2], d)));
        Assert.Contains("[N] = [3], got [2]", a.Message);
        a = Assert.Throws<ArgumentException>(() => Metrics.Accuracy(logits, labels.To(DType.Float32)));
        Assert.Contains("int32 or int64", a.Message);
        Assert.Throws<NotSupportedException>(() => Metrics.Accuracy(Tensor.Zeros([3, 2], DType.Int32, d), labels));
        Assert.Equal(Metrics.Accuracy(logits, labels).Item<float>(), Metrics.Accuracy(logits.To(DType.Float64), labels).Item<float>());
        Assert.Throws<ArgumentNullException>(() => Metrics.Accuracy(null!, labels));
        Assert.Throws<ArgumentNullException>(() => Metrics.ConfusionMatrix(logits, null!));
        // Confusion matrix: classes missing or disagreeing, a prediction out of range.
        a = Assert.Throws<ArgumentException>(() => Metrics.ConfusionMatrix(labels, labels));
        Assert.Equal("classes", a.ParamName);
        a = Assert.Throws<ArgumentException>(() => Metrics.ConfusionMatrix(logits, labels, classes: 5));
        Assert.Contains("classes is 5 but the logits have 4 columns", a.Message);
        e = Assert.Throws<ArgumentOutOfRangeException>(() => Metrics.ConfusionMatrix(labels, labels, classes: 2));
        Assert.Equal("predictions", e.ParamName);
        Assert.Contains("predictions[2] = 2", e.Message);
        e = Assert.Throws<ArgumentOutOfRangeException>(() => Metrics.ConfusionMatrix(labels, labels, classes: 0));
        Assert.Equal("classes", e.ParamName);
        a = Assert.Throws<ArgumentException>(() => Metrics.ConfusionMatrix(Tensor.Zeros([3, 4], DType.Int64, d), labels, 4));
        Assert.Contains("logits [N, C] (float32) or classes [N]", a.Message);
        e = Assert.Throws<ArgumentOutOfRangeException>(() => Metrics.Perplexity(logits, Tensor.FromArray(new long[] { 9, 0, 0 }, [3], d)));
        Assert.Contains("labels[0] = 9", e.Message);
    }

    [Fact]
    public void MixedDevicesAreRefused()
    {
        var sim = TestDevices.Use("ilgpu-cpu");
        var logits = Tensor.Zeros([2, 3], DType.Float32, sim);
        var labels = Tensor.FromArray(new long[] { 0, 1 }, [2], Device.Cpu);
        var e = Assert.Throws<DeviceMismatchException>(() => Metrics.Accuracy(logits, labels));
        Assert.Contains("labels", e.Message);
        Assert.Contains("ilgpu-cpu", e.Message);
        Assert.Throws<DeviceMismatchException>(() => Metrics.ConfusionMatrix(labels.To(sim), labels, classes: 3));
    }
}
