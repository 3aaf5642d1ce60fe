namespace DeepSharp.Data;

/// <summary>
/// Features and labels held in host memory (PyTorch's <c>TensorDataset</c> of two tensors): sample i is
/// (features[i], labels[i]). The tensors are copied to host arrays once, so batches are gathered on the host and uploaded
/// once per batch by <see cref="DataLoader"/>, whatever device the tensors came from.
/// </summary>
public sealed class TensorDataset : Dataset<(Tensor Features, Tensor Label)>, ISampleSource
{
    private readonly HostColumn _features, _labels;

    /// <summary>A data set of <paramref name="features"/> [N, …] and <paramref name="labels"/> [N, …] (any dtype; usually
    /// float32 features and int64 class labels [N]). Both are copied; the caller keeps (and disposes) its tensors.</summary>
    /// <exception cref="ArgumentNullException">features or labels is null.</exception>
    /// <exception cref="ArgumentException">A tensor is 0-dimensional, or their first dims (the sample counts) differ.</exception>
    public TensorDataset(Tensor features, Tensor labels)
    {
        ArgumentNullException.ThrowIfNull(features);
        ArgumentNullException.ThrowIfNull(labels);
        if (features.Rank == 0) throw new ArgumentException("TensorDataset: features must be [N, …], got a 0-dimensional tensor.",
            nameof(features));
        if (labels.Rank == 0) throw new ArgumentException("TensorDataset: labels must be [N, …], got a 0-dimensional tensor.",
            nameof(labels));
        if (features.Shape[0] != labels.Shape[0])
            throw new ArgumentException($"TensorDataset: features {Shapes.Format(features.Shape)} hold {features.Shape[0]} samples " +
                $"but labels {Shapes.Format(labels.Shape)} hold {labels.Shape[0]}; the first dims must match.", nameof(labels));
        _features = HostColumn.Of(features);
        _labels = HostColumn.Of(labels);
    }

    /// <summary>A data set over host columns that the caller gives up (the readers' path: no second copy).</summary>
    internal TensorDataset(HostColumn features, HostColumn labels)
    {
        _features = features;
        _labels = labels;
    }

    /// <summary>The number of samples, N.</summary>
    public override int Count => _features.Rows;

    /// <summary>Sample <paramref name="index"/> as two new CPU tensors (features [… per sample], label [… per sample]),
    /// which the caller owns.</summary>
    /// <exception cref="ArgumentOutOfRangeException">index is outside [0, Count).</exception>
    public override (Tensor Features, Tensor Label) this[int index]
    {
        get
        {
            CheckIndex(index);
            return (_features.RowTensor(index), _labels.RowTensor(index));
        }
    }

    /// <summary>
    /// The samples at <paramref name="indices"/>, in that order, as a new data set (PyTorch's <c>Subset</c>, copied):
    /// <c>train.Subset([.. Enumerable.Range(0, 1000)])</c> keeps the first 1000 samples, e.g. for a quick run.
    /// </summary>
    /// <exception cref="ArgumentNullException">indices is null.</exception>
    /// <exception cref="ArgumentOutOfRangeException">An index is outside [0, Count).</exception>
    public TensorDataset Subset(IReadOnlyList<int> indices)
    {
        ArgumentNullException.ThrowIfNull(indices);
        foreach (var i in indices) CheckIndex(i);
        return new TensorDataset(_features.Select(indices), _labels.Select(indices));
    }

    /// <summary>The shape of one sample's features (e.g. [1, 28, 28]).</summary>
    public int[] FeatureShape => (int[])_features.RowShape.Clone();

    /// <summary>The shape of one sample's label ([] for class labels [N]).</summary>
    public int[] LabelShape => (int[])_labels.RowShape.Clone();

    /// <summary>The features' dtype.</summary>
    public DType FeatureDType => _features.DType;

    /// <summary>The labels' dtype.</summary>
    public DType LabelDType => _labels.DType;

    internal HostColumn FeatureColumn => _features;
    internal HostColumn LabelColumn => _labels;

    void ISampleSource.Read(int index, Span<byte> features, Span<byte> label)
    {
        _features.CopyRow(index, features);
        _labels.CopyRow(index, label);
    }

    private void CheckIndex(int index)
    {
        if ((uint)index >= (uint)Count)
            throw new ArgumentOutOfRangeException(nameof(index), index, $"TensorDataset: index {index} is outside [0, {Count}).");
    }
}
