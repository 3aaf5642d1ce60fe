namespace DeepSharp.Data;

/// <summary>
/// A per-sample transform of float32 features (torchvision's transforms on tensors), run by <see cref="DataLoader"/>'s
/// worker on each sample before batching. Images are [channels, height, width] (or [height, width]), row-major. Implement
/// it for your own augmentation: draw randomness only from the <see cref="TransformRandom"/> passed in, so results
/// depend only on (seed, epoch, sample index); an instance may be called from several threads at once, so keep no
/// per-call state in fields.
/// </summary>
public interface ITransform
{
    /// <summary>The shape of a sample after the transform, given its shape before (called once per loader).</summary>
    /// <exception cref="ArgumentException">The transform cannot take samples of this shape (the message says why).</exception>
    int[] OutputShape(int[] shape);

    /// <summary>Writes the transformed <paramref name="input"/> (of <paramref name="shape"/>) to <paramref name="output"/>
    /// (of <see cref="OutputShape"/>'s shape; the two never overlap).</summary>
    void Apply(ReadOnlySpan<float> input, int[] shape, Span<float> output, ref TransformRandom random);
}

/// <summary>Image shapes: [C, H, W] or [H, W] (one channel).</summary>
internal static class ImageShape
{
    public static (int C, int H, int W) Of(int[] shape, string op)
    {
        ArgumentNullException.ThrowIfNull(shape);
        return shape.Length switch
        {
            2 => (1, shape[0], shape[1]),
            3 => (shape[0], shape[1], shape[2]),
            _ => throw new ArgumentException($"{op}: expected an image [channels, height, width] or [height, width], got shape " +
                $"{Shapes.Format(shape)}.", nameof(shape)),
        };
    }

    /// <summary><paramref name="shape"/> with its last two dims replaced by <paramref name="h"/>, <paramref name="w"/>.</summary>
    public static int[] WithSize(int[] shape, int h, int w)
    {
        var s = (int[])shape.Clone();
        s[^2] = h;
        s[^1] = w;
        return s;
    }
}
