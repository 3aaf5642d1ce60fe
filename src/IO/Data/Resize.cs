namespace DeepSharp.Data;

/// <summary>
/// Resizes the image to <c>height × width</c> by bilinear interpolation with <c>align_corners = false</c> (PyTorch's
/// <c>interpolate(mode="bilinear")</c>, which torchvision's <c>Resize</c> runs on tensors): output pixel (y, x) samples the
/// input at <c>((y + 0.5)·H/height − 0.5, (x + 0.5)·W/width − 0.5)</c>, clamped to the image. No antialiasing filter:
/// this equals torchvision when enlarging (28 → 32, 32 → 224) and torchvision with <c>antialias=False</c> when shrinking.
/// </summary>
public sealed class Resize : ITransform
{
    private readonly int _height, _width;

    /// <summary>Resizes to <paramref name="height"/> × <paramref name="width"/>.</summary>
    /// <exception cref="ArgumentOutOfRangeException">height or width is not positive.</exception>
    public Resize(int height, int width)
    {
        if (height <= 0) throw new ArgumentOutOfRangeException(nameof(height), height, "Resize: the height must be positive.");
        if (width <= 0) throw new ArgumentOutOfRangeException(nameof(width), width, "Resize: the width must be positive.");
        (_height, _width) = (height, width);
    }

    /// <inheritdoc/>
    public int[] OutputShape(int[] shape)
    {
        var (_, h, w) = ImageShape.Of(shape, nameof(Resize));
        if (h == 0 || w == 0)
            throw new ArgumentException($"Resize: cannot resize an empty image of shape {Shapes.Format(shape)}.", nameof(shape));
        return ImageShape.WithSize(shape, _height, _width);
    }

    /// <inheritdoc/>
    public void Apply(ReadOnlySpan<float> input, int[] shape, Span<float> output, ref TransformRandom random)
    {
        var (c, h, w) = ImageShape.Of(shape, nameof(Resize));
        var taps = Volatile.Read(ref _taps);
        if (taps is null || taps.H != h || taps.W != w)
            Volatile.Write(ref _taps, taps = new TapTable(h, w, Taps(h, _height), Taps(w, _width)));
        var (y0, y1, ly) = taps.Rows;
        var (x0, x1, lx) = taps.Columns;
        for (int ch = 0; ch < c; ch++)
        {
            var src = input.Slice(ch * h * w, h * w);
            var dst = output.Slice(ch * _height * _width, _height * _width);
            for (int y = 0; y < _height; y++)
            {
                var r0 = src.Slice(y0[y] * w, w);
                var r1 = src.Slice(y1[y] * w, w);
                float b = ly[y], a = 1f - b;
                var row = dst.Slice(y * _width, _width);
                for (int x = 0; x < _width; x++)
                {
                    float d = lx[x], e = 1f - d;
                    row[x] = a * (e * r0[x0[x]] + d * r0[x1[x]]) + b * (e * r1[x0[x]] + d * r1[x1[x]]);
                }
            }
        }
    }

    // The interpolation tables of the last input size (a loader's samples all have one), replaced as a whole.
    private TapTable? _taps;

    private sealed record TapTable(int H, int W, (int[] I0, int[] I1, float[] Lambda) Rows, (int[] I0, int[] I1, float[] Lambda) Columns);

    /// <summary>For each output index along one axis: the two input indices and the weight of the second (PyTorch's
    /// area_pixel_compute_source_index with align_corners = false).</summary>
    private static (int[] I0, int[] I1, float[] Lambda) Taps(int inSize, int outSize)
    {
        var i0 = new int[outSize];
        var i1 = new int[outSize];
        var lambda = new float[outSize];
        float scale = (float)inSize / outSize;
        for (int o = 0; o < outSize; o++)
        {
            float src = Math.Max(scale * (o + 0.5f) - 0.5f, 0f);
            int i = Math.Min((int)src, inSize - 1);
            i0[o] = i;
            i1[o] = Math.Min(i + 1, inSize - 1);
            lambda[o] = Math.Min(src - i, 1f);
        }
        return (i0, i1, lambda);
    }
}
