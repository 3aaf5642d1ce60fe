using DeepSharp.Data;

namespace DeepSharp.IO.Tests;

/// <summary>Each transform against a hand-computed or double-precision reference.</summary>
public class TransformTests
{
    private static float[] Run(ITransform t, float[] x, int[] shape, TransformRandom random)
    {
        var outShape = t.OutputShape(shape);
        var y = new float[outShape.Aggregate(1, (a, b) => a * b)];
        t.Apply(x, shape, y, ref random);
        return y;
    }

    private static float[] Ramp(int n, int seed) => Enumerable.Range(0, n).Select(i => (float)((i * 37 + seed) % 101) / 7f).ToArray();

    [Fact]
    public void NormalizeSubtractsTheMeanAndDividesByTheStdPerChannel()
    {
        float[] x = [1, 3, 5, 10, -2, 6];
        var y = Run(new Normalize([1f, 2f], [2f, 4f]), x, [2, 1, 3], default);
        Assert.Equal([0f, 1f, 2f, 2f, -1f, 1f], y);
        Assert.Equal([0.5f, 1.5f], Run(new Normalize([0f], [2f]), [1f, 3f], [1, 2], default)); // one pair for all channels
        var two = new Normalize([0f, 0f], [1f, 1f]);
        Assert.Contains("2 means", Assert.Throws<ArgumentException>(() => two.OutputShape([3, 2, 2])).Message);
        Assert.Equal("std", Assert.Throws<ArgumentException>(() => new Normalize([0f], [0f])).ParamName);
        Assert.Equal("std", Assert.Throws<ArgumentException>(() => new Normalize([0f, 1f], [1f])).ParamName);
    }

    [Fact]
    public void RandomHorizontalFlipMirrorsWithProbabilityP()
    {
        float[] x = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12];
        int[] shape = [2, 2, 3];
        float[] mirrored = [3, 2, 1, 6, 5, 4, 9, 8, 7, 12, 11, 10];
        Assert.Equal(mirrored, Run(new RandomHorizontalFlip(1), x, shape, new TransformRandom(1)));
        Assert.Equal(x, Run(new RandomHorizontalFlip(0), x, shape, new TransformRandom(1)));
        int flips = 0;
        for (int i = 0; i < 2000; i++)
        {
            var r = TransformRandom.For(9, 0, i);
            var draw = r; // the flip decision is the first draw of the stream: uniform < p
            bool expected = draw.NextDouble() < 0.3;
            var y = Run(new RandomHorizontalFlip(0.3), x, shape, r);
            Assert.Equal(expected ? mirrored : x, y);
            flips += expected ? 1 : 0;
        }
        Assert.InRange(flips, 500, 700);
        Assert.Throws<ArgumentOutOfRangeException>(() => new RandomHorizontalFlip(1.5));
    }

    [Fact]
    public void RandomCropIsAWindowOfTheZeroPaddedImage()
    {
        const int c = 2, h = 4, w = 5, p = 2, ch = 3, cw = 4;
        var x = Ramp(c * h * w, 1);
        var positions = new HashSet<(int, int)>();
        for (int s = 0; s < 300; s++)
        {
            var r = TransformRandom.For(4, 1, s);
            var draws = r;
            int top = draws.Next(h + 2 * p - ch + 1), left = draws.Next(w + 2 * p - cw + 1); // torchvision: i, then j
            positions.Add((top, left));
            var y = Run(new RandomCrop(ch, cw, p), x, [c, h, w], r);
            for (int k = 0; k < c; k++)
                for (int i = 0; i < ch; i++)
                    for (int j = 0; j < cw; j++)
                    {
                        // The padded image, built explicitly: zeros outside the original.
                        int sy = top + i - p, sx = left + j - p;
                        float expected = sy >= 0 && sy < h && sx >= 0 && sx < w ? x[(k * h + sy) * w + sx] : 0f;
                        Assert.Equal(expected, y[(k * ch + i) * cw + j]);
                    }
        }
        Assert.Equal((h + 2 * p - ch + 1) * (w + 2 * p - cw + 1), positions.Count); // every offset, corners included
        Assert.Equal([1, 3, 3], new RandomCrop(3).OutputShape([1, 8, 8]));
        Assert.Equal(x, Run(new RandomCrop(h, w, 0), x, [c, h, w], new TransformRandom(5))); // the whole image
        Assert.Contains("larger than", Assert.Throws<ArgumentException>(() => new RandomCrop(9, 2).OutputShape([1, 4, 4])).Message);
    }

    [Fact]
    public void ResizeMatchesPyTorchsBilinearOnAKnownCase()
    {
        // torch.nn.functional.interpolate(torch.tensor([[[[1., 2.], [3., 4.]]]]), size=4, mode="bilinear",
        // align_corners=False)
        float[] expected = [1, 1.25f, 1.75f, 2, 1.5f, 1.75f, 2.25f, 2.5f, 2.5f, 2.75f, 3.25f, 3.5f, 3, 3.25f, 3.75f, 4];
        Assert.Equal(expected, Run(new Resize(4, 4), [1, 2, 3, 4], [1, 2, 2], default));
    }

    [Theory]
    [InlineData(1, 28, 28, 32, 32)]
    [InlineData(3, 5, 7, 3, 2)]
    [InlineData(2, 3, 4, 7, 5)]
    [InlineData(1, 6, 6, 6, 6)]
    [InlineData(1, 1, 1, 3, 2)]
    public void ResizeMatchesTheBilinearFormulaInDouble(int c, int h, int w, int oh, int ow)
    {
        var x = Ramp(c * h * w, 3);
        var y = Run(new Resize(oh, ow), x, [c, h, w], default);
        Assert.Equal(c * oh * ow, y.Length);
        static (int, int, double) Src(int o, int inSize, int outSize)
        {
            double s = Math.Max((o + 0.5) * inSize / outSize - 0.5, 0);
            int i0 = Math.Min((int)Math.Floor(s), inSize - 1);
            return (i0, Math.Min(i0 + 1, inSize - 1), s - i0);
        }
        for (int k = 0; k < c; k++)
            for (int i = 0; i < oh; i++)
                for (int j = 0; j < ow; j++)
                {
                    var (y0, y1, ly) = Src(i, h, oh);
                    var (x0, x1, lx) = Src(j, w, ow);
                    double At(int yy, int xx) => x[(k * h + yy) * w + xx];
                    double e = (1 - ly) * ((1 - lx) * At(y0, x0) + lx * At(y0, x1)) + ly * ((1 - lx) * At(y1, x0) + lx * At(y1, x1));
                    Assert.True(Math.Abs(e - y[(k * oh + i) * ow + j]) <= 1e-5 * (1 + Math.Abs(e)), $"[{k},{i},{j}] {e} vs " +
                        $"{y[(k * oh + i) * ow + j]}");
                }
    }

    [Fact]
    public void ComposeAppliesInOrderFromOneStream()
    {
        var x = Ramp(1 * 6 * 6, 2);
        var crop = new RandomCrop(4, 1);
        var flip = new RandomHorizontalFlip();
        var resize = new Resize(8, 8);
        var norm = new Normalize([0.5f], [0.25f]);
        var composed = new Compose(crop, flip, resize, norm);
        Assert.Equal([1, 8, 8], composed.OutputShape([1, 6, 6]));
        for (int s = 0; s < 20; s++)
        {
            var r = TransformRandom.For(1, 2, s);
            var step = r;
            var a = new float[16];
            crop.Apply(x, [1, 6, 6], a, ref step);
            var b = new float[16];
            flip.Apply(a, [1, 4, 4], b, ref step);
            var c = new float[64];
            resize.Apply(b, [1, 4, 4], c, ref step);
            var d = new float[64];
            norm.Apply(c, [1, 8, 8], d, ref step);
            Assert.Equal(d, Run(composed, x, [1, 6, 6], r));
        }
        Assert.Equal(x, Run(new Compose(), x, [1, 6, 6], default));
        Assert.Throws<ArgumentNullException>(() => new Compose(flip, null!));
    }

    [Fact]
    public void TransformRandomDependsOnlyOnSeedEpochAndIndex()
    {
        var a = TransformRandom.For(1, 2, 3);
        var b = TransformRandom.For(1, 2, 3);
        Assert.Equal(a.NextUInt64(), b.NextUInt64());
        Assert.NotEqual(TransformRandom.For(1, 2, 3).NextUInt64(), TransformRandom.For(1, 3, 3).NextUInt64());
        Assert.NotEqual(TransformRandom.For(1, 2, 3).NextUInt64(), TransformRandom.For(1, 2, 4).NextUInt64());
        Assert.NotEqual(TransformRandom.For(1, 2, 3).NextUInt64(), TransformRandom.For(2, 2, 3).NextUInt64());
        var r = new TransformRandom(7);
        var counts = new int[5];
        for (int i = 0; i < 5000; i++) counts[r.Next(5)]++;
        Assert.All(counts, n => Assert.InRange(n, 850, 1150));
        Assert.Throws<ArgumentOutOfRangeException>(() => r.Next(0));
        Assert.Contains("[channels, height, width]",
            Assert.Throws<ArgumentException>(() => new Resize(2, 2).OutputShape([1, 1, 2, 2])).Message);
    }
}
