namespace DeepSharp.Data;

/// <summary>
/// A data set indexed by position (PyTorch's map-style <c>torch.utils.data.Dataset</c>): <see cref="Count"/> samples,
/// read one at a time by index. Implement it over files, a database or anything else; <see cref="DataLoader"/> batches a
/// <c>Dataset&lt;Sample&gt;</c>, and <see cref="TensorDataset"/> holds tensors already in memory.
/// </summary>
/// <typeparam name="T">The type of one sample.</typeparam>
public abstract class Dataset<T>
{
    /// <summary>The number of samples.</summary>
    public abstract int Count { get; }

    /// <summary>The sample at <paramref name="index"/> (0 ≤ index &lt; <see cref="Count"/>). A <see cref="DataLoader"/> calls
    /// it from its background worker, so it must be safe to call from another thread than the one that created the set.</summary>
    /// <exception cref="ArgumentOutOfRangeException">index is outside [0, Count).</exception>
    public abstract T this[int index] { get; }
}

/// <summary>
/// One sample of a user's data set: float32 features of a per-sample <see cref="Shape"/> (e.g. [channels, height, width])
/// and an integer class <see cref="Label"/>. Batched by <see cref="DataLoader"/> into features [batch, …shape] (float32)
/// and labels [batch] (int64).
/// </summary>
public readonly record struct Sample
{
    /// <summary>A sample of <paramref name="features"/> (row-major, shaped <paramref name="shape"/>) and a label.</summary>
    /// <exception cref="ArgumentNullException">features or shape is null.</exception>
    /// <exception cref="ArgumentException">A dim is negative, or the shape's element count differs from the features'
    /// length.</exception>
    public Sample(float[] features, int[] shape, long label)
    {
        ArgumentNullException.ThrowIfNull(features);
        ArgumentNullException.ThrowIfNull(shape);
        long n = Shapes.Numel(shape, nameof(shape));
        if (n != features.Length)
            throw new ArgumentException($"Sample: shape {Shapes.Format(shape)} holds {n} elements but the features have " +
                $"{features.Length}.", nameof(shape));
        Features = features;
        Shape = (int[])shape.Clone();
        Label = label;
    }

    /// <summary>The features, row-major (the array passed in, not a copy).</summary>
    public float[] Features { get; }

    /// <summary>The shape of one sample's features (a copy of the shape passed in).</summary>
    public int[] Shape { get; }

    /// <summary>The class index (or any integer target).</summary>
    public long Label { get; }
}
