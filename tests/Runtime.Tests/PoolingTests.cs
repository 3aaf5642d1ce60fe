namespace DeepSharp.Tests;

/// <summary>
/// Rectangular max and average pooling (with and without the padding in the count) and adaptive pooling over PyTorch's
/// bins (start ⌊i·H/OH⌋, end ⌈(i + 1)·H/OH⌉), forward and backward against double-precision references on every device.
/// Max pooling's inputs lie on a coarse grid, so windows hold ties: each tied element gets g / ties.
/// </summary>
public class PoolingTests
{
    private const int N = 2, C = 3;

    /// <summary>Windows as lists of (h, w) inputs per output, over x [N, C, h, w] → [N, C, oh, ow], and the count each mean
    /// divides by.</summary>
    private delegate IEnumerable<(int H, int W)> Bin(int r, int q);

    /// <summary>The max (ties splitting the gradient) or the mean (divided by <paramref name="divisor"/>) of each bin.</summary>
    private static (double[] Y, double[] Dx) Reference(float[] x, int h, int w, int oh, int ow, Bin bin, bool max,
        Func<int, int, int>? divisor, float[] g)
    {
        var y = new double[N * C * oh * ow]; var dx = new double[x.Length];
        for (int nc = 0; nc < N * C; nc++) for (int r = 0; r < oh; r++) for (int q = 0; q < ow; q++)
        {
            int o = (nc * oh + r) * ow + q;
            var cells = bin(r, q).Select(p => (nc * h + p.H) * w + p.W).ToArray();
            if (max)
            {
                double m = cells.Max(i => (double)x[i]);
                var ties = cells.Where(i => x[i] == m).ToArray();
                y[o] = m;
                foreach (int i in ties) dx[i] += (double)g[o] / ties.Length;
            }
            else
            {
                int count = divisor?.Invoke(r, q) ?? cells.Length;
                y[o] = cells.Sum(i => (double)x[i]) / count;
                foreach (int i in cells) dx[i] += (double)g[o] / count;
            }
        }
        return (y, dx);
    }

    private static void Check(Tensor x, Tensor y, double[] expectedY, double[] expectedDx, float[] g, string what)
    {
        Ref.Close(expectedY, y.ToArray<float>(), 1e-5, "y " + what);
        y.Backward(Tensor.FromArray(g, y.Shape, x.Device));
        Ref.Close(expectedDx, x.Grad!.ToArray<float>(), 1e-5, "dx " + what);
    }

    private static float[] Grid(int n, int seed) => Ref.Random(n, seed).Select(v => MathF.Round(v * 2) / 2).ToArray();

    public static TheoryData<string, int, int, int, int, int, int> WindowCases()
    {
        var d = new TheoryData<string, int, int, int, int, int, int>();
        foreach (var dev in TestDevices.Names)
            foreach (var (kh, kw, sh, sw, ph, pw) in new[]
            {
                (2, 3, 2, 1, 0, 1), (3, 2, 1, 2, 1, 0), (1, 3, 1, 3, 0, 1), (3, 3, 2, 2, 1, 1), (2, 2, 2, 2, 0, 0),
            })
                d.Add(dev, kh, kw, sh, sw, ph, pw);
        return d;
    }

    /// <summary>2×2 average pooling at stride 2 (the CPU's unrolled path) on odd heights and widths: the last row or column
    /// is in no window, so its gradient is 0.</summary>
    [Theory, MemberData(nameof(TestDevices.All), MemberType = typeof(TestDevices))]
    public void HalvingAveragePoolOnOddSizes(string device)
    {
        var d = TestDevices.Use(device);
        foreach (var (h, w) in new[] { (5, 7), (6, 5), (7, 7), (2, 2) })
        {
            int oh = h / 2, ow = w / 2;
            IEnumerable<(int, int)> Window(int r, int q)
            {
                for (int i = 0; i < 2; i++) for (int j = 0; j < 2; j++) yield return (2 * r + i, 2 * q + j);
            }
            var xs = Grid(N * C * h * w, 5);
            var g = Ref.Random(N * C * oh * ow, 6);
            var x = Tensor.FromArray(xs, [N, C, h, w], d).RequiresGradient();
            var (y, dx) = Reference(xs, h, w, oh, ow, Window, max: false, null, g);
            var pooled = Functional.AvgPool2d(x, 2);
            // The gradient's buffer comes from the pool: leave NaN there first, so an element left unwritten shows.
            for (int i = 0; i < 3; i++) Tensor.Full([N, C, h, w], float.NaN, DType.Float32, d).Dispose();
            Check(x, pooled, y, dx, g, $"2×2 on {h}×{w}, {device}");
        }
    }

    [Theory, MemberData(nameof(WindowCases))]
    public void RectangularPoolsMatchReferences(string device, int kh, int kw, int sh, int sw, int ph, int pw)
    {
        var d = TestDevices.Use(device);
        const int H = 7, W = 6;
        int oh = (H + 2 * ph - kh) / sh + 1, ow = (W + 2 * pw - kw) / sw + 1;
        IEnumerable<(int, int)> Window(int r, int q)
        {
            for (int i = 0; i < kh; i++) for (int j = 0; j < kw; j++)
            {
                int hh = r * sh - ph + i, ww = q * sw - pw + j;
                if (hh >= 0 && hh < H && ww >= 0 && ww < W) yield return (hh, ww);
            }
        }
        var g = Ref.Random(N * C * oh * ow, 9);
        string what = $"k ({kh}, {kw}) s ({sh}, {sw}) p ({ph}, {pw}) on {device}";
        var xs = Grid(N * C * H * W, 8);

        var x = Tensor.FromArray(xs, [N, C, H, W], d).RequiresGradient();
        var (y, dx) = Reference(xs, H, W, oh, ow, Window, max: true, null, g);
        Check(x, Functional.MaxPool2d(x, (kh, kw), (sh, sw), (ph, pw)), y, dx, g, "max " + what);

        foreach (bool include in new[] { true, false })
        {
            x = Tensor.FromArray(xs, [N, C, H, W], d).RequiresGradient();
            (y, dx) = Reference(xs, H, W, oh, ow, Window, max: false, include ? (_, _) => kh * kw : null, g);
            Check(x, Functional.AvgPool2d(x, (kh, kw), (sh, sw), (ph, pw), include), y, dx, g, $"avg (include {include}) " + what);
        }
        if (kh != kw || sh != sw || ph != pw) return;
        x = Tensor.FromArray(xs, [N, C, H, W], d).RequiresGradient(); // the square overload with the count option
        (y, dx) = Reference(xs, H, W, oh, ow, Window, max: false, null, g);
        Check(x, Functional.AvgPool2d(x, kh, sh, ph, countIncludePad: false), y, dx, g, "avg square " + what);
    }

    public static TheoryData<string, int, int, int, int> AdaptiveCases()
    {
        var d = new TheoryData<string, int, int, int, int>();
        foreach (var dev in TestDevices.Names)
            foreach (var (h, w, oh, ow) in new[] { (8, 6, 4, 3), (7, 5, 3, 2), (5, 7, 1, 1), (3, 4, 5, 6), (6, 5, 6, 2), (9, 4, 4, 4) })
                d.Add(dev, h, w, oh, ow);
        return d;
    }

    [Theory, MemberData(nameof(AdaptiveCases))]
    public void AdaptivePoolsFollowPyTorchsBins(string device, int h, int w, int oh, int ow)
    {
        var d = TestDevices.Use(device);
        static int Start(int i, int size, int outs) => (int)Math.Floor((double)i * size / outs);
        static int End(int i, int size, int outs) => (int)Math.Ceiling((double)(i + 1) * size / outs);
        IEnumerable<(int, int)> Bin(int r, int q)
        {
            for (int hh = Start(r, h, oh); hh < End(r, h, oh); hh++)
                for (int ww = Start(q, w, ow); ww < End(q, w, ow); ww++) yield return (hh, ww);
        }
        var xs = Grid(N * C * h * w, 5); var g = Ref.Random(N * C * oh * ow, 6);
        string what = $"{h}×{w} → {oh}×{ow} on {device}";

        var x = Tensor.FromArray(xs, [N, C, h, w], d).RequiresGradient();
        var (y, dx) = Reference(xs, h, w, oh, ow, Bin, max: false, null, g);
        var avg = oh == ow ? Functional.AdaptiveAvgPool2d(x, oh) : Functional.AdaptiveAvgPool2d(x, (oh, ow));
        Assert.Equal(new[] { N, C, oh, ow }, avg.Shape);
        Check(x, avg, y, dx, g, "avg " + what);

        x = Tensor.FromArray(xs, [N, C, h, w], d).RequiresGradient();
        (y, dx) = Reference(xs, h, w, oh, ow, Bin, max: true, null, g);
        var max = oh == ow ? Functional.AdaptiveMaxPool2d(x, oh) : Functional.AdaptiveMaxPool2d(x, (oh, ow));
        Check(x, max, y, dx, g, "max " + what);
    }

    [Theory, MemberData(nameof(TestDevices.All), MemberType = typeof(TestDevices))]
    public void AdaptiveMaxPropagatesNaNAndChecksArguments(string device)
    {
        var d = TestDevices.Use(device);
        var xs = Ref.Random(5 * 5, 3);
        xs[6] = float.NaN; // element (1, 1)
        var y = Functional.AdaptiveMaxPool2d(Tensor.FromArray(xs, [1, 1, 5, 5], d), 3).ToArray<float>();
        // Bins along 5 → 3: [0, 2), [1, 4), [3, 5); element (1, 1) lies in bins 0 and 1 each way.
        for (int r = 0; r < 3; r++) for (int q = 0; q < 3; q++)
            Assert.Equal(r < 2 && q < 2, float.IsNaN(y[r * 3 + q]));
        var x = Tensor.Rand([1, 2, 4, 4], device: d);
        Assert.Equal("outputSize", Assert.Throws<ArgumentOutOfRangeException>(() => Functional.AdaptiveAvgPool2d(x, (0, 2))).ParamName);
        Assert.Equal("outputSize", Assert.Throws<ArgumentOutOfRangeException>(() => Functional.AdaptiveMaxPool2d(x, -1)).ParamName);
        Assert.Equal("x", Assert.Throws<ArgumentException>(() => Functional.AdaptiveMaxPool2d(Tensor.Rand([2, 4, 4], device: d), 2))
            .ParamName);
        Assert.Equal("x", Assert.Throws<ArgumentException>(() => Functional.AdaptiveAvgPool2d(Tensor.Rand([1, 1, 0, 4], device: d), 2))
            .ParamName);
    }
}
