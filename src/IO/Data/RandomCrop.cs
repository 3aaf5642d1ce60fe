namespace DeepSharp.Data;

/// <summary>
/// Pads the image with zeros on every side, then crops a window of the given size at a uniformly random position
/// (torchvision's <c>RandomCrop(size, padding)</c> with <c>fill = 0</c>, <c>padding_mode = "constant"</c>): the top row
/// is drawn from [0, H + 2·padding − height] and the left column from [0, W + 2·padding − width], in that order.
/// </summary>
public sealed class RandomCrop : ITransform
{
    private readonly int _height, _width, _padding;

    /// <summary>Square crops of <paramref name="size"/> after <paramref name="padding"/> zeros on each side.</summary>
    /// <exception cref="ArgumentOutOfRangeException">size is not positive or padding is negative.</exception>
    public RandomCrop(int size, int padding = 0) : this(size, size, padding) { }

    /// <summary>Crops of <paramref name="height"/> × <paramref name="width"/> after <paramref name="padding"/> zeros on each
    /// side.</summary>
    /// <exception cref="ArgumentOutOfRangeException">height or width is not positive, or padding is negative.</exception>
    public RandomCrop(int height, int width, int padding)
    {
        if (height <= 0) throw new ArgumentOutOfRangeException(nameof(height), height, "RandomCrop: the height must be positive.");
        if (width <= 0) throw new ArgumentOutOfRangeException(nameof(width), width, "RandomCrop: the width must be positive.");
        if (padding < 0) throw new ArgumentOutOfRangeException(nameof(padding), padding, "RandomCrop: the padding must be >= 0.");
        (_height, _width, _padding) = (height, width, padding);
    }

    /// <inheritdoc/>
    public int[] OutputShape(int[] shape)
    {
        var (_, h, w) = ImageShape.Of(shape, nameof(RandomCrop));
        if ((long)h + 2L * _padding < _height || (long)w + 2L * _padding < _width)
            throw new ArgumentException($"RandomCrop: a {_height}x{_width} crop is larger than the padded image " +
                $"({h} + 2*{_padding}) x ({w} + 2*{_padding}) of shape {Shapes.Format(shape)}.", nameof(shape));
        return ImageShape.WithSize(shape, _height, _width);
    }

    /// <inheritdoc/>
    public void Apply(ReadOnlySpan<float> input, int[] shape, Span<float> output, ref TransformRandom random)
    {
        var (c, h, w) = ImageShape.Of(shape, nameof(RandomCrop));
        int top = random.Next(h + 2 * _padding - _height + 1) - _padding;  // in the unpadded image's coordinates
        int left = random.Next(w + 2 * _padding - _width + 1) - _padding;
        for (int ch = 0; ch < c; ch++)
            for (int y = 0; y < _height; y++)
            {
                var dst = output.Slice((ch * _height + y) * _width, _width);
                int sy = top + y;
                if ((uint)sy >= (uint)h) { dst.Clear(); continue; }
                var src = input.Slice((ch * h + sy) * w, w);
                for (int x = 0; x < _width; x++)
                {
                    int sx = left + x;
                    dst[x] = (uint)sx < (uint)w ? src[sx] : 0f;
                }
            }
    }
}
