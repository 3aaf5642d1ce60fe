namespace DeepSharp.Data;

/// <summary>
/// <c>output[c] = (input[c] − mean[c]) / std[c]</c> per channel (torchvision's <c>Normalize</c>); one mean and std may
/// serve every channel.
/// </summary>
public sealed class Normalize : ITransform
{
    private readonly float[] _mean, _std;

    /// <summary>Normalizes with one <paramref name="mean"/> and <paramref name="std"/> per channel (or one for all).</summary>
    /// <exception cref="ArgumentNullException">mean or std is null.</exception>
    /// <exception cref="ArgumentException">The lengths differ or are 0, a value is not finite, or a std is 0 or less.</exception>
    public Normalize(float[] mean, float[] std)
    {
        ArgumentNullException.ThrowIfNull(mean);
        ArgumentNullException.ThrowIfNull(std);
        if (mean.Length == 0 || mean.Length != std.Length)
            throw new ArgumentException($"Normalize: mean has {mean.Length} values and std {std.Length}; give one pair per channel.",
                nameof(std));
        for (int i = 0; i < mean.Length; i++)
        {
            if (!float.IsFinite(mean[i])) throw new ArgumentException($"Normalize: mean[{i}] is {mean[i]}.", nameof(mean));
            if (!(std[i] > 0) || !float.IsFinite(std[i]))
                throw new ArgumentException($"Normalize: std[{i}] is {std[i]}; it must be finite and > 0.", nameof(std));
        }
        _mean = (float[])mean.Clone();
        _std = (float[])std.Clone();
    }

    /// <inheritdoc/>
    public int[] OutputShape(int[] shape)
    {
        var (c, _, _) = ImageShape.Of(shape, nameof(Normalize));
        if (_mean.Length != 1 && _mean.Length != c)
            throw new ArgumentException($"Normalize: {_mean.Length} means for images of {c} channels (shape " +
                $"{Shapes.Format(shape)}).", nameof(shape));
        return (int[])shape.Clone();
    }

    /// <inheritdoc/>
    public void Apply(ReadOnlySpan<float> input, int[] shape, Span<float> output, ref TransformRandom random)
    {
        var (c, h, w) = ImageShape.Of(shape, nameof(Normalize));
        int plane = h * w;
        for (int ch = 0; ch < c; ch++)
        {
            int k = _mean.Length == 1 ? 0 : ch;
            float m = _mean[k], inv = 1f / _std[k];
            var src = input.Slice(ch * plane, plane);
            var dst = output.Slice(ch * plane, plane);
            for (int i = 0; i < plane; i++) dst[i] = (src[i] - m) * inv;
        }
    }
}
