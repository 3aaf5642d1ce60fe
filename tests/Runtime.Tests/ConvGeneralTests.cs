namespace DeepSharp.Tests;

/// <summary>
/// <see cref="Functional.Conv2d(Tensor, Tensor, Tensor?, ValueTuple{int, int}, ValueTuple{int, int}, ValueTuple{int, int}?, int)"/>
/// with rectangular kernels, strides and paddings, dilation and groups (depthwise included) and the 1×1 product, forward
/// and the gradients of x, weight and bias, against a direct double-precision convolution on every device. The sizes
/// reach every path: the whole batch as one product (small images), image by image (≥ 128 output pixels), the CPU's
/// index tables and its row copies (shifted planes at stride 1, strided rows), the grouped product and the 1×1 product.
/// </summary>
public class ConvGeneralTests
{
    /// <summary>One convolution: input [N, C, H, W], O filters, kernel, stride, padding, dilation (height, width), groups.</summary>
    public sealed record Geometry(int N, int C, int H, int W, int O, (int H, int W) K, (int H, int W) S, (int H, int W) P,
        (int H, int W) D, int Groups, bool Bias)
    {
        public int OH => (H + 2 * P.H - D.H * (K.H - 1) - 1) / S.H + 1;
        public int OW => (W + 2 * P.W - D.W * (K.W - 1) - 1) / S.W + 1;
        public override string ToString() =>
            $"[{N},{C},{H},{W}]→{O} k{K} s{S} p{P} d{D} g{Groups}{(Bias ? " bias" : "")}";
    }

    public static readonly Dictionary<string, Geometry> Geometries = new()
    {
        ["rect"] = new(2, 3, 7, 6, 4, (2, 3), (1, 2), (1, 0), (1, 1), 1, true),
        ["dilated"] = new(2, 2, 7, 8, 3, (3, 3), (1, 1), (1, 1), (2, 2), 1, true),
        ["dilated_rect_stride"] = new(2, 2, 9, 7, 3, (3, 2), (2, 1), (2, 0), (2, 3), 1, false),
        ["groups"] = new(2, 4, 6, 5, 6, (3, 3), (2, 2), (1, 1), (1, 1), 2, true),
        ["groups_no_bias"] = new(2, 6, 5, 5, 3, (2, 2), (1, 1), (0, 1), (1, 1), 3, false),
        ["depthwise"] = new(2, 5, 6, 6, 5, (3, 3), (1, 1), (1, 1), (2, 1), 5, true),
        ["depthwise_multiplier"] = new(2, 3, 5, 4, 6, (3, 1), (1, 1), (1, 0), (1, 1), 3, true),
        ["1x1"] = new(2, 5, 4, 3, 3, (1, 1), (1, 1), (0, 0), (1, 1), 1, true),
        ["1x1_no_bias"] = new(3, 2, 3, 5, 4, (1, 1), (1, 1), (0, 0), (3, 2), 1, false),
        ["1x1_stride"] = new(2, 3, 5, 5, 2, (1, 1), (2, 2), (0, 0), (1, 1), 1, true),
        ["1x1_padded"] = new(1, 2, 3, 3, 2, (1, 1), (1, 1), (1, 0), (1, 1), 1, true),
        ["1x1_groups"] = new(2, 4, 3, 3, 2, (1, 1), (1, 1), (0, 0), (1, 1), 2, true),
        ["large_shifted"] = new(2, 2, 40, 36, 3, (3, 3), (1, 1), (2, 1), (2, 1), 1, true),
        ["large_strided"] = new(2, 2, 40, 36, 3, (3, 2), (2, 3), (1, 1), (1, 2), 1, true),
        ["large_groups"] = new(2, 4, 16, 12, 4, (3, 3), (1, 1), (1, 1), (1, 1), 2, true),
        // At least 64 output pixels per image: the CPU's image-by-image fused op (the 1×1 one without windows; more images
        // than its 16 chunks of partial sums; one image).
        ["image_1x1"] = new(3, 4, 9, 8, 5, (1, 1), (1, 1), (0, 0), (1, 1), 1, true),
        ["image_19_images"] = new(19, 2, 9, 9, 3, (3, 3), (1, 1), (1, 1), (1, 1), 1, true),
        ["image_dilated_no_bias"] = new(2, 3, 12, 11, 4, (3, 2), (1, 1), (2, 1), (2, 2), 1, false),
        ["image_single"] = new(1, 1, 10, 10, 2, (5, 5), (1, 1), (2, 2), (1, 1), 1, true),
        // Few taps (C·kH·kW ≤ 25) at stride 1: the CPU's direct convolution (channels not a multiple of its blocks of 6 and 2,
        // taps not a multiple of 4, rectangular padding, more images than chunks).
        ["direct_first_layer"] = new(37, 1, 28, 28, 7, (5, 5), (1, 1), (2, 2), (1, 1), 1, true),
        ["direct_rect_pad"] = new(3, 2, 9, 13, 13, (3, 3), (1, 1), (1, 3), (1, 1), 1, true),
        // 3×3 at stride 1 with at least 64 channels in and out: the CPU's Winograd convolution (odd output sizes, paddings
        // 0 to 2, tiny images grouped many to a product in two groups).
        ["winograd_odd"] = new(25, 64, 9, 7, 65, (3, 3), (1, 1), (1, 1), (1, 1), 1, true),
        ["winograd_pads"] = new(11, 66, 8, 10, 64, (3, 3), (1, 1), (0, 2), (1, 1), 1, false),
        ["winograd_tiny"] = new(130, 64, 4, 4, 64, (3, 3), (1, 1), (1, 1), (1, 1), 1, true),
        ["winograd_wide"] = new(4, 64, 6, 31, 70, (3, 3), (1, 1), (2, 1), (1, 1), 1, true),
        // Fewer than 64 4×4 blocks but 64 2×2 blocks: F(2×2, 3×3) (ResNet's last stage at batch 32), in two groups.
        ["winograd2_small"] = new(33, 64, 4, 4, 64, (3, 3), (1, 1), (1, 1), (1, 1), 1, true),
        ["winograd2_odd"] = new(12, 64, 3, 5, 65, (3, 3), (1, 1), (1, 1), (1, 1), 1, false),
    };

    public static TheoryData<string, string> Cases()
    {
        var d = new TheoryData<string, string>();
        // The winograd_* rows are the CPU backend's Winograd path (large batches of tiles); elsewhere they are plain
        // convolutions that the other rows already cover, at a cost the simulator would take minutes over.
        foreach (var dev in TestDevices.Names)
            foreach (var name in Geometries.Keys)
                if (dev == "cpu" || !name.StartsWith("winograd", StringComparison.Ordinal)) d.Add(dev, name);
        return d;
    }

    [Theory, MemberData(nameof(Cases))]
    public void MatchesTheDirectConvolutionBothWays(string device, string name) => Check(device, name);

    /// <summary>Forward and the three gradients of geometry <paramref name="name"/> on the device against the reference.</summary>
    internal static void Check(string device, string name)
    {
        var d = TestDevices.Use(device);
        var c = Geometries[name];
        int cg = c.C / c.Groups;
        var xs = Ref.Random(c.N * c.C * c.H * c.W, 1); var ws = Ref.Random(c.O * cg * c.K.H * c.K.W, 2);
        var bs = Ref.Random(c.O, 3); var gs = Ref.Random(c.N * c.O * c.OH * c.OW, 4);
        var (y, dx, dw, db) = Reference(c, xs, ws, bs, gs);

        var x = Tensor.FromArray(xs, [c.N, c.C, c.H, c.W], d).RequiresGradient();
        var w = Tensor.FromArray(ws, [c.O, cg, c.K.H, c.K.W], d).RequiresGradient();
        var b = c.Bias ? Tensor.FromArray(bs, [c.O], d).RequiresGradient() : null;
        var got = Functional.Conv2d(x, w, b, c.S, c.P, c.D, c.Groups);
        Assert.Equal(new[] { c.N, c.O, c.OH, c.OW }, got.Shape);
        string what = $"{name} {c} on {device}";
        // Winograd's transforms round at the scale of the whole output (F(4×4, 3×3)'s 8·m3 term): an output that cancels to
        // near zero keeps an error of ~1e-6 of the largest, so those rows compare against that scale.
        bool winograd = name.StartsWith("winograd", StringComparison.Ordinal);
        void Check(double[] e, Tensor t, string label)
        {
            if (winograd) Ref.CloseAtScale(e, t.ToArray<float>(), 1e-5, label + what);
            else Ref.Close(e, t.ToArray<float>(), 1e-4, label + what);
        }
        Check(y, got, "y ");
        got.Backward(Tensor.FromArray(gs, got.Shape, d));
        Check(dx, x.Grad!, "dx ");
        Check(dw, w.Grad!, "dw ");
        if (b is not null) Check(db, b.Grad!, "db ");
    }

    /// <summary>An empty batch goes through every path (direct, image groups, batch columns; Winograd needs 64 tiles): the
    /// output has the right shape and the weight's and bias's gradients are zero.</summary>
    [Theory, MemberData(nameof(TestDevices.All), MemberType = typeof(TestDevices))]
    public void AnEmptyBatchHasZeroGradients(string device)
    {
        var d = TestDevices.Use(device);
        foreach (var (c, k, hw, o) in new[] { (64, 3, 8, 64), (16, 3, 8, 16), (1, 5, 28, 6), (6, 5, 14, 16), (3, 3, 4, 5) })
        {
            var x = Tensor.Zeros([0, c, hw, hw], device: d).RequiresGradient();
            var w = Tensor.Ones([o, c, k, k], device: d).RequiresGradient();
            var b = Tensor.Ones([o], device: d).RequiresGradient();
            var y = Functional.Conv2d(x, w, b, 1, k / 2);
            Assert.Equal(new[] { 0, o, hw, hw }, y.Shape);
            y.Sum().Backward();
            Assert.All(w.Grad!.ToArray<float>(), v => Assert.Equal(0f, v));
            Assert.All(b.Grad!.ToArray<float>(), v => Assert.Equal(0f, v));
        }
    }

    /// <summary>No input channels (the output is the bias) or no filters (an empty output), with outputs large enough for
    /// the CPU's image-by-image paths (direct, columns): forward and backward, against the double reference.</summary>
    [Theory, MemberData(nameof(TestDevices.All), MemberType = typeof(TestDevices))]
    public void NoChannelsOrNoFiltersMatchTheReference(string device)
    {
        var d = TestDevices.Use(device);
        foreach (var c in new Geometry[]
        {
            new(2, 0, 10, 10, 3, (3, 3), (1, 1), (0, 0), (1, 1), 1, true),
            new(3, 0, 12, 12, 70, (3, 3), (1, 1), (1, 1), (1, 1), 1, true),
            new(2, 1, 10, 10, 0, (3, 3), (1, 1), (1, 1), (1, 1), 1, true),
            new(2, 64, 10, 10, 0, (3, 3), (1, 1), (1, 1), (1, 1), 1, true),
        })
        {
            var xs = Ref.Random(c.N * c.C * c.H * c.W, 1); var ws = Ref.Random(c.O * c.C * c.K.H * c.K.W, 2);
            var bs = Ref.Random(c.O, 3); var gs = Ref.Random(c.N * c.O * c.OH * c.OW, 4);
            var (y, dx, dw, db) = Reference(c, xs, ws, bs, gs);
            var x = Tensor.FromArray(xs, [c.N, c.C, c.H, c.W], d).RequiresGradient();
            var w = Tensor.FromArray(ws, [c.O, c.C, c.K.H, c.K.W], d).RequiresGradient();
            var b = Tensor.FromArray(bs, [c.O], d).RequiresGradient();
            var got = Functional.Conv2d(x, w, b, c.S, c.P, c.D, 1);
            string what = $"{c} on {device}";
            Ref.Close(y, got.ToArray<float>(), 1e-4, "y " + what);
            got.Backward(Tensor.FromArray(gs, got.Shape, d));
            Ref.Close(dx, x.Grad!.ToArray<float>(), 1e-4, "dx " + what);
            Ref.Close(dw, w.Grad!.ToArray<float>(), 1e-4, "dw " + what);
            Ref.Close(db, b.Grad!.ToArray<float>(), 1e-4, "db " + what);
        }
    }

    /// <summary>The direct convolution in double, and for upstream gradient g the gradients of x, weight and bias.</summary>
    public static (double[] Y, double[] Dx, double[] Dw, double[] Db) Reference(Geometry c, float[] x, float[] w, float[] b, float[] g)
    {
        int cg = c.C / c.Groups, og = c.O / c.Groups, oh = c.OH, ow = c.OW;
        var y = new double[c.N * c.O * oh * ow];
        var dx = new double[x.Length]; var dw = new double[w.Length]; var db = new double[c.O];
        for (int n = 0; n < c.N; n++) for (int o = 0; o < c.O; o++) for (int r = 0; r < oh; r++) for (int q = 0; q < ow; q++)
        {
            int yi = ((n * c.O + o) * oh + r) * ow + q;
            double acc = c.Bias ? b[o] : 0;
            db[o] += g[yi];
            for (int cl = 0; cl < cg; cl++) for (int i = 0; i < c.K.H; i++) for (int j = 0; j < c.K.W; j++)
            {
                int h = r * c.S.H - c.P.H + i * c.D.H, v = q * c.S.W - c.P.W + j * c.D.W;
                if (h < 0 || h >= c.H || v < 0 || v >= c.W) continue;
                int xi = ((n * c.C + o / og * cg + cl) * c.H + h) * c.W + v, wi = ((o * cg + cl) * c.K.H + i) * c.K.W + j;
                acc += (double)x[xi] * w[wi];
                dx[xi] += (double)g[yi] * w[wi];
                dw[wi] += (double)g[yi] * x[xi];
            }
            y[yi] = acc;
        }
        return (y, dx, dw, db);
    }

    [Theory, MemberData(nameof(TestDevices.All), MemberType = typeof(TestDevices))]
    public void ErrorsNameTheArgument(string device)
    {
        var d = TestDevices.Use(device);
        var x = Tensor.Rand([1, 6, 5, 5], device: d);
        var e = Assert.Throws<ArgumentException>(() => Functional.Conv2d(x, Tensor.Rand([4, 2, 3, 3], device: d), null, 1, 0, 1, 4));
        Assert.Equal("x", e.ParamName); // 4 groups of 2 channels need 8 input channels
        Assert.Contains("[batch, 8, height, width]", e.Message);
        e = Assert.Throws<ArgumentException>(() => Functional.Conv2d(x, Tensor.Rand([4, 2, 3, 3], device: d), null, 1, 0, 1, 3));
        Assert.Equal("groups", e.ParamName); // 3 groups of 2 channels, but 4 filters
        Assert.Contains("groups 3", e.Message);
        var o = Assert.Throws<ArgumentOutOfRangeException>(() =>
            Functional.Conv2d(x, Tensor.Rand([4, 6, 3, 3], device: d), null, 1, 0, 1, 0));
        Assert.Equal("groups", o.ParamName);
        o = Assert.Throws<ArgumentOutOfRangeException>(() => Functional.Conv2d(x, Tensor.Rand([4, 6, 3, 3], device: d), null, 1, 0, 0));
        Assert.Equal("dilation", o.ParamName);
        o = Assert.Throws<ArgumentOutOfRangeException>(() =>
            Functional.Conv2d(x, Tensor.Rand([4, 6, 3, 3], device: d), null, (1, 0), (0, 0)));
        Assert.Equal("stride", o.ParamName);
        o = Assert.Throws<ArgumentOutOfRangeException>(() =>
            Functional.Conv2d(x, Tensor.Rand([4, 6, 3, 3], device: d), null, (1, 1), (0, -1)));
        Assert.Equal("padding", o.ParamName);
        // A 3×3 kernel at dilation 3 spans 7 > 5 + 2·0: the window, its span and the dilation are named.
        e = Assert.Throws<ArgumentException>(() => Functional.Conv2d(x, Tensor.Rand([4, 6, 3, 3], device: d), null, 1, 0, 3));
        Assert.Equal("weight", e.ParamName);
        Assert.Contains("spans 7×7", e.Message);
        Assert.Contains("dilation 3", e.Message);
        Assert.Equal([1, 4, 1, 1], Functional.Conv2d(x, Tensor.Rand([4, 6, 3, 3], device: d), null, 1, 1, 3).Shape); // padded: fits
        e = Assert.Throws<ArgumentException>(() => Functional.MaxPool2d(x, (2, 6)));
        Assert.Equal("kernel", e.ParamName);
        Assert.Contains("window is 2×6", e.Message);
    }
}

/// <summary>Launch counts of the convolution paths (in the serial collection: the counters are per device and process).</summary>
[Collection("Serial")]
public class ConvLaunchTests
{
    /// <summary>A depthwise convolution of 64 channels takes as many launches, both ways, as one of 2 channels: the groups
    /// are one batched product, not a loop.</summary>
    [Theory, MemberData(nameof(TestDevices.Accelerators), MemberType = typeof(TestDevices))]
    public void GroupsDoNotMultiplyLaunches(string device)
    {
        var d = TestDevices.Use(device);
        long Launches(int channels)
        {
            var x = Tensor.Rand([2, channels, 6, 6], device: d).RequiresGradient();
            var w = Tensor.Rand([channels, 1, 3, 3], device: d).RequiresGradient();
            var b = Tensor.Rand([channels], device: d).RequiresGradient();
            long before = d.Stats.KernelLaunches;
            Functional.Conv2d(x, w, b, 1, 1, 1, groups: channels).Sum().Backward();
            return d.Stats.KernelLaunches - before;
        }
        Launches(2); // compiles and warms the caches
        long two = Launches(2), many = Launches(64);
        Assert.Equal(two, many);
        Assert.InRange(many, 3, 20);
    }

    /// <summary>A 1×1 convolution at stride 1 without padding multiplies x directly: no windows are launched (one product
    /// forward on accelerators).</summary>
    [Theory, MemberData(nameof(TestDevices.Accelerators), MemberType = typeof(TestDevices))]
    public void OneByOneSkipsTheWindows(string device)
    {
        var d = TestDevices.Use(device);
        var x = Tensor.Rand([2, 4, 5, 5], device: d);
        var w = Tensor.Rand([3, 4, 1, 1], device: d);
        var b = Tensor.Rand([3], device: d);
        Functional.Conv2d(x, w, b).Dispose();
        long before = d.Stats.KernelLaunches;
        Functional.Conv2d(x, w, b).Dispose();
        Assert.Equal(1, d.Stats.KernelLaunches - before);
    }
}
