using System.Runtime.InteropServices;

namespace DeepSharp.Data;

/// <summary>What <see cref="DataLoader"/> reads: samples of fixed feature and label shapes and dtypes, copied as bytes into
/// a batch's host buffers. Called from the loader's worker thread.</summary>
internal interface ISampleSource
{
    int Count { get; }
    int[] FeatureShape { get; }
    DType FeatureDType { get; }
    int[] LabelShape { get; }
    DType LabelDType { get; }

    /// <summary>Copies sample <paramref name="index"/>'s features and label into the two spans (exactly their sizes).</summary>
    void Read(int index, Span<byte> features, Span<byte> label);
}

/// <summary>A user's <c>Dataset&lt;Sample&gt;</c> as a sample source: every sample must have the first one's shape.</summary>
internal sealed class SampleDatasetSource : ISampleSource
{
    private readonly Dataset<Sample> _dataset;

    public SampleDatasetSource(Dataset<Sample> dataset)
    {
        _dataset = dataset;
        Count = dataset.Count;
        if (Count < 0) throw new ArgumentException($"DataLoader: the data set's Count is {Count}.", nameof(dataset));
        FeatureShape = Count > 0 ? dataset[0].Shape ?? [] : [];
    }

    public int Count { get; }
    public int[] FeatureShape { get; }
    public DType FeatureDType => DType.Float32;
    public int[] LabelShape => [];
    public DType LabelDType => DType.Int64;

    public void Read(int index, Span<byte> features, Span<byte> label)
    {
        var s = _dataset[index];
        if (s.Features is null || s.Shape is null)
            throw new InvalidOperationException($"DataLoader: sample {index} of the data set is default(Sample), not a sample.");
        if (!s.Shape.AsSpan().SequenceEqual(FeatureShape))
            throw new InvalidOperationException($"DataLoader: sample {index} has shape {Shapes.Format(s.Shape)}, but sample 0 has " +
                $"{Shapes.Format(FeatureShape)}; every sample of a batch needs the same shape (resize them in the data set).");
        MemoryMarshal.AsBytes(s.Features.AsSpan()).CopyTo(features);
        long l = s.Label;
        MemoryMarshal.AsBytes(new ReadOnlySpan<long>(in l)).CopyTo(label);
    }
}
