namespace DeepSharp.Data;

/// <summary>Mirrors the image left to right with probability <c>p</c> (torchvision's <c>RandomHorizontalFlip</c>: flips
/// when a uniform draw in [0, 1) is below p).</summary>
public sealed class RandomHorizontalFlip : ITransform
{
    private readonly double _p;

    /// <summary>Flips with probability <paramref name="p"/>.</summary>
    /// <exception cref="ArgumentOutOfRangeException">p is outside [0, 1].</exception>
    public RandomHorizontalFlip(double p = 0.5)
    {
        if (!(p is >= 0 and <= 1))
            throw new ArgumentOutOfRangeException(nameof(p), p, "RandomHorizontalFlip: p must be in [0, 1].");
        _p = p;
    }

    /// <inheritdoc/>
    public int[] OutputShape(int[] shape)
    {
        ImageShape.Of(shape, nameof(RandomHorizontalFlip));
        return (int[])shape.Clone();
    }

    /// <inheritdoc/>
    public void Apply(ReadOnlySpan<float> input, int[] shape, Span<float> output, ref TransformRandom random)
    {
        var (c, h, w) = ImageShape.Of(shape, nameof(RandomHorizontalFlip));
        if (!(random.NextDouble() < _p))
        {
            input[..(c * h * w)].CopyTo(output);
            return;
        }
        for (int r = 0; r < c * h; r++)
        {
            var src = input.Slice(r * w, w);
            var dst = output.Slice(r * w, w);
            for (int x = 0; x < w; x++) dst[x] = src[w - 1 - x];
        }
    }
}
