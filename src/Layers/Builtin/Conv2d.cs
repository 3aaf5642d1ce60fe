namespace DeepSharp.Layers;

/// <summary>
/// 2-D convolution (PyTorch's <c>nn.Conv2d</c>): x: [batch, in, H, W] → [batch, out, OH, OW] with
/// OH = (H + 2·pH − dH·(kH − 1) − 1)/sH + 1 (OW alike), weight [out, in / groups, kH, kW] as in PyTorch, computed by
/// <see cref="Functional.Conv2d(Tensor, Tensor, Tensor?, ValueTuple{int, int}, ValueTuple{int, int}, ValueTuple{int, int}?, int)"/>
/// (the windows as columns in one launch, then one batched product). Without <c>inChannels</c> the input channels come
/// from the first batch (they must be a multiple of groups). Defaults: weight Kaiming-uniform with a = √5 (fan-in
/// in / groups · kH · kW), bias zeros.
/// </summary>
public sealed class Conv2d : Block
{
    /// <summary>A convolution with <paramref name="outChannels"/> filters of size kernel×kernel.</summary>
    /// <exception cref="ArgumentOutOfRangeException">A size is not positive, or padding is negative.</exception>
    public Conv2d(int outChannels, int kernel, int stride = 1, int padding = 0, int? inChannels = null, bool bias = true)
        : this(outChannels, (kernel, kernel), (stride, stride), (padding, padding), (1, 1), 1, inChannels, bias) { }

    /// <summary>A convolution with <paramref name="outChannels"/> filters of size kernel×kernel, dilated and grouped.</summary>
    /// <exception cref="ArgumentOutOfRangeException">A size is not positive, or padding is negative.</exception>
    /// <exception cref="ArgumentException">groups does not divide outChannels or inChannels.</exception>
    public Conv2d(int outChannels, int kernel, int stride, int padding, int dilation, int groups = 1, int? inChannels = null,
        bool bias = true)
        : this(outChannels, (kernel, kernel), (stride, stride), (padding, padding), (dilation, dilation), groups, inChannels, bias) { }

    /// <summary>A convolution with <paramref name="outChannels"/> filters of kernel.H×kernel.W, with (height, width)
    /// strides (default (1, 1)), paddings and dilations (default (1, 1)), and <paramref name="groups"/> (groups = in = out:
    /// depthwise).</summary>
    /// <exception cref="ArgumentOutOfRangeException">A size is not positive, or a padding is negative.</exception>
    /// <exception cref="ArgumentException">groups does not divide outChannels or inChannels.</exception>
    public Conv2d(int outChannels, (int H, int W) kernel, (int H, int W)? stride = null, (int H, int W) padding = default,
        (int H, int W)? dilation = null, int groups = 1, int? inChannels = null, bool bias = true)
    {
        var (s, d) = (stride ?? (1, 1), dilation ?? (1, 1));
        if (outChannels <= 0 || Math.Min(kernel.H, kernel.W) <= 0 || Math.Min(s.H, s.W) <= 0 || Math.Min(padding.H, padding.W) < 0
            || Math.Min(d.H, d.W) <= 0 || groups <= 0 || inChannels <= 0)
            throw new ArgumentOutOfRangeException(nameof(outChannels),
                $"Conv2d: out {outChannels}, kernel {P(kernel)}, stride {P(s)}, padding {P(padding)}, dilation {P(d)}, groups " +
                $"{groups}, in {inChannels}: sizes must be positive and padding >= 0.");
        if (outChannels % groups != 0 || inChannels % groups is > 0)
            throw new ArgumentException($"Conv2d: groups {groups} must divide the output channels ({outChannels}) and the input " +
                $"channels ({inChannels?.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? "from the first batch"}).",
                nameof(groups));
        (OutChannels, KernelSize, StrideSize, PaddingSize, Dilation, Groups) = (outChannels, kernel, s, padding, d, groups);
        Weight = Register("weight", new Parameter([outChannels, inChannels / groups ?? -1, kernel.H, kernel.W],
            Init.KaimingUniform(MathF.Sqrt(5f))));
        Bias = bias ? Register("bias", new Parameter([outChannels], Init.Zeros)) : null;
    }

    /// <summary>Filters.</summary>
    public int OutChannels { get; }
    /// <summary>Kernel edge (the height of a rectangular kernel: see <see cref="KernelSize"/>).</summary>
    public int Kernel => KernelSize.H;
    /// <summary>Step between windows (along the rows for rectangular strides: see <see cref="StrideSize"/>).</summary>
    public int Stride => StrideSize.H;
    /// <summary>Zeros added on each side (above and below for rectangular padding: see <see cref="PaddingSize"/>).</summary>
    public int Padding => PaddingSize.H;
    /// <summary>Kernel (height, width).</summary>
    public (int H, int W) KernelSize { get; }
    /// <summary>Steps between windows along the rows and the columns.</summary>
    public (int H, int W) StrideSize { get; }
    /// <summary>Zeros added above and below, and left and right.</summary>
    public (int H, int W) PaddingSize { get; }
    /// <summary>Spacing between a window's elements along the rows and the columns (1: adjacent).</summary>
    public (int H, int W) Dilation { get; }
    /// <summary>Channel groups: group g maps input channels [g·in/G, (g + 1)·in/G) to filters [g·out/G, (g + 1)·out/G).</summary>
    public int Groups { get; }
    /// <summary>[out, in / groups, kH, kW].</summary>
    public Parameter Weight { get; }
    /// <summary>[out], or null.</summary>
    public Parameter? Bias { get; }

    /// <inheritdoc/>
    protected override Tensor Forward(Tensor x)
    {
        if (x.Rank != 4)
            throw new ArgumentException($"Conv2d: expected input [batch, channels, height, width], got {Layout.Format(x.Layout.Shape)}.");
        int c = x.Size(1);
        if (!Weight.IsInitialized)
        {
            if (c == 0)
                throw new ArgumentException($"Conv2d '{Weight.Path}': cannot take the input channels from an input with 0 channels " +
                    $"(shape {Layout.Format(x.Layout.Shape)}).");
            if (c % Groups != 0)
                throw new ArgumentException($"Conv2d '{Weight.Path}': groups {Groups} must divide the input channels, got {c} (shape " +
                    $"{Layout.Format(x.Layout.Shape)}).", nameof(x));
        }
        Materialize(Weight, [OutChannels, c / Groups, KernelSize.H, KernelSize.W], x.Device);
        CheckDevice(Weight, x);
        if ((long)Weight.Shape[1] * Groups != c)
            throw new ArgumentException(
                $"Conv2d '{Weight.Path}': expected {(long)Weight.Shape[1] * Groups} input channels but got {c} (shape " +
                $"{Layout.Format(x.Layout.Shape)}).");
        return Functional.Conv2d(x, Weight.Data, Bias?.Data, StrideSize, PaddingSize, Dilation, Groups);
    }

    /// <inheritdoc/>
    protected override string ExtraRepr()
    {
        string inChannels = Weight.Shape[1] < 0 ? "?"
            : ((long)Weight.Shape[1] * Groups).ToString(System.Globalization.CultureInfo.InvariantCulture);
        return $"{inChannels} → {OutChannels}, kernel {P(KernelSize)}, stride {P(StrideSize)}, padding {P(PaddingSize)}" +
            (Dilation == (1, 1) ? "" : $", dilation {P(Dilation)}") + (Groups == 1 ? "" : $", groups {Groups}") +
            (Bias is null ? ", bias=false" : "");
    }

    /// <summary>A pair as "a" when both are equal, else "(a, b)".</summary>
    internal static string P((int H, int W) v) => v.H == v.W ? v.H.ToString(System.Globalization.CultureInfo.InvariantCulture)
        : $"({v.H}, {v.W})";
}

/// <summary>
/// Max over each kernel window: [N, C, H, W] → [N, C, OH, OW]; padding reads −inf. Each window's gradient is split
/// evenly among its elements equal to the max (t ties get g/t each, as <c>torch.amax</c>; PyTorch's <c>max_pool2d</c> sends
/// it all to one element); a window whose max is NaN gives its elements NaN. See <see cref="Functional.MaxPool2d(Tensor,
/// ValueTuple{int, int}, ValueTuple{int, int}?, ValueTuple{int, int})"/>.
/// </summary>
public sealed class MaxPool2d : Block
{
    /// <summary>kernel×kernel windows, stride (default: the kernel) and padding.</summary>
    /// <exception cref="ArgumentOutOfRangeException">kernel or stride is not positive, or padding is negative.</exception>
    public MaxPool2d(int kernel, int? stride = null, int padding = 0)
        : this((kernel, kernel), stride is { } s ? (s, s) : null, (padding, padding)) { }

    /// <summary>kernel.H×kernel.W windows, (height, width) strides (default: the kernel) and paddings.</summary>
    /// <exception cref="ArgumentOutOfRangeException">A kernel size or stride is not positive, or a padding is negative.</exception>
    public MaxPool2d((int H, int W) kernel, (int H, int W)? stride = null, (int H, int W) padding = default) =>
        (KernelSize, StrideSize, PaddingSize) = Pooling.Checked(nameof(MaxPool2d), kernel, stride, padding);

    /// <summary>Window edge (the height of a rectangular window: see <see cref="KernelSize"/>).</summary>
    public int Kernel => KernelSize.H;
    /// <summary>Step between windows (along the rows: see <see cref="StrideSize"/>).</summary>
    public int Stride => StrideSize.H;
    /// <summary>Padding (with -inf, so it never wins; above and below: see <see cref="PaddingSize"/>).</summary>
    public int Padding => PaddingSize.H;
    /// <summary>Window (height, width).</summary>
    public (int H, int W) KernelSize { get; }
    /// <summary>Steps between windows along the rows and the columns.</summary>
    public (int H, int W) StrideSize { get; }
    /// <summary>Padding above and below, and left and right.</summary>
    public (int H, int W) PaddingSize { get; }

    /// <inheritdoc/>
    protected override Tensor Forward(Tensor x) => Functional.MaxPool2d(x, KernelSize, StrideSize, PaddingSize);

    /// <inheritdoc/>
    protected override string ExtraRepr() => Pooling.Repr(KernelSize, StrideSize, PaddingSize);
}

/// <summary>Mean over each kernel window (zero padding counts, as PyTorch's default, unless <c>countIncludePad</c> is
/// false).</summary>
public sealed class AvgPool2d : Block
{
    /// <summary>kernel×kernel windows, stride (default: the kernel) and zero padding, which counts in the means.</summary>
    /// <exception cref="ArgumentOutOfRangeException">kernel or stride is not positive, or padding is negative.</exception>
    public AvgPool2d(int kernel, int? stride = null, int padding = 0)
        : this((kernel, kernel), stride is { } s ? (s, s) : null, (padding, padding)) { }

    /// <summary>kernel.H×kernel.W windows, (height, width) strides (default: the kernel) and paddings; with
    /// <paramref name="countIncludePad"/> false each mean divides by the window's elements inside the input.</summary>
    /// <exception cref="ArgumentOutOfRangeException">A kernel size or stride is not positive, or a padding is negative.</exception>
    public AvgPool2d((int H, int W) kernel, (int H, int W)? stride = null, (int H, int W) padding = default, bool countIncludePad = true)
    {
        (KernelSize, StrideSize, PaddingSize) = Pooling.Checked(nameof(AvgPool2d), kernel, stride, padding);
        CountIncludePad = countIncludePad;
    }

    /// <summary>Window edge (the height of a rectangular window: see <see cref="KernelSize"/>).</summary>
    public int Kernel => KernelSize.H;
    /// <summary>Step between windows (along the rows: see <see cref="StrideSize"/>).</summary>
    public int Stride => StrideSize.H;
    /// <summary>Zero padding (above and below: see <see cref="PaddingSize"/>).</summary>
    public int Padding => PaddingSize.H;
    /// <summary>Window (height, width).</summary>
    public (int H, int W) KernelSize { get; }
    /// <summary>Steps between windows along the rows and the columns.</summary>
    public (int H, int W) StrideSize { get; }
    /// <summary>Padding above and below, and left and right.</summary>
    public (int H, int W) PaddingSize { get; }
    /// <summary>Whether the padding's zeros count in each window's mean (PyTorch's <c>count_include_pad</c>).</summary>
    public bool CountIncludePad { get; }

    /// <inheritdoc/>
    protected override Tensor Forward(Tensor x) => Functional.AvgPool2d(x, KernelSize, StrideSize, PaddingSize, CountIncludePad);

    /// <inheritdoc/>
    protected override string ExtraRepr() =>
        Pooling.Repr(KernelSize, StrideSize, PaddingSize) + (CountIncludePad ? "" : ", countIncludePad=false");
}

/// <summary>Adaptive average pooling to a fixed output size (PyTorch's <c>nn.AdaptiveAvgPool2d</c>): [N, C, H, W] →
/// [N, C, OH, OW] over PyTorch's bins; (1, 1) is global average pooling. See
/// <see cref="Functional.AdaptiveAvgPool2d(Tensor, ValueTuple{int, int})"/>.</summary>
public sealed class AdaptiveAvgPool2d : Block
{
    /// <summary>A square output, outputSize×outputSize.</summary>
    /// <exception cref="ArgumentOutOfRangeException">outputSize is not positive.</exception>
    public AdaptiveAvgPool2d(int outputSize) : this((outputSize, outputSize)) { }

    /// <summary>An output of outputSize.H×outputSize.W.</summary>
    /// <exception cref="ArgumentOutOfRangeException">An output size is not positive.</exception>
    public AdaptiveAvgPool2d((int H, int W) outputSize) => OutputSize = Pooling.Output(nameof(AdaptiveAvgPool2d), outputSize);

    /// <summary>Output (height, width).</summary>
    public (int H, int W) OutputSize { get; }

    /// <inheritdoc/>
    protected override Tensor Forward(Tensor x) => Functional.AdaptiveAvgPool2d(x, OutputSize);

    /// <inheritdoc/>
    protected override string ExtraRepr() => $"output {Conv2d.P(OutputSize)}";
}

/// <summary>Adaptive max pooling to a fixed output size (PyTorch's <c>nn.AdaptiveMaxPool2d</c>, without indices):
/// [N, C, H, W] → [N, C, OH, OW]; gradients as <see cref="MaxPool2d"/>. See
/// <see cref="Functional.AdaptiveMaxPool2d(Tensor, ValueTuple{int, int})"/>.</summary>
public sealed class AdaptiveMaxPool2d : Block
{
    /// <summary>A square output, outputSize×outputSize.</summary>
    /// <exception cref="ArgumentOutOfRangeException">outputSize is not positive.</exception>
    public AdaptiveMaxPool2d(int outputSize) : this((outputSize, outputSize)) { }

    /// <summary>An output of outputSize.H×outputSize.W.</summary>
    /// <exception cref="ArgumentOutOfRangeException">An output size is not positive.</exception>
    public AdaptiveMaxPool2d((int H, int W) outputSize) => OutputSize = Pooling.Output(nameof(AdaptiveMaxPool2d), outputSize);

    /// <summary>Output (height, width).</summary>
    public (int H, int W) OutputSize { get; }

    /// <inheritdoc/>
    protected override Tensor Forward(Tensor x) => Functional.AdaptiveMaxPool2d(x, OutputSize);

    /// <inheritdoc/>
    protected override string ExtraRepr() => $"output {Conv2d.P(OutputSize)}";
}

/// <summary>The pooling layers' argument checks and printed configuration.</summary>
internal static class Pooling
{
    public static ((int H, int W), (int H, int W), (int H, int W)) Checked(string layer, (int H, int W) kernel,
        (int H, int W)? stride, (int H, int W) padding)
    {
        if (kernel.H <= 0 || kernel.W <= 0)
            throw new ArgumentOutOfRangeException(nameof(kernel), $"{layer}: kernel must be positive, got {Conv2d.P(kernel)}.");
        var s = stride ?? kernel;
        if (s.H <= 0 || s.W <= 0)
            throw new ArgumentOutOfRangeException(nameof(stride), $"{layer}: stride must be positive, got {Conv2d.P(s)}.");
        if (padding.H < 0 || padding.W < 0)
            throw new ArgumentOutOfRangeException(nameof(padding), $"{layer}: padding must be >= 0, got {Conv2d.P(padding)}.");
        return (kernel, s, padding);
    }

    public static (int H, int W) Output(string layer, (int H, int W) size) => size.H > 0 && size.W > 0 ? size
        : throw new ArgumentOutOfRangeException("outputSize", $"{layer}: the output size must be positive, got {Conv2d.P(size)}.");

    public static string Repr((int H, int W) kernel, (int H, int W) stride, (int H, int W) padding) =>
        $"kernel {Conv2d.P(kernel)}, stride {Conv2d.P(stride)}" + (padding == (0, 0) ? "" : $", padding {Conv2d.P(padding)}");
}
