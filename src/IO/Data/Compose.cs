using System.Buffers;

namespace DeepSharp.Data;

/// <summary>Several transforms applied in order (torchvision's <c>Compose</c>), each drawing from the same random stream.</summary>
public sealed class Compose : ITransform
{
    private readonly ITransform[] _transforms;

    /// <summary>Applies <paramref name="transforms"/> in order.</summary>
    /// <exception cref="ArgumentNullException">transforms or one of them is null.</exception>
    public Compose(params ITransform[] transforms)
    {
        ArgumentNullException.ThrowIfNull(transforms);
        for (int i = 0; i < transforms.Length; i++)
            if (transforms[i] is null) throw new ArgumentNullException(nameof(transforms), $"Compose: transforms[{i}] is null.");
        _transforms = (ITransform[])transforms.Clone();
    }

    /// <summary>The transforms, in order.</summary>
    public IReadOnlyList<ITransform> Transforms => _transforms;

    /// <inheritdoc/>
    public int[] OutputShape(int[] shape)
    {
        ArgumentNullException.ThrowIfNull(shape);
        foreach (var t in _transforms) shape = t.OutputShape(shape);
        return (int[])shape.Clone();
    }

    /// <inheritdoc/>
    public void Apply(ReadOnlySpan<float> input, int[] shape, Span<float> output, ref TransformRandom random)
    {
        if (_transforms.Length == 0)
        {
            input[..Shapes.Numel(shape, nameof(shape))].CopyTo(output);
            return;
        }
        float[]? scratch = null;
        try
        {
            for (int i = 0; i < _transforms.Length; i++)
            {
                var next = _transforms[i].OutputShape(shape);
                if (i == _transforms.Length - 1)
                {
                    _transforms[i].Apply(input, shape, output, ref random);
                    break;
                }
                var buffer = ArrayPool<float>.Shared.Rent(Shapes.Numel(next, nameof(shape)));
                _transforms[i].Apply(input, shape, buffer, ref random);
                if (scratch is not null) ArrayPool<float>.Shared.Return(scratch);
                scratch = buffer;
                input = buffer;
                shape = next;
            }
        }
        finally
        {
            if (scratch is not null) ArrayPool<float>.Shared.Return(scratch);
        }
    }
}
