using System.Globalization;

namespace DeepSharp.Layers;

/// <summary>
/// Batch normalization over the channels (dim 1) of its input, as PyTorch's <c>_BatchNorm</c>: in training mode each
/// channel is normalized with the batch's mean and biased variance and the running statistics are updated
/// (running = (1 − momentum)·running + momentum·batch, with the unbiased variance; momentum null: the cumulative average,
/// factor 1/num_batches_tracked); in eval mode with the running statistics. State: <c>weight</c> (ones) and <c>bias</c>
/// (zeros) [C] when affine; buffers <c>running_mean</c> (zeros), <c>running_var</c> (ones) [C] and
/// <c>num_batches_tracked</c> (int64 scalar) when tracking. See <see cref="Functional.BatchNorm"/>.
/// </summary>
public abstract class BatchNormBase : Block
{
    /// <summary>A batch norm over <paramref name="numFeatures"/> channels.</summary>
    /// <exception cref="ArgumentOutOfRangeException">numFeatures is not positive, or eps is negative or NaN.</exception>
    protected BatchNormBase(int numFeatures, float eps, float? momentum, bool affine, bool trackRunningStats)
    {
        if (numFeatures <= 0)
            throw new ArgumentOutOfRangeException(nameof(numFeatures), numFeatures,
                $"{GetType().Name}: numFeatures must be positive, got {numFeatures}.");
        if (!(eps >= 0)) throw new ArgumentOutOfRangeException(nameof(eps), eps, $"{GetType().Name}: eps must be >= 0, got {eps}.");
        (NumFeatures, Eps, Momentum, Affine, TrackRunningStats) = (numFeatures, eps, momentum, affine, trackRunningStats);
        if (affine)
        {
            Weight = Register("weight", new Parameter([numFeatures], Init.Ones));
            Bias = Register("bias", new Parameter([numFeatures], Init.Zeros));
        }
        if (!trackRunningStats) return;
        RunningMean = RegisterBuffer("running_mean", Tensor.Zeros([numFeatures]));
        RunningVar = RegisterBuffer("running_var", Tensor.Ones([numFeatures]));
        NumBatchesTracked = RegisterBuffer("num_batches_tracked", Tensor.Zeros([], DType.Int64));
    }

    /// <summary>Channels C.</summary>
    public int NumFeatures { get; }
    /// <summary>Added to the variance before the square root.</summary>
    public float Eps { get; }
    /// <summary>Weight of the batch in the running statistics; null: the cumulative moving average.</summary>
    public float? Momentum { get; }
    /// <summary>Whether the layer has a weight and a bias.</summary>
    public bool Affine { get; }
    /// <summary>Whether the layer keeps running statistics (else it always normalizes with the batch's).</summary>
    public bool TrackRunningStats { get; }
    /// <summary>[C] (ones), or null without affine.</summary>
    public Parameter? Weight { get; }
    /// <summary>[C] (zeros), or null without affine.</summary>
    public Parameter? Bias { get; }
    /// <summary>Buffer <c>running_mean</c> [C], or null without tracking.</summary>
    public Tensor? RunningMean { get; }
    /// <summary>Buffer <c>running_var</c> [C] (the unbiased batch variances' average), or null without tracking.</summary>
    public Tensor? RunningVar { get; }
    /// <summary>Buffer <c>num_batches_tracked</c>: an int64 scalar counting training batches, or null without tracking.</summary>
    public Tensor? NumBatchesTracked { get; }

    /// <summary>Throws unless x has the rank this layer takes.</summary>
    /// <exception cref="ArgumentException">x has another rank.</exception>
    protected abstract void CheckInput(Tensor x);

    /// <summary>Sets the running statistics back to mean 0, variance 1 and no batches tracked.</summary>
    public void ResetRunningStats()
    {
        if (!TrackRunningStats) return;
        using var _ = Autograd.NoGrad();
        RunningMean!.ZeroInPlace();
        RunningVar!.FillInPlace(1f);
        NumBatchesTracked!.CopyFrom(Tensor.Zeros([], DType.Int64, NumBatchesTracked.Device));
    }

    /// <inheritdoc/>
    protected override Tensor Forward(Tensor x)
    {
        ArgumentNullException.ThrowIfNull(x);
        CheckInput(x);
        if (x.Size(1) != NumFeatures)
            throw new ArgumentException($"{GetType().Name}: expected {NumFeatures} channels (dim 1) but got {x.Size(1)} (shape " +
                $"{Layout.Format(x.Layout.Shape)}).", nameof(x));
        if (Weight is not null) CheckDevice(Weight, x);
        if (RunningMean is not null && RunningMean.Device != x.Device)
            throw new DeviceMismatchException($"{GetType().Name}: buffer running_mean is on {RunningMean.Device}, input on {x.Device}. " +
                "Move the model with net.To(device) (it moves buffers too) or the input with x.To(device).");
        float factor = Momentum ?? 0f;
        if (IsTraining && TrackRunningStats)
        {
            long batches = CountBatch();
            if (Momentum is null) factor = (float)(1.0 / batches);
        }
        // As PyTorch: batch statistics in training mode or without running statistics; the running ones are updated only
        // when tracked and training, and read in eval mode.
        bool batch = IsTraining || RunningMean is null;
        return Functional.BatchNorm(x, RunningMean, RunningVar, Weight?.Data, Bias?.Data, batch, factor, Eps);
    }

    /// <summary>num_batches_tracked += 1. The cumulative average needs the count on the host: read, add, write back, exact.
    /// Otherwise it is added on the device without a round-trip (through float32: exact up to 2^24 batches).</summary>
    private long CountBatch()
    {
        using var _ = Autograd.NoGrad();
        var tracked = NumBatchesTracked!;
        if (Momentum is null)
        {
            long next = tracked.ToArray<long>()[0] + 1;
            using var value = Tensor.Full([], next, DType.Int64, tracked.Device);
            tracked.CopyFrom(value);
            return next;
        }
        using var count = tracked.To(DType.Float32);
        tracked.CopyFrom(count.AddInPlace(1f));
        return 0;
    }

    /// <inheritdoc/>
    protected override string ExtraRepr() => string.Create(CultureInfo.InvariantCulture,
        $"{NumFeatures}, eps={Eps}, momentum={(Momentum is { } m ? m.ToString(CultureInfo.InvariantCulture) : "null")}, " +
        $"affine={(Affine ? "true" : "false")}, trackRunningStats={(TrackRunningStats ? "true" : "false")}");
}

/// <summary>Batch normalization of [N, C] or [N, C, L] inputs (PyTorch's <c>BatchNorm1d</c>); see <see cref="BatchNormBase"/>.</summary>
/// <param name="numFeatures">Channels C.</param>
/// <param name="eps">Added to the variance.</param>
/// <param name="momentum">Weight of each batch in the running statistics; null: the cumulative moving average.</param>
/// <param name="affine">Whether to learn a weight and a bias.</param>
/// <param name="trackRunningStats">Whether to keep running statistics for eval mode.</param>
public sealed class BatchNorm1d(int numFeatures, float eps = 1e-5f, float? momentum = 0.1f, bool affine = true,
    bool trackRunningStats = true) : BatchNormBase(numFeatures, eps, momentum, affine, trackRunningStats)
{
    /// <inheritdoc/>
    protected override void CheckInput(Tensor x)
    {
        if (x.Rank is not (2 or 3))
            throw new ArgumentException($"BatchNorm1d: expected 2D or 3D input ([batch, features] or [batch, channels, length]), got " +
                $"{x.Rank}D input of shape {Layout.Format(x.Layout.Shape)}.", nameof(x));
    }
}

/// <summary>Batch normalization of [N, C, H, W] inputs (PyTorch's <c>BatchNorm2d</c>); see <see cref="BatchNormBase"/>.</summary>
/// <param name="numFeatures">Channels C.</param>
/// <param name="eps">Added to the variance.</param>
/// <param name="momentum">Weight of each batch in the running statistics; null: the cumulative moving average.</param>
/// <param name="affine">Whether to learn a weight and a bias.</param>
/// <param name="trackRunningStats">Whether to keep running statistics for eval mode.</param>
public sealed class BatchNorm2d(int numFeatures, float eps = 1e-5f, float? momentum = 0.1f, bool affine = true,
    bool trackRunningStats = true) : BatchNormBase(numFeatures, eps, momentum, affine, trackRunningStats)
{
    /// <inheritdoc/>
    protected override void CheckInput(Tensor x)
    {
        if (x.Rank != 4)
            throw new ArgumentException($"BatchNorm2d: expected 4D input [batch, channels, height, width], got {x.Rank}D input of shape " +
                $"{Layout.Format(x.Layout.Shape)}.", nameof(x));
    }
}

/// <summary>
/// Layer normalization over the trailing dims <c>normalizedShape</c> (PyTorch's <c>LayerNorm</c>): each row is normalized
/// with its own mean and biased variance, the same in training and eval mode. State: <c>weight</c> (ones) and
/// <c>bias</c> (zeros) of shape normalizedShape when elementwise-affine. See <see cref="Functional.LayerNorm"/>.
/// </summary>
public sealed class LayerNorm : Block
{
    /// <summary>A layer norm over the trailing dims <paramref name="normalizedShape"/>.</summary>
    /// <exception cref="ArgumentNullException">normalizedShape is null.</exception>
    /// <exception cref="ArgumentOutOfRangeException">normalizedShape is empty or has a dim below 1, or eps is negative or
    /// NaN.</exception>
    public LayerNorm(int[] normalizedShape, float eps = 1e-5f, bool elementwiseAffine = true, bool bias = true)
    {
        ArgumentNullException.ThrowIfNull(normalizedShape);
        if (normalizedShape.Length == 0 || normalizedShape.Any(d => d < 1) || !Layout.TryNumel(normalizedShape, out _))
            throw new ArgumentOutOfRangeException(nameof(normalizedShape),
                $"LayerNorm: normalizedShape must be one or more positive dims, got {Layout.Format(normalizedShape)}.");
        if (!(eps >= 0)) throw new ArgumentOutOfRangeException(nameof(eps), eps, $"LayerNorm: eps must be >= 0, got {eps}.");
        _shape = (int[])normalizedShape.Clone();
        (Eps, ElementwiseAffine) = (eps, elementwiseAffine);
        Weight = elementwiseAffine ? Register("weight", new Parameter((int[])_shape.Clone(), Init.Ones)) : null;
        Bias = elementwiseAffine && bias ? Register("bias", new Parameter((int[])_shape.Clone(), Init.Zeros)) : null;
    }

    /// <summary>A layer norm over the last dim, of size <paramref name="normalizedShape"/>.</summary>
    /// <exception cref="ArgumentOutOfRangeException">normalizedShape is below 1, or eps is negative or NaN.</exception>
    public LayerNorm(int normalizedShape, float eps = 1e-5f, bool elementwiseAffine = true, bool bias = true)
        : this([normalizedShape], eps, elementwiseAffine, bias) { }

    private readonly int[] _shape;

    /// <summary>The normalized trailing dims.</summary>
    public IReadOnlyList<int> NormalizedShape => _shape;
    /// <summary>Added to the variance before the square root.</summary>
    public float Eps { get; }
    /// <summary>Whether the layer has a weight (and a bias unless constructed without).</summary>
    public bool ElementwiseAffine { get; }
    /// <summary>normalizedShape (ones), or null.</summary>
    public Parameter? Weight { get; }
    /// <summary>normalizedShape (zeros), or null.</summary>
    public Parameter? Bias { get; }

    /// <inheritdoc/>
    protected override Tensor Forward(Tensor x)
    {
        if (Weight is not null) CheckDevice(Weight, x);
        return Functional.LayerNorm(x, _shape, Weight?.Data, Bias?.Data, Eps);
    }

    /// <inheritdoc/>
    protected override string ExtraRepr() => string.Create(CultureInfo.InvariantCulture,
        $"{Layout.Format(_shape)}, eps={Eps}, elementwiseAffine={(ElementwiseAffine ? "true" : "false")}");
}

/// <summary>
/// Group normalization (PyTorch's <c>GroupNorm</c>): [N, C, *] with the C channels split into <c>numGroups</c> groups,
/// each (sample, group) normalized over its channels and trailing dims, then a per-channel affine. State: <c>weight</c>
/// (ones) and <c>bias</c> (zeros) [C] when affine. See <see cref="Functional.GroupNorm"/>.
/// </summary>
public sealed class GroupNorm : Block
{
    /// <summary>A group norm of <paramref name="numChannels"/> channels in <paramref name="numGroups"/> groups.</summary>
    /// <exception cref="ArgumentOutOfRangeException">A count is not positive, or eps is negative or NaN.</exception>
    /// <exception cref="ArgumentException">numChannels is not divisible by numGroups.</exception>
    public GroupNorm(int numGroups, int numChannels, float eps = 1e-5f, bool affine = true)
    {
        if (numGroups <= 0 || numChannels <= 0)
            throw new ArgumentOutOfRangeException(nameof(numGroups),
                $"GroupNorm: numGroups and numChannels must be positive, got {numGroups} and {numChannels}.");
        if (numChannels % numGroups != 0)
            throw new ArgumentException($"GroupNorm: numChannels ({numChannels}) must be divisible by numGroups ({numGroups}).",
                nameof(numChannels));
        if (!(eps >= 0)) throw new ArgumentOutOfRangeException(nameof(eps), eps, $"GroupNorm: eps must be >= 0, got {eps}.");
        (NumGroups, NumChannels, Eps, Affine) = (numGroups, numChannels, eps, affine);
        Weight = affine ? Register("weight", new Parameter([numChannels], Init.Ones)) : null;
        Bias = affine ? Register("bias", new Parameter([numChannels], Init.Zeros)) : null;
    }

    /// <summary>Groups the channels are split into.</summary>
    public int NumGroups { get; }
    /// <summary>Channels C.</summary>
    public int NumChannels { get; }
    /// <summary>Added to the variance before the square root.</summary>
    public float Eps { get; }
    /// <summary>Whether the layer has a weight and a bias.</summary>
    public bool Affine { get; }
    /// <summary>[C] (ones), or null.</summary>
    public Parameter? Weight { get; }
    /// <summary>[C] (zeros), or null.</summary>
    public Parameter? Bias { get; }

    /// <inheritdoc/>
    protected override Tensor Forward(Tensor x)
    {
        ArgumentNullException.ThrowIfNull(x);
        if (x.Rank >= 2 && x.Size(1) != NumChannels)
            throw new ArgumentException($"GroupNorm: expected {NumChannels} channels (dim 1) but got {x.Size(1)} (shape " +
                $"{Layout.Format(x.Layout.Shape)}).", nameof(x));
        if (Weight is not null) CheckDevice(Weight, x);
        return Functional.GroupNorm(x, NumGroups, Weight?.Data, Bias?.Data, Eps);
    }

    /// <inheritdoc/>
    protected override string ExtraRepr() => string.Create(CultureInfo.InvariantCulture,
        $"{NumGroups}, {NumChannels}, eps={Eps}, affine={(Affine ? "true" : "false")}");
}
