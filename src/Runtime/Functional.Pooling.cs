namespace DeepSharp;

// Pooling over sliding windows (max, average), adaptive pooling to a given output size, and the windows as columns.
public static partial class Functional
{
    /// <summary>
    /// Max over each k×k window (padding reads -inf, so it never wins): [N, C, H, W] → [N, C, (H + 2p − k)/s + 1, …]; a window
    /// holding a NaN has max NaN. Gradient: each window's gradient is split evenly among its elements equal to the max
    /// (t tied elements get g/t each, the rule of <see cref="Tensor.Max(int[], bool)"/> and <c>torch.amax</c>); a window
    /// whose max is NaN gives NaN to its elements. PyTorch's <c>max_pool2d</c> instead sends it all to one element (its
    /// recorded index), so the two differ only where a window's max is tied or NaN.
    /// </summary>
    /// <exception cref="ArgumentNullException">x is null.</exception>
    /// <exception cref="ArgumentOutOfRangeException">kernel or stride is below 1, or padding below 0 (or too large to index).</exception>
    /// <exception cref="ArgumentException">x is not 4-D, or the window is larger than the padded input.</exception>
    public static Tensor MaxPool2d(Tensor x, int kernel, int? stride = null, int padding = 0) =>
        MaxPool2d(x, (kernel, kernel), stride is { } s ? (s, s) : null, (padding, padding));

    /// <summary>Max over each kH×kW window with (height, width) strides (default: the kernel) and paddings; otherwise as
    /// <see cref="MaxPool2d(Tensor, int, int?, int)"/>: [N, C, H, W] → [N, C, (H + 2·pH − kH)/sH + 1, (W + 2·pW − kW)/sW + 1].
    /// </summary>
    /// <exception cref="ArgumentNullException">x is null.</exception>
    /// <exception cref="ArgumentOutOfRangeException">A kernel size or stride is below 1, or a padding below 0 (or too large
    /// to index).</exception>
    /// <exception cref="ArgumentException">x is not 4-D, or the window is larger than the padded input.</exception>
    public static Tensor MaxPool2d(Tensor x, (int H, int W) kernel, (int H, int W)? stride = null, (int H, int W) padding = default)
    {
        if (Autocast.IsHalf(Check.NotNull(nameof(MaxPool2d), x, "x")))
            return Autocast.InFloat32(x, x.DType, w => MaxPool2d(w, kernel, stride, padding));
        var a = Tensor.WindowsOf(x, kernel, stride ?? kernel, padding, (1, 1), nameof(MaxPool2d));
        return Tensor.MaxPool(x, a, nameof(MaxPool2d));
    }

    /// <summary>Mean over each k×k window (zero padding counts, as PyTorch's default): [N, C, H, W] → [N, C, OH, OW].</summary>
    /// <exception cref="ArgumentNullException">x is null.</exception>
    /// <exception cref="ArgumentOutOfRangeException">kernel or stride is below 1, or padding below 0 (or too large to index).</exception>
    /// <exception cref="ArgumentException">x is not 4-D, or the window is larger than the padded input, or the windows
    /// would hold too many elements.</exception>
    public static Tensor AvgPool2d(Tensor x, int kernel, int? stride = null, int padding = 0) =>
        AvgPool2d(x, (kernel, kernel), stride is { } s ? (s, s) : null, (padding, padding));

    /// <summary>Mean over each k×k window; with <paramref name="countIncludePad"/> false the padding is left out of each
    /// window's count (PyTorch's <c>count_include_pad=False</c>). See <see cref="AvgPool2d(Tensor, ValueTuple{int, int},
    /// ValueTuple{int, int}?, ValueTuple{int, int}, bool)"/>.</summary>
    /// <exception cref="ArgumentNullException">x is null.</exception>
    /// <exception cref="ArgumentOutOfRangeException">kernel or stride is below 1, or padding below 0 (or too large to index).</exception>
    /// <exception cref="ArgumentException">x is not 4-D, or the window is larger than the padded input, or the windows
    /// would hold too many elements.</exception>
    public static Tensor AvgPool2d(Tensor x, int kernel, int? stride, int padding, bool countIncludePad) =>
        AvgPool2d(x, (kernel, kernel), stride is { } s ? (s, s) : null, (padding, padding), countIncludePad);

    /// <summary>
    /// Mean over each kH×kW window with (height, width) strides (default: the kernel) and paddings: [N, C, H, W] →
    /// [N, C, OH, OW]. The zeros of the padding count in each window's mean when <paramref name="countIncludePad"/> is true
    /// (PyTorch's default); when false each window divides by the number of its elements inside the input.
    /// </summary>
    /// <exception cref="ArgumentNullException">x is null.</exception>
    /// <exception cref="ArgumentOutOfRangeException">A kernel size or stride is below 1, or a padding below 0 (or too large
    /// to index).</exception>
    /// <exception cref="ArgumentException">x is not 4-D, or the window is larger than the padded input, or the windows
    /// would hold too many elements.</exception>
    public static Tensor AvgPool2d(Tensor x, (int H, int W) kernel, (int H, int W)? stride = null, (int H, int W) padding = default,
        bool countIncludePad = true)
    {
        const string op = nameof(AvgPool2d);
        if (Autocast.IsHalf(Check.NotNull(op, x, "x")))
            return Autocast.InFloat32(x, x.DType, w => AvgPool2d(w, kernel, stride, padding, countIncludePad));
        var a = Tensor.WindowsOf(x, kernel, stride ?? kernel, padding, (1, 1), op);
        if (countIncludePad || padding == (0, 0)) return Tensor.AvgPool(x, a, op);
        // Each window's count of elements inside the input: the product of its rows' and its columns' counts.
        var counts = new float[a.OH * a.OW];
        for (int oh = 0; oh < a.OH; oh++)
            for (int ow = 0; ow < a.OW; ow++)
                counts[oh * a.OW + ow] = Inside(oh * a.SH - a.PH, a.KH, a.H) * Inside(ow * a.SW - a.PW, a.KW, a.W);
        return TensorScope.Composite((x, a, counts), static s =>
            Tensor.Windows(s.x, s.a, 0f, op).Sum(2) / Tensor.FromArray(s.counts, [s.a.OH, s.a.OW], s.x.Device));

        // At least 1: a window wholly in the padding (padding over half the kernel) sums no element, and its mean is 0.
        static int Inside(int start, int k, int size) => Math.Max(1, Math.Min(start + k, size) - Math.Max(start, 0));
    }

    /// <summary>The sliding windows as columns (PyTorch's <c>F.unfold</c>): [N, C, H, W] → [N, C·k·k, L], zero padding.</summary>
    /// <exception cref="ArgumentNullException">x is null.</exception>
    /// <exception cref="ArgumentOutOfRangeException">kernel or stride is below 1, or padding below 0 (or too large to index).</exception>
    /// <exception cref="ArgumentException">x is not 4-D, or the window is larger than the padded input, or the windows
    /// would hold too many elements.</exception>
    public static Tensor Unfold(Tensor x, int kernel, int stride = 1, int padding = 0)
    {
        return TensorScope.Composite((x, kernel, stride, padding), static a =>
        {
            var cols = Tensor.Windows(a.x, a.kernel, a.stride, a.padding, 0f, nameof(Unfold));
            var shape = cols.Layout.ShapeArray;
            return cols.Reshape(shape[0], shape[1] * a.kernel * a.kernel, shape[3] * shape[4]);
        });
    }
}
