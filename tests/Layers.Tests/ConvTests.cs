using DeepSharp.Layers;
using DeepSharp.Tests;

namespace DeepSharp.Layers.Tests;

public class ConvTests
{
    private static double[] ConvRef(float[] x, int n, int c, int h, int w, float[] wt, float[] b, int o, int k, int s, int p, out int oh,
        out int ow)
    {
        int OH = (h + 2 * p - k) / s + 1, OW = (w + 2 * p - k) / s + 1;
        var y = new double[n * o * OH * OW];
        for (int ni = 0; ni < n; ni++) for (int oi = 0; oi < o; oi++) for (int r = 0; r < OH; r++) for (int q = 0; q < OW; q++)
        {
            double acc = b[oi];
            for (int ci = 0; ci < c; ci++) for (int i = 0; i < k; i++) for (int j = 0; j < k; j++)
            {
                int hr = r * s + i - p, wq = q * s + j - p;
                if (hr >= 0 && hr < h && wq >= 0 && wq < w)
                    acc += (double)x[((ni * c + ci) * h + hr) * w + wq] * wt[((oi * c + ci) * k + i) * k + j];
            }
            y[((ni * o + oi) * OH + r) * OW + q] = acc;
        }
        (oh, ow) = (OH, OW);
        return y;
    }

    /// <summary>7×6 images (one product for the batch) and one 17×16 (272 output pixels: one product per image).</summary>
    public static TheoryData<string, int, int, int, int> ConvCases()
    {
        var d = new TheoryData<string, int, int, int, int>();
        foreach (var dev in TestDevices.Names)
            foreach (var (s, p, h, w) in new[] { (1, 0, 7, 6), (2, 1, 7, 6), (1, 2, 7, 6), (1, 1, 17, 16) }) d.Add(dev, s, p, h, w);
        return d;
    }

    [Theory, MemberData(nameof(ConvCases))]
    public void Conv2dMatchesDirectLoops(string device, int stride, int padding, int h, int w)
    {
        var dev = TestDevices.Use(device);
        var g = new Generator(5);
        var conv = new Conv2d(4, kernel: 3, stride: stride, padding: padding);
        var x = Tensor.Randn([2, 3, h, w], generator: g, device: dev);
        conv.Materialize([2, 3, h, w]);
        conv.To(dev);
        using (Autograd.NoGrad()) conv.Bias!.Data.CopyFrom(Tensor.Randn([4], generator: g, device: dev)); // a bias that shows
        var y = conv.Call(x);
        var expected = ConvRef(x.ToArray<float>(), 2, 3, h, w, conv.Weight.Data.ToArray<float>(), conv.Bias!.Data.ToArray<float>(), 4, 3,
            stride, padding, out int oh, out int ow);
        Assert.Equal(new[] { 2, 4, oh, ow }, y.Shape);
        var got = y.ToArray<float>();
        for (int i = 0; i < got.Length; i++)
            Assert.True(Math.Abs(got[i] - expected[i]) < 1e-4, $"y[{i}] = {got[i]}, expected {expected[i]}");
        Assert.Equal(new[] { 4, 3, 3, 3 }, conv.Weight.Shape); // in-channels inferred
    }

    [Fact]
    public void PoolingMatchesDirectLoops()
    {
        var x = Tensor.Arange(0, 2 * 16, 1).Reshape(1, 2, 4, 4);
        Assert.Equal(new float[] { 5, 7, 13, 15, 21, 23, 29, 31 }, new MaxPool2d(2).Call(x).ToArray<float>());
        Assert.Equal(new float[] { 2.5f, 4.5f, 10.5f, 12.5f, 18.5f, 20.5f, 26.5f, 28.5f }, new AvgPool2d(2).Call(x).ToArray<float>());
        Assert.Equal(new[] { 1, 2, 3, 3 }, new MaxPool2d(3, stride: 1, padding: 1).Call(x.Slice(2, 0, 3).Slice(3, 0, 3)).Shape);
        Assert.Contains("window", Assert.Throws<ArgumentException>(() => new MaxPool2d(5).Call(x)).Message);
    }

    /// <summary>The chapter's MyNet: two convolutions with pooling, then two dense layers.</summary>
    [Fact]
    public void MyNetRunsPrintsAndSummarizes()
    {
        var net = new Sequential(
            new Conv2d(32, kernel: 3), new Relu(), new MaxPool2d(2),
            new Conv2d(64, kernel: 3), new Relu(), new MaxPool2d(2),
            new Flatten(), new Dense(256), new Relu(), new Dense(10));
        var shapes = net.Materialize([1, 1, 16, 16]); // dry run on an empty batch infers every shape
        Assert.Contains(shapes, s => s.Path == "7.weight" && s.Shape.SequenceEqual(new[] { 256, 256 }));
        var y = net.Call(Tensor.Rand([2, 1, 16, 16]));
        Assert.Equal(new[] { 2, 10 }, y.Shape);
        Assert.Contains("(0): Conv2d(1 → 32, kernel 3, stride 1, padding 0)", net.ToString());
        Assert.Contains("(7): Dense(256 → 256)", net.ToString());
        var summary = net.Summary([1, 1, 16, 16]);
        Assert.Contains("Conv2d", summary);
        Assert.Contains("[1, 64, 2, 2]", summary);
        Assert.Contains($"total: {net.Parameters().Sum(p => p.Data.Count):N0} parameters", summary);
    }

    [Fact]
    public void SummaryCountsSharedParameters()
    {
        var shared = new Dense(8, 8);
        var net = new Sequential(new Dense(8, 4), shared, new Relu(), shared);
        var summary = net.Summary([2, 4]);
        Assert.Contains("72", summary); // 64 + 8 shared parameters, on each use of the shared layer
    }
}
