namespace DeepSharp.Tests;

/// <summary>
/// The sliding windows (im2col) and their gradient (col2im) in both column layouts — per image [N, C, kH·kW, OH, OW] and
/// batch-inner [C·kH·kW, N·OH·OW] — square, rectangular and dilated, against direct loops on every device. On the CPU the
/// small cases run through the index tables and the large ones (over 4,096 table entries) row by row, at stride 1
/// (shifted planes) and 2.
/// </summary>
public class WindowTests
{
    public static TheoryData<string, int, int, int, int, int> Cases()
    {
        var d = new TheoryData<string, int, int, int, int, int>();
        foreach (var dev in TestDevices.Names)
            foreach (var (k, s, p, h, w) in new[]
            {
                (3, 1, 1, 5, 4), (2, 2, 0, 8, 8), (3, 2, 1, 7, 6), (3, 3, 0, 7, 7), (3, 1, 1, 24, 24), (3, 2, 1, 48, 47), (5, 1, 2, 16, 15),
            })
                d.Add(dev, k, s, p, h, w);
        return d;
    }

    [Theory, MemberData(nameof(Cases))]
    public void BothLayoutsMatchDirectLoopsBothWays(string device, int k, int s, int p, int h, int w) =>
        MatchDirectLoops(device, (k, k), (s, s), (p, p), (1, 1), h, w);

    /// <summary>Rectangular windows, strides and paddings, and dilation: small images (tables), large ones at stride 1
    /// with output rows as wide as the input's (shifted planes), and large strided ones (row copies).</summary>
    public static TheoryData<string, int, int, int, int, int, int, int, int, int, int> RectangularCases()
    {
        var d = new TheoryData<string, int, int, int, int, int, int, int, int, int, int>();
        foreach (var dev in TestDevices.Names)
            foreach (var (kh, kw, sh, sw, ph, pw, dh, dw, h, w) in new[]
            {
                (2, 3, 1, 2, 1, 0, 1, 1, 6, 7), (3, 2, 2, 1, 0, 2, 2, 3, 9, 8), (1, 3, 3, 1, 1, 1, 1, 2, 5, 6),
                (3, 3, 1, 1, 2, 1, 2, 1, 30, 28), (3, 1, 1, 1, 3, 0, 3, 1, 40, 40), (2, 3, 2, 3, 1, 2, 3, 2, 40, 37),
            })
                d.Add(dev, kh, kw, sh, sw, ph, pw, dh, dw, h, w);
        return d;
    }

    [Theory, MemberData(nameof(RectangularCases))]
    public void RectangularDilatedWindowsMatchDirectLoops(string device, int kh, int kw, int sh, int sw, int ph, int pw, int dh, int dw,
        int h, int w) => MatchDirectLoops(device, (kh, kw), (sh, sw), (ph, pw), (dh, dw), h, w);

    private static void MatchDirectLoops(string device, (int H, int W) k, (int H, int W) s, (int H, int W) p, (int H, int W) dl,
        int h, int w)
    {
        var d = TestDevices.Use(device);
        const int N = 3, C = 2;
        const float pad = -7f;
        int oh = (h + 2 * p.H - dl.H * (k.H - 1) - 1) / s.H + 1, ow = (w + 2 * p.W - dl.W * (k.W - 1) - 1) / s.W + 1;
        int kk = k.H * k.W, l = oh * ow;
        var xs = Ref.Random(N * C * h * w, 1); var gs = Ref.Random(N * C * kk * l, 2);
        // Reference: column (n, c, ij, o) reads x[n, c, oh·sH − pH + i·dH, ow·sW − pW + j·dW] or the pad; dx sums the g
        // that read it.
        var cols = new double[gs.Length]; var dx = new double[xs.Length];
        for (int n = 0; n < N; n++) for (int c = 0; c < C; c++) for (int ij = 0; ij < kk; ij++) for (int o = 0; o < l; o++)
        {
            int hh = o / ow * s.H - p.H + ij / k.W * dl.H, ww = o % ow * s.W - p.W + ij % k.W * dl.W;
            int t = ((n * C + c) * kk + ij) * l + o;
            bool inside = hh >= 0 && hh < h && ww >= 0 && ww < w;
            cols[t] = inside ? xs[((n * C + c) * h + hh) * w + ww] : pad;
            if (inside) dx[((n * C + c) * h + hh) * w + ww] += gs[t];
        }
        string what = $"k {k} s {s} p {p} d {dl} on {h}×{w}, {device}";

        var x = Tensor.FromArray(xs, [N, C, h, w], d).RequiresGradient();
        var a = Tensor.WindowsOf(x, k, s, p, dl, "test");
        var perImage = Tensor.Windows(x, a, pad, "test");
        Assert.Equal(new[] { N, C, kk, oh, ow }, perImage.Shape);
        Ref.Close(cols, perImage.ToArray<float>(), 0, "cols " + what);
        Tensor.Full(x.Shape, 1e6, device: d).Dispose(); // the pool hands this storage to the gradient next: col2im must not add to it
        perImage.Backward(Tensor.FromArray(gs, perImage.Shape, d));
        var dxPerImage = x.Grad!.ToArray<float>();
        Ref.Close(dx, dxPerImage, 1e-5, "dx " + what);

        x.Grad = null;
        var batchInner = Tensor.Windows(x, a, pad, "test", batchInner: true);
        Assert.Equal(new[] { C * kk, N * l }, batchInner.Shape);
        // The same columns in [C, kk, N, L] order, and the same gradient: each input sums the same values in the same order.
        var permuted = Tensor.FromArray(cols.Select(v => (float)v).ToArray(), [N, C * kk, l]).Permute(1, 0, 2).Reshape(C * kk, N * l);
        Assert.Equal(permuted.ToArray<float>(), batchInner.ToArray<float>());
        var g = Tensor.FromArray(gs, [N, C * kk, l]).Permute(1, 0, 2).Reshape(C * kk, N * l).To(d);
        Tensor.Full(x.Shape, 1e6, device: d).Dispose();
        batchInner.Backward(g);
        Assert.Equal(dxPerImage, x.Grad!.ToArray<float>());
    }
}

/// <summary>Max pooling's fused gradient against the composite it replaced (the windows' max, its gradient rule and
/// col2im): the same bits on every device, with ties inside windows (-0 against +0 among them), a NaN, windows that
/// overlap and pad, a stride past the window, and infinite and NaN upstream gradients.</summary>
public class MaxPoolTests
{
    public static TheoryData<string, int, int, int> Cases()
    {
        var d = new TheoryData<string, int, int, int>();
        foreach (var dev in TestDevices.Names)
            foreach (var (k, s, p) in new[] { (2, 2, 0), (3, 1, 1), (3, 2, 1), (2, 3, 0), (3, 3, 0) })
                d.Add(dev, k, s, p);
        return d;
    }

    [Theory, MemberData(nameof(Cases))]
    public void FusedGradientEqualsTheComposite(string device, int k, int s, int p) =>
        FusedEqualsComposite(device, (k, k), (s, s), (p, p));

    [Theory]
    [InlineData("cpu", 2, 3, 2, 1, 0, 1)]
    [InlineData("ilgpu-cpu", 2, 3, 2, 1, 0, 1)]
    [InlineData("opencl:0", 2, 3, 2, 1, 0, 1)]
    [InlineData("cuda:0", 2, 3, 2, 1, 0, 1)]
    [InlineData("cpu", 3, 1, 1, 3, 1, 0)]
    [InlineData("ilgpu-cpu", 3, 1, 1, 3, 1, 0)]
    [InlineData("opencl:0", 3, 1, 1, 3, 1, 0)]
    [InlineData("cuda:0", 3, 1, 1, 3, 1, 0)]
    public void RectangularFusedGradientEqualsTheComposite(string device, int kh, int kw, int sh, int sw, int ph, int pw) =>
        FusedEqualsComposite(device, (kh, kw), (sh, sw), (ph, pw));

    private static void FusedEqualsComposite(string device, (int H, int W) k, (int H, int W) s, (int H, int W) p)
    {
        var d = TestDevices.Use(device);
        const int N = 2, C = 3, H = 7, W = 6;
        // Values on a coarse grid, so windows hold ties; a 2×2 corner of -inf, whose padded windows' max ties the padding.
        var xs = Ref.Random(N * C * H * W, 7).Select(v => MathF.Round(v * 2) / 2).ToArray();
        foreach (int i in new[] { 0, 1, W, W + 1 }) xs[i] = float.NegativeInfinity;
        xs[3 * W + 3] = float.NaN;                                   // a NaN wins its windows (and ties nothing)
        (xs[4 * W], xs[4 * W + 1], xs[5 * W], xs[5 * W + 1]) = (-1f, -1f, -0f, 0f); // -0 and +0 tie; the fold's order picks the sign
        var x = Tensor.FromArray(xs, [N, C, H, W], d).RequiresGradient();
        var y = Functional.MaxPool2d(x, k, s, p);
        var composite = Tensor.Windows(x, Tensor.WindowsOf(x, k, s, p, (1, 1), "composite"), float.NegativeInfinity, "composite").Max(2);
        SameBits(composite.ToArray<float>(), y.ToArray<float>(), $"y (k {k} s {s} p {p}, {device})");
        var gs = Ref.Random(y.Count, 8);
        gs[^1] = float.PositiveInfinity; gs[^3] = float.NaN; // far from the -inf corner, whose windows they would turn to NaN
        Tensor.Full(x.Shape, 1e6, device: d).Dispose(); // the pool hands this storage to the gradient next
        y.Backward(Tensor.FromArray(gs, y.Shape, d));
        var fused = x.Grad!.ToArray<float>();
        x.Grad = null;
        composite.Backward(Tensor.FromArray(gs, y.Shape, d));
        SameBits(x.Grad!.ToArray<float>(), fused, $"dx (k {k} s {s} p {p}, {device})");
    }

    /// <summary>Equal bit for bit (-0 is not +0), any NaN matching any NaN.</summary>
    private static void SameBits(float[] expected, float[] actual, string what)
    {
        Assert.Equal(expected.Length, actual.Length);
        for (int i = 0; i < expected.Length; i++)
            Assert.True(BitConverter.SingleToInt32Bits(expected[i]) == BitConverter.SingleToInt32Bits(actual[i])
                || (float.IsNaN(expected[i]) && float.IsNaN(actual[i])),
                $"{what}[{i}]: composite {expected[i]}, fused {actual[i]}");
    }
}
