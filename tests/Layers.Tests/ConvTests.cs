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

    /// <summary>Direct convolution with (height, width) kernel, stride, padding and dilation and groups, in double.</summary>
    private static double[] GeneralRef(float[] x, int n, int c, int h, int w, float[] wt, float[] b, int o, (int H, int W) k,
        (int H, int W) s, (int H, int W) p, (int H, int W) dl, int groups, out int oh, out int ow)
    {
        int OH = (h + 2 * p.H - dl.H * (k.H - 1) - 1) / s.H + 1, OW = (w + 2 * p.W - dl.W * (k.W - 1) - 1) / s.W + 1;
        int cg = c / groups, og = o / groups;
        var y = new double[n * o * OH * OW];
        for (int ni = 0; ni < n; ni++) for (int oi = 0; oi < o; oi++) for (int r = 0; r < OH; r++) for (int q = 0; q < OW; q++)
        {
            double acc = b[oi];
            for (int cl = 0; cl < cg; cl++) for (int i = 0; i < k.H; i++) for (int j = 0; j < k.W; j++)
            {
                int hr = r * s.H + i * dl.H - p.H, wq = q * s.W + j * dl.W - p.W;
                if (hr >= 0 && hr < h && wq >= 0 && wq < w)
                    acc += (double)x[((ni * c + oi / og * cg + cl) * h + hr) * w + wq] * wt[((oi * cg + cl) * k.H + i) * k.W + j];
            }
            y[((ni * o + oi) * OH + r) * OW + q] = acc;
        }
        (oh, ow) = (OH, OW);
        return y;
    }

    [Theory, MemberData(nameof(TestDevices.All), MemberType = typeof(TestDevices))]
    public void Conv2dWithGroupsDilationAndRectangularWindows(string device)
    {
        var dev = TestDevices.Use(device);
        var g = new Generator(11);
        var conv = new Conv2d(6, (3, 2), stride: (2, 1), padding: (1, 1), dilation: (1, 2), groups: 3);
        Assert.Equal(new[] { 6, -1, 3, 2 }, conv.Weight.Shape); // in-channels from the first batch
        var x = Tensor.Randn([2, 3, 7, 8], generator: g, device: dev);
        conv.Materialize([2, 3, 7, 8]);
        conv.To(dev);
        Assert.Equal(new[] { 6, 1, 3, 2 }, conv.Weight.Shape); // [out, in / groups, kH, kW]
        using (Autograd.NoGrad()) conv.Bias!.Data.CopyFrom(Tensor.Randn([6], generator: g, device: dev));
        var y = conv.Call(x);
        var expected = GeneralRef(x.ToArray<float>(), 2, 3, 7, 8, conv.Weight.Data.ToArray<float>(), conv.Bias!.Data.ToArray<float>(), 6,
            (3, 2), (2, 1), (1, 1), (1, 2), 3, out int oh, out int ow);
        Assert.Equal(new[] { 2, 6, oh, ow }, y.Shape);
        var got = y.ToArray<float>();
        for (int i = 0; i < got.Length; i++)
            Assert.True(Math.Abs(got[i] - expected[i]) < 1e-4, $"y[{i}] = {got[i]}, expected {expected[i]} on {device}");
        Assert.Equal("Conv2d(3 → 6, kernel (3, 2), stride (2, 1), padding 1, dilation (1, 2), groups 3)", conv.ToString());
        Assert.Equal(((3, 2), (2, 1), (1, 1), (1, 2), 3), (conv.KernelSize, conv.StrideSize, conv.PaddingSize, conv.Dilation, conv.Groups));

        var dilated = new Conv2d(4, 3, 1, 2, 2, inChannels: 3); // square, dilation 2: "same" size
        Assert.Equal(new[] { 2, 4, 7, 8 }, dilated.To(dev).Call(x).Shape);
        Assert.Equal("Conv2d(3 → 4, kernel 3, stride 1, padding 2, dilation 2)", dilated.ToString());
    }

    /// <summary>PyTorch's default initialization of nn.Conv2d: Kaiming-uniform with a = √5, i.e. U(±1/√fan_in) with
    /// fan_in = in / groups · kH · kW (a depthwise 3×3 filter: fan_in 9, bound 1/3).</summary>
    [Fact]
    public void DepthwiseWeightsFollowTheGroupedFanIn()
    {
        var conv = new Conv2d(64, (3, 3), padding: (1, 1), groups: 64, inChannels: 64);
        conv.Initialize();
        var w = conv.Weight.Data.ToArray<float>();
        Assert.Equal(new[] { 64, 1, 3, 3 }, conv.Weight.Shape);
        Assert.All(w, v => Assert.InRange(Math.Abs(v), 0, 1 / 3.0 + 1e-6));
        Assert.True(w.Max(Math.Abs) > 0.3, "576 draws of U(±1/3) reach near the bound");
        Assert.Equal(new[] { 2, 64, 5, 5 }, conv.Call(Tensor.Rand([2, 64, 5, 5])).Shape);
    }

    [Fact]
    public void Conv2dChecksGroups()
    {
        Assert.Equal("groups", Assert.Throws<ArgumentException>(() => new Conv2d(6, (3, 3), groups: 4)).ParamName);
        Assert.Equal("groups", Assert.Throws<ArgumentException>(() => new Conv2d(6, (3, 3), groups: 3, inChannels: 4)).ParamName);
        Assert.Throws<ArgumentOutOfRangeException>(() => new Conv2d(6, (3, 3), groups: 0));
        Assert.Throws<ArgumentOutOfRangeException>(() => new Conv2d(6, (3, 3), dilation: (1, 0)));
        Assert.Throws<ArgumentOutOfRangeException>(() => new Conv2d(6, (3, 0)));
        var lazy = new Conv2d(6, 3, 1, 1, 1, groups: 3);
        var e = Assert.Throws<ArgumentException>(() => lazy.Call(Tensor.Rand([1, 4, 5, 5])));
        Assert.Contains("groups 3 must divide the input channels, got 4", e.Message);
        Assert.Equal("x", e.ParamName);
        Assert.Equal(new[] { 1, 6, 5, 5 }, lazy.Call(Tensor.Rand([1, 6, 5, 5])).Shape);
        Assert.Equal(new[] { 6, 2, 3, 3 }, lazy.Weight.Shape);
    }

    [Theory, MemberData(nameof(TestDevices.All), MemberType = typeof(TestDevices))]
    public void PoolingLayersTakeRectangularAndAdaptiveSizes(string device)
    {
        var d = TestDevices.Use(device);
        var x = Tensor.Arange(0, 16, 1, device: d).Reshape(1, 1, 4, 4);
        // Bins of 4 → 3: [0, 2), [1, 3), [2, 4): the max is each bin's last row and column.
        Assert.Equal(new float[] { 5, 6, 7, 9, 10, 11, 13, 14, 15 }, new AdaptiveMaxPool2d(3).Call(x).ToArray<float>());
        Assert.Equal(new float[] { 2.5f, 4.5f, 10.5f, 12.5f }, new AdaptiveAvgPool2d(2).Call(x).ToArray<float>());
        Assert.Equal(new float[] { 7.5f }, new AdaptiveAvgPool2d((1, 1)).Call(x).ToArray<float>());
        Assert.Equal(new float[] { 3.5f, 11.5f }, new AdaptiveAvgPool2d((2, 1)).Call(x).ToArray<float>());
        Assert.Equal(new float[] { 4, 5, 6, 7, 12, 13, 14, 15 }, new MaxPool2d((2, 1)).Call(x).ToArray<float>());
        // 2×2 windows at stride 2 with one row and column of padding: the corner window holds x[0, 0] alone.
        var avg = new AvgPool2d((2, 2), padding: (1, 1), countIncludePad: false).Call(x).ToArray<float>();
        Assert.Equal(new float[] { 0, 1.5f, 3, 6, 7.5f, 9, 12, 13.5f, 15 }, avg);
        Assert.Equal(0.75f, new AvgPool2d((2, 2), padding: (1, 1)).Call(x).ToArray<float>()[1]); // (1 + 2) / 4
        Assert.Equal("AdaptiveAvgPool2d(output (2, 1))", new AdaptiveAvgPool2d((2, 1)).ToString());
        Assert.Equal("AvgPool2d(kernel 2, stride 2, padding 1, countIncludePad=false)",
            new AvgPool2d((2, 2), padding: (1, 1), countIncludePad: false).ToString());
        Assert.Equal("MaxPool2d(kernel (2, 1), stride (2, 1))", new MaxPool2d((2, 1)).ToString());
        var empty = Tensor.Zeros([0, 2, 5, 5], device: d); // a dry run's batch (Materialize)
        Assert.Equal(new[] { 0, 2, 3, 3 }, new AdaptiveMaxPool2d(3).Call(empty).Shape);
        Assert.Equal(new[] { 0, 2, 2, 3 }, new AdaptiveAvgPool2d((2, 3)).Call(empty).Shape);
        Assert.Equal(new[] { 0, 4, 5, 5 }, new Conv2d(4, 3, 1, 1, 1, groups: 2).Call(empty).Shape);
        Assert.Equal("outputSize", Assert.Throws<ArgumentOutOfRangeException>(() => new AdaptiveMaxPool2d((1, 0))).ParamName);
        Assert.Equal("stride", Assert.Throws<ArgumentOutOfRangeException>(() => new MaxPool2d((2, 2), (0, 1))).ParamName);
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
