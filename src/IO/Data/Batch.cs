namespace DeepSharp.Data;

/// <summary>
/// One batch from a <see cref="DataLoader"/>: features [batch, …] and labels [batch, …] on the loader's device. The caller
/// owns both tensors: dispose the batch (or each tensor) when the step is done, so device memory goes back to the pool at
/// once instead of at the next garbage collection. <c>foreach (var (x, y) in loader)</c> deconstructs it.
/// </summary>
public sealed class Batch : IDisposable
{
    internal Batch(Tensor features, Tensor labels)
    {
        Features = features;
        Labels = labels;
    }

    /// <summary>The features, [batch, …per-sample shape].</summary>
    public Tensor Features { get; }

    /// <summary>The labels, [batch, …per-sample label shape] ([batch] for class labels).</summary>
    public Tensor Labels { get; }

    /// <summary>The number of samples in this batch (the last batch may be smaller unless the loader drops it).</summary>
    public int Size => Features.Shape[0];

    /// <summary>Deconstructs into (features, labels).</summary>
    public void Deconstruct(out Tensor features, out Tensor labels)
    {
        features = Features;
        labels = Labels;
    }

    /// <summary>Disposes both tensors.</summary>
    public void Dispose()
    {
        Features.Dispose();
        Labels.Dispose();
    }
}
