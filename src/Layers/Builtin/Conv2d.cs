namespace DeepSharp.Layers;

/// <summary>
/// 2-D convolution: x: [batch, in, H, W] → [batch, out, (H + 2p - k)/s + 1, (W + 2p - k)/s + 1], weight [out, in, k, k]
/// as in PyTorch, computed by <see cref="Functional.Conv2d"/> (the windows as columns in one launch, then one batched
/// product with the bias fused). Without <c>inChannels</c> the input channels come from the first batch. Defaults: weight Kaiming-uniform
/// with a = √5, bias zeros.
/// </summary>
public sealed class Conv2d : Block
{
    /// <summary>A convolution with <paramref name="outChannels"/> filters of size kernel×kernel.</summary>
    /// <exception cref="ArgumentOutOfRangeException">A size is not positive, or padding is negative.</exception>
    public Conv2d(int outChannels, int kernel, int stride = 1, int padding = 0, int? inChannels = null, bool bias = true)
    {
        if (outChannels <= 0 || kernel <= 0 || stride <= 0 || padding < 0 || inChannels <= 0)
            throw new ArgumentOutOfRangeException(nameof(outChannels),
                $"Conv2d: out {outChannels}, kernel {kernel}, stride {stride}, padding {padding}, in {inChannels}: sizes must be " +
                "positive and padding >= 0.");
        (OutChannels, Kernel, Stride, Padding) = (outChannels, kernel, stride, padding);
        Weight = Register("weight", new Parameter([outChannels, inChannels ?? -1, kernel, kernel], Init.KaimingUniform(MathF.Sqrt(5f))));
        Bias = bias ? Register("bias", new Parameter([outChannels], Init.Zeros)) : null;
    }

    /// <summary>Filters, kernel edge, stride, zero padding.</summary>
    public int OutChannels { get; }
    /// <summary>Kernel edge.</summary>
    public int Kernel { get; }
    /// <summary>Step between windows.</summary>
    public int Stride { get; }
    /// <summary>Zeros added on each side.</summary>
    public int Padding { get; }
    /// <summary>[out, in, k, k].</summary>
    public Parameter Weight { get; }
    /// <summary>[out], or null.</summary>
    public Parameter? Bias { get; }

    /// <inheritdoc/>
    protected override Tensor Forward(Tensor x)
    {
        if (x.Rank != 4)
            throw new ArgumentException($"Conv2d: expected input [batch, channels, height, width], got {Layout.Format(x.Layout.Shape)}.");
        int c = x.Size(1);
        if (c == 0 && !Weight.IsInitialized)
            throw new ArgumentException($"Conv2d '{Weight.Path}': cannot take the input channels from an input with 0 channels (shape " +
                $"{Layout.Format(x.Layout.Shape)}).");
        Materialize(Weight, [OutChannels, c, Kernel, Kernel], x.Device);
        CheckDevice(Weight, x);
        if (Weight.Shape[1] != c)
            throw new ArgumentException(
                $"Conv2d '{Weight.Path}': expected {Weight.Shape[1]} input channels but got {c} (shape {Layout.Format(x.Layout.Shape)}).");
        return Functional.Conv2d(x, Weight.Data, Bias?.Data, Stride, Padding);
    }

    /// <inheritdoc/>
    protected override string ExtraRepr() =>
        $"{(Weight.Shape[1] < 0 ? "?" : Weight.Shape[1].ToString(System.Globalization.CultureInfo.InvariantCulture))} → {OutChannels}, " +
            $"kernel {Kernel}, stride {Stride}, padding {Padding}";
}

/// <summary>
/// Max over each kernel×kernel window: [N, C, H, W] → [N, C, OH, OW]; padding reads −inf. Each window's gradient is split
/// evenly among its elements equal to the max (t ties get g/t each, as <c>torch.amax</c>; PyTorch's <c>max_pool2d</c> sends
/// it all to one element); a window whose max is NaN gives its elements NaN. See <see cref="Functional.MaxPool2d"/>.
/// </summary>
public sealed class MaxPool2d(int kernel, int? stride = null, int padding = 0) : Block
{
    /// <summary>Window edge, step (default: the kernel) and zero padding.</summary>
    public int Kernel { get; } = kernel > 0 ? kernel
        : throw new ArgumentOutOfRangeException(nameof(kernel), $"MaxPool2d: kernel must be positive, got {kernel}.");
    /// <summary>Step between windows.</summary>
    public int Stride { get; } = stride ?? kernel;
    /// <summary>Padding (with -inf, so it never wins).</summary>
    public int Padding { get; } = padding;

    /// <inheritdoc/>
    protected override Tensor Forward(Tensor x) => Functional.MaxPool2d(x, Kernel, Stride, Padding);

    /// <inheritdoc/>
    protected override string ExtraRepr() => $"kernel {Kernel}, stride {Stride}";
}

/// <summary>Mean over each kernel×kernel window (zero padding counts, as PyTorch's default).</summary>
public sealed class AvgPool2d(int kernel, int? stride = null, int padding = 0) : Block
{
    /// <summary>Window edge.</summary>
    public int Kernel { get; } = kernel > 0 ? kernel
        : throw new ArgumentOutOfRangeException(nameof(kernel), $"AvgPool2d: kernel must be positive, got {kernel}.");
    /// <summary>Step between windows.</summary>
    public int Stride { get; } = stride ?? kernel;
    /// <summary>Zero padding.</summary>
    public int Padding { get; } = padding;

    /// <inheritdoc/>
    protected override Tensor Forward(Tensor x) => Functional.AvgPool2d(x, Kernel, Stride, Padding);

    /// <inheritdoc/>
    protected override string ExtraRepr() => $"kernel {Kernel}, stride {Stride}";
}
