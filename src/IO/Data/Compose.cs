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

    // The shapes between the transforms for the last input shape (a loader's samples all have one): computed once, not
    // per sample. Replaced as a whole, so concurrent callers see either the old chain or the new one.
    private int[][]? _chain;

    private int[][] Chain(int[] shape)
    {
        var chain = Volatile.Read(ref _chain);
        if (chain is not null && chain[0].AsSpan().SequenceEqual(shape)) return chain;
        chain = new int[_transforms.Length + 1][];
        chain[0] = (int[])shape.Clone();
        for (int i = 0; i < _transforms.Length; i++) chain[i + 1] = _transforms[i].OutputShape((int[])chain[i].Clone());
        Volatile.Write(ref _chain, chain);
        return chain;
    }

    /// <inheritdoc/>
    public void Apply(ReadOnlySpan<float> input, int[] shape, Span<float> output, ref TransformRandom random)
    {
        if (_transforms.Length == 0)
        {
            input[..Shapes.Numel(shape, nameof(shape))].CopyTo(output);
            return;
        }
        var shapes = Chain(shape);
        float[]? scratch = null;
        try
        {
            for (int i = 0; i < _transforms.Length; i++)
            {
                var next = shapes[i + 1];
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
