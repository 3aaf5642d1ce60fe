using System.Collections;

namespace DeepSharp.Data;

/// <summary>
/// Batches a data set (PyTorch's <c>DataLoader</c>): <c>foreach (var (x, y) in loader)</c> gives features [batch, …] and
/// labels [batch, …] on <see cref="Device"/>. A background worker gathers the samples, runs the transform and packs the
/// next <see cref="Prefetch"/> batches on the host while the current one trains; each batch is uploaded with one copy
/// per tensor when the consumer's <c>MoveNext</c> takes it (on the consuming thread, where the accelerator's context
/// lives).
/// <para>Determinism: the order of epoch e is a permutation drawn from (<see cref="Seed"/>, e), and the transform of a
/// sample from (seed, e, sample index) (see <see cref="TransformRandom.For"/>), so the same seed gives the same batches on
/// any machine and thread timing. Each enumeration uses <see cref="Epoch"/> and then advances it by one; set it to resume
/// a run where it stopped.</para>
/// <para>Ownership: the caller owns each <see cref="Batch"/>'s tensors. Dispose the batch at the end of the step (or
/// each tensor), or let a <see cref="TensorScope"/> that is current on the consuming thread while <c>MoveNext</c> runs own
/// them. Stopping early (<c>break</c>, an exception, a cancelled token) stops the worker and returns its buffers; no
/// tensor is left behind except the batches already handed out.</para>
/// </summary>
public sealed partial class DataLoader : IEnumerable<Batch>
{
    private readonly ISampleSource _source;
    private readonly int[] _inShape, _outShape;

    /// <summary>Batches an in-memory <paramref name="dataset"/> (any dtypes; a transform needs float32 features).</summary>
    /// <param name="dataset">The samples.</param>
    /// <param name="batchSize">Samples per batch (the last one may be smaller unless <paramref name="dropLast"/>).</param>
    /// <param name="shuffle">A new random order every epoch (from <paramref name="seed"/> and the epoch).</param>
    /// <param name="seed">The seed of the shuffle and of the transforms' random numbers.</param>
    /// <param name="dropLast">Drops the last batch when it is smaller than <paramref name="batchSize"/>.</param>
    /// <param name="transform">Applied to each sample's features in the worker (null: none).</param>
    /// <param name="device">Where the batches go (null: <see cref="Device.Cpu"/>).</param>
    /// <param name="prefetch">Batches prepared ahead by the worker; 0 prepares each batch in <c>MoveNext</c>, on the
    /// consuming thread (no worker).</param>
    /// <exception cref="ArgumentNullException">dataset is null.</exception>
    /// <exception cref="ArgumentOutOfRangeException">batchSize is not positive or prefetch is negative.</exception>
    /// <exception cref="ArgumentException">A transform is given but the features are not float32, or the transform refuses
    /// their shape.</exception>
    public DataLoader(TensorDataset dataset, int batchSize, bool shuffle = false, ulong seed = 0, bool dropLast = false,
        ITransform? transform = null, Device? device = null, int prefetch = 2)
        : this((ISampleSource)Checked(dataset, nameof(dataset)), batchSize, shuffle, seed, dropLast, transform, device, prefetch) { }

    /// <summary>Batches a user's <paramref name="dataset"/> of <see cref="Sample"/>s into float32 features
    /// [batch, …shape] and int64 labels [batch]; every sample must have the shape of sample 0 (read here, once).</summary>
    /// <inheritdoc cref="DataLoader(TensorDataset, int, bool, ulong, bool, ITransform?, Device?, int)"/>
    public DataLoader(Dataset<Sample> dataset, int batchSize, bool shuffle = false, ulong seed = 0, bool dropLast = false,
        ITransform? transform = null, Device? device = null, int prefetch = 2)
        : this(new SampleDatasetSource(Checked(dataset, nameof(dataset))), batchSize, shuffle, seed, dropLast, transform, device,
            prefetch)
    { }

    private DataLoader(ISampleSource source, int batchSize, bool shuffle, ulong seed, bool dropLast, ITransform? transform,
        Device? device, int prefetch)
    {
        if (batchSize <= 0)
            throw new ArgumentOutOfRangeException(nameof(batchSize), batchSize, "DataLoader: the batch size must be positive.");
        if (prefetch < 0)
            throw new ArgumentOutOfRangeException(nameof(prefetch), prefetch, "DataLoader: prefetch must be >= 0 (0: no worker).");
        _source = source;
        _inShape = source.FeatureShape;
        if (transform is not null && source.FeatureDType != DType.Float32)
            throw new ArgumentException($"DataLoader: transforms take float32 features, but the data set's are " +
                $"{source.FeatureDType.Name()}; convert them with .To(DType.Float32) first.", nameof(transform));
        _outShape = transform?.OutputShape((int[])_inShape.Clone()) ?? _inShape;
        long batchBytes = (long)Math.Min(batchSize, Math.Max(source.Count, 1)) * Shapes.Numel(_outShape, nameof(transform)) *
            source.FeatureDType.SizeOf();
        if (batchBytes > Array.MaxLength)
            throw new ArgumentOutOfRangeException(nameof(batchSize), batchSize, $"DataLoader: a batch of {batchSize} samples of " +
                $"shape {Shapes.Format(_outShape)} needs {batchBytes} bytes, more than one host array holds; use smaller batches.");
        (BatchSize, Shuffle, Seed, DropLast, Transform, Device, Prefetch) =
            (batchSize, shuffle, seed, dropLast, transform, device ?? Device.Cpu, prefetch);
    }

    private static T Checked<T>(T? value, string name) where T : class => value ?? throw new ArgumentNullException(name);

    /// <summary>Samples per batch.</summary>
    public int BatchSize { get; }
    /// <summary>Whether each epoch visits the samples in a new random order.</summary>
    public bool Shuffle { get; }
    /// <summary>The seed of the shuffle and of the transforms.</summary>
    public ulong Seed { get; }
    /// <summary>Whether a last, smaller batch is dropped.</summary>
    public bool DropLast { get; }
    /// <summary>The per-sample transform, or null.</summary>
    public ITransform? Transform { get; }
    /// <summary>The device the batches are uploaded to.</summary>
    public Device Device { get; }
    /// <summary>Batches the worker prepares ahead (0: no worker).</summary>
    public int Prefetch { get; }

    /// <summary>The epoch the next enumeration uses (0 at first; each <see cref="GetEnumerator()"/> uses it and adds one).
    /// Set it when resuming: a run restarted at epoch k sees exactly the batches an uninterrupted run saw in epoch k.</summary>
    /// <exception cref="ArgumentOutOfRangeException">The value is negative.</exception>
    public int Epoch
    {
        get;
        set => field = value >= 0 ? value
            : throw new ArgumentOutOfRangeException(nameof(Epoch), value, "DataLoader: the epoch must be >= 0.");
    }

    /// <summary>The number of samples in the data set.</summary>
    public int SampleCount => _source.Count;

    /// <summary>The number of batches per epoch: ⌈N / batchSize⌉, or ⌊N / batchSize⌋ with <see cref="DropLast"/>.</summary>
    public int Count => DropLast ? _source.Count / BatchSize : (_source.Count + BatchSize - 1) / BatchSize;

    /// <summary>The shape of one sample's features as batched (after the transform).</summary>
    public int[] SampleShape => (int[])_outShape.Clone();

    /// <summary>The sample indices of <paramref name="epoch"/> in the order they are batched (the identity without
    /// <see cref="Shuffle"/>; a Fisher–Yates shuffle drawn from (seed, epoch) with it).</summary>
    /// <exception cref="ArgumentOutOfRangeException">epoch is negative.</exception>
    public int[] Order(int epoch)
    {
        if (epoch < 0) throw new ArgumentOutOfRangeException(nameof(epoch), epoch, "DataLoader.Order: the epoch must be >= 0.");
        var order = new int[_source.Count];
        for (int i = 0; i < order.Length; i++) order[i] = i;
        if (!Shuffle) return order;
        var r = new TransformRandom(Mix.Of(Seed, Mix.ShuffleStream, epoch));
        for (int i = order.Length - 1; i > 0; i--)
        {
            int j = r.Next(i + 1);
            (order[i], order[j]) = (order[j], order[i]);
        }
        return order;
    }

    /// <summary>Enumerates the batches of epoch <see cref="Epoch"/> (then advances it).</summary>
    public IEnumerator<Batch> GetEnumerator() => GetEnumerator(CancellationToken.None);

    /// <summary>Enumerates the batches of epoch <see cref="Epoch"/> (then advances it); a cancelled
    /// <paramref name="cancellationToken"/> stops the worker and makes <c>MoveNext</c> throw
    /// <see cref="OperationCanceledException"/>.</summary>
    public IEnumerator<Batch> GetEnumerator(CancellationToken cancellationToken)
    {
        int epoch = Epoch;
        Epoch = epoch + 1;
        return new Enumerator(this, epoch, cancellationToken);
    }

    /// <summary>The batches of the next epoch, stopping when <paramref name="cancellationToken"/> is cancelled:
    /// <c>foreach (var (x, y) in loader.WithCancellation(token))</c>.</summary>
    public IEnumerable<Batch> WithCancellation(CancellationToken cancellationToken) => new Cancellable(this, cancellationToken);

    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();

    private sealed class Cancellable(DataLoader loader, CancellationToken token) : IEnumerable<Batch>
    {
        public IEnumerator<Batch> GetEnumerator() => loader.GetEnumerator(token);
        IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();
    }
}
