namespace DeepSharp.Layers;

/// <summary>
/// The residual block of ResNet (Dive into Deep Learning §8.6): y = relu(bn2(conv2(relu(bn1(conv1(x))))) + shortcut(x)),
/// both convolutions 3×3 with padding 1, the first with <see cref="Stride"/>. The shortcut is x itself, or a 1×1
/// convolution with the same stride when <see cref="UsesProjection"/> (the book's <c>use_1x1conv</c>; needed whenever
/// the block changes the channel count or the resolution). Input channels come from the first batch.
/// </summary>
/// <example><code>
/// var stage = new Sequential(new Residual(128, stride: 2), new Residual(128)); // halves H and W, 64 → 128 channels
/// </code></example>
public sealed class Residual : Block
{
    private readonly Conv2d _conv1, _conv2;
    private readonly Conv2d? _conv3;
    private readonly BatchNorm2d _bn1, _bn2;

    /// <summary>A block with <paramref name="channels"/> output channels whose first convolution steps by
    /// <paramref name="stride"/>; <paramref name="useProjection"/> (default: when the stride is not 1) adds the 1×1
    /// shortcut convolution.</summary>
    /// <exception cref="ArgumentOutOfRangeException">channels or stride is not positive.</exception>
    public Residual(int channels, int stride = 1, bool? useProjection = null)
    {
        if (channels <= 0)
            throw new ArgumentOutOfRangeException(nameof(channels), channels, $"Residual: channels must be positive, got {channels}.");
        if (stride <= 0) throw new ArgumentOutOfRangeException(nameof(stride), stride, $"Residual: stride must be positive, got {stride}.");
        (Channels, Stride, UsesProjection) = (channels, stride, useProjection ?? stride != 1);
        _conv1 = Register("conv1", new Conv2d(channels, 3, stride: stride, padding: 1));
        _conv2 = Register("conv2", new Conv2d(channels, 3, padding: 1));
        if (UsesProjection) _conv3 = Register("conv3", new Conv2d(channels, 1, stride: stride));
        _bn1 = Register("bn1", new BatchNorm2d(channels));
        _bn2 = Register("bn2", new BatchNorm2d(channels));
    }

    /// <summary>Output channels.</summary>
    public int Channels { get; }
    /// <summary>The first convolution's (and the shortcut's) stride.</summary>
    public int Stride { get; }
    /// <summary>Whether the shortcut is a 1×1 convolution rather than the identity.</summary>
    public bool UsesProjection { get; }

    /// <inheritdoc/>
    protected override Tensor Forward(Tensor x)
    {
        if (x.Rank != 4)
            throw new ArgumentException($"Residual: expected input [batch, channels, height, width], got {Layout.Format(x.Shape)}.");
        if (_conv3 is null && (x.Size(1) != Channels || Stride != 1))
            throw new ArgumentException(
                $"Residual: an input of {x.Size(1)} channels cannot be added to an output of {Channels} channels with stride {Stride} " +
                $"without a projection; create it as new Residual({Channels}, stride: {Stride}, useProjection: true).");
        var y = _bn1.Call(_conv1.Call(x)).Relu();
        y = _bn2.Call(_conv2.Call(y));
        return (y + (_conv3?.Call(x) ?? x)).Relu();
    }

    /// <inheritdoc/>
    protected override string ExtraRepr() => $"{Channels} channels, stride {Stride}{(UsesProjection ? ", 1×1 shortcut" : "")}";
}

/// <summary>
/// ResNet models built from <see cref="Residual"/> blocks as in Dive into Deep Learning §8.6: a stem, four stages of
/// residual blocks (each stage after the first halves the resolution and doubles the channels), global average pooling
/// and a linear classifier.
/// </summary>
public static class ResNet
{
    /// <summary>
    /// ResNet-18: stages of 2 blocks with 64, 128, 256 and 512 channels. <paramref name="smallImages"/> swaps the ImageNet
    /// stem (7×7 convolution with stride 2 and a 3×3 max-pool with stride 2) for a 3×3 convolution with stride 1, which
    /// suits 28×28 or 32×32 images.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">classes is not positive.</exception>
    public static Sequential ResNet18(int classes = 10, bool smallImages = false) =>
        Create([2, 2, 2, 2], [64, 128, 256, 512], classes, smallImages);

    /// <summary>A ResNet with <paramref name="blocks"/>[i] residual blocks of <paramref name="channels"/>[i] channels in
    /// stage i (the stem has channels[0]); see <see cref="ResNet18"/> for <paramref name="smallImages"/>.</summary>
    /// <exception cref="ArgumentException">The arrays are empty or of different lengths.</exception>
    /// <exception cref="ArgumentOutOfRangeException">A count, a channel count or classes is not positive.</exception>
    public static Sequential Create(int[] blocks, int[] channels, int classes = 10, bool smallImages = false)
    {
        ArgumentNullException.ThrowIfNull(blocks);
        ArgumentNullException.ThrowIfNull(channels);
        if (blocks.Length == 0 || blocks.Length != channels.Length)
            throw new ArgumentException($"ResNet: blocks ({blocks.Length} stages) and channels ({channels.Length}) must be non-empty and " +
                "of the same length.", nameof(blocks));
        if (blocks.Any(b => b <= 0) || channels.Any(c => c <= 0))
            throw new ArgumentOutOfRangeException(nameof(blocks), $"ResNet: block counts [{string.Join(", ", blocks)}] and channels " +
                $"[{string.Join(", ", channels)}] must be positive.");
        if (classes <= 0)
            throw new ArgumentOutOfRangeException(nameof(classes), classes, $"ResNet: classes must be positive, got {classes}.");
        var net = new Sequential();
        net.Add("stem", smallImages
            ? new Sequential(new Conv2d(channels[0], 3, padding: 1), new BatchNorm2d(channels[0]), new Relu())
            : new Sequential(new Conv2d(channels[0], 7, stride: 2, padding: 3), new BatchNorm2d(channels[0]), new Relu(),
                new MaxPool2d(3, 2, 1)));
        for (int s = 0; s < blocks.Length; s++)
        {
            var stage = new Sequential();
            for (int i = 0; i < blocks[s]; i++)
                stage.Add(i == 0 && s > 0 ? new Residual(channels[s], stride: 2) : new Residual(channels[s]));
            net.Add($"stage{s + 1}", stage);
        }
        net.Add("pool", new AdaptiveAvgPool2d(1));
        net.Add("flatten", new Flatten());
        net.Add("fc", new Dense(classes));
        return net;
    }
}
