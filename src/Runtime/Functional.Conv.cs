using DeepSharp.Backends;

namespace DeepSharp;

// 2-D convolution: square, rectangular, dilated and grouped windows, and the 1×1 product without windows.
public static partial class Functional
{
    /// <summary>
    /// 2-D convolution (PyTorch's <c>F.conv2d</c>): x [N, C, H, W], weight [O, C, k, k], bias [O] or null →
    /// [N, O, (H + 2p - k)/s + 1, (W + 2p - k)/s + 1]. Two launches forward on accelerators: the windows (im2col) and one
    /// batched product with the bias fused; backward folds the windows back without atomics. A 1×1 kernel at stride 1
    /// without padding multiplies x directly (no windows). Dilation and groups: the other overloads.
    /// </summary>
    /// <exception cref="ArgumentNullException">x or weight is null.</exception>
    /// <exception cref="ArgumentOutOfRangeException">stride is below 1 or padding below 0 (or either too large to index).</exception>
    /// <exception cref="ArgumentException">The shapes do not fit together.</exception>
    /// <exception cref="DeviceMismatchException">The tensors are on different devices.</exception>
    public static Tensor Conv2d(Tensor x, Tensor weight, Tensor? bias = null, int stride = 1, int padding = 0) =>
        Conv2d(x, weight, bias, (stride, stride), (padding, padding), (1, 1), 1);

    /// <summary>
    /// 2-D convolution with square windows, dilation and groups (PyTorch's <c>F.conv2d</c>): see
    /// <see cref="Conv2d(Tensor, Tensor, Tensor?, ValueTuple{int, int}, ValueTuple{int, int}, ValueTuple{int, int}?, int)"/>.
    /// </summary>
    /// <exception cref="ArgumentNullException">x or weight is null.</exception>
    /// <exception cref="ArgumentOutOfRangeException">stride, dilation or groups is below 1 or padding below 0 (or too large
    /// to index).</exception>
    /// <exception cref="ArgumentException">The shapes do not fit together, or groups does not divide the channels.</exception>
    /// <exception cref="DeviceMismatchException">The tensors are on different devices.</exception>
    public static Tensor Conv2d(Tensor x, Tensor weight, Tensor? bias, int stride, int padding, int dilation, int groups = 1) =>
        Conv2d(x, weight, bias, (stride, stride), (padding, padding), (dilation, dilation), groups);

    /// <summary>
    /// 2-D convolution (PyTorch's <c>F.conv2d</c>) with (height, width) strides, paddings and dilations (default (1, 1))
    /// and <paramref name="groups"/>: x [N, C, H, W], weight [O, C/groups, kH, kW], bias [O] or null → [N, O, OH, OW] with
    /// OH = (H + 2·pH − dH·(kH − 1) − 1)/sH + 1 (OW alike). Group g convolves input channels [g·C/G, (g + 1)·C/G) with the
    /// filters [g·O/G, (g + 1)·O/G); groups = C = O is a depthwise convolution. Launches do not grow with the groups: the
    /// windows of the whole batch as one matrix [C·kH·kW, N·OH·OW], then one product batched over the groups, then the
    /// bias added while the result is reordered to [N, O, OH, OW]. A 1×1 kernel at stride 1 without padding or groups is
    /// one product on x viewed [N, C, H·W]. On <c>cpu</c>, a 3×3 kernel at stride 1 with at least 64 channels in and out
    /// runs by Winograd's F(4×4, 3×3) (F(2×2, 3×3) on small maps): the same sums to rounding, with an error that follows the
    /// scale of the whole output
    /// (about 1e-6 of its largest value in float32, so an output that cancels to near zero has a larger relative error than
    /// the direct sum's), and an infinite input gives NaN in the outputs whose windows contain it where the direct sum
    /// gives ±∞.
    /// </summary>
    /// <exception cref="ArgumentNullException">x or weight is null.</exception>
    /// <exception cref="ArgumentOutOfRangeException">A stride, dilation or groups is below 1 or a padding below 0 (or too
    /// large to index).</exception>
    /// <exception cref="ArgumentException">The shapes do not fit together, groups does not divide the input channels or
    /// the filters, or the (dilated) window is larger than the padded input.</exception>
    /// <exception cref="DeviceMismatchException">The tensors are on different devices.</exception>
    public static Tensor Conv2d(Tensor x, Tensor weight, Tensor? bias, (int H, int W) stride, (int H, int W) padding,
        (int H, int W)? dilation = null, int groups = 1)
    {
        const string op = nameof(Conv2d);
        Check.NotNull(op, x, "x"); Check.NotNull(op, weight, "weight");
        if (Autocast.LowersAny(x, weight, bias)) // on the lower-precision list
            return Autocast.Lowered([x, weight, bias], t => Conv2d(t[0]!, t[1]!, t[2], stride, padding, dilation, groups));
        if (Autocast.AnyHalf(x, weight, bias)) // accumulated in float32, rounded once
            return Autocast.InFloat32([x, weight, bias], Autocast.Promote(x.DType, weight.DType),
                t => Conv2d(t[0]!, t[1]!, t[2], stride, padding, dilation, groups));
        Check.Computes(op, x, "x"); Check.Computes(op, weight, "weight");
        Check.SameDevice(op, x, "x", weight, "weight");
        if (groups < 1)
            throw new ArgumentOutOfRangeException(nameof(groups), groups, $"{op}: groups must be >= 1, got {groups}.");
        if (weight.Rank != 4)
            throw new ArgumentException($"{op}: weight must be [out, in / groups, kH, kW], got {Layout.Format(weight.Layout.ShapeArray)}.",
                nameof(weight));
        var ws = weight.Layout.ShapeArray;
        int o = ws[0], cg = ws[1];
        if (x.Rank != 4 || (long)x.Layout.ShapeArray[1] != (long)cg * groups)
            throw new ArgumentException(
                $"{op}: expected input [batch, {(long)cg * groups}, height, width] for weight {Layout.Format(ws)}" +
                $"{(groups == 1 ? "" : $" and groups {groups}")}, got {Layout.Format(x.Layout.ShapeArray)}.", nameof(x));
        if (o % groups != 0)
            throw new ArgumentException($"{op}: groups {groups} must divide the filters (weight's first dim), got {o}.", nameof(groups));
        CheckBias(op, x, bias, o);
        // Checked before any size is computed; the windows' element count fits an int, so every product below does too.
        var a = Check.Window(op, x.Layout.ShapeArray, (ws[2], ws[3]), stride, padding, dilation ?? (1, 1), nameof(weight));
        if (AnyFloat64(x, weight, bias)) return Conv2d64(x, weight, bias, a, o, groups); // float64 anywhere: in float64
        // The windows, the product and the views between them are intermediates: returned to the pool at once when
        // autograd records nothing (inference), else held by the graph.
        return TensorScope.Composite((x, weight, bias, a, o, groups), static s =>
        {
            var (x, weight, bias, a, o, groups) = s;
            if (groups > 1) return GroupedConv(x, weight, bias, a, o, groups);
            int n = a.N, c = a.C, kk = a.KK, oh = a.OH, ow = a.OW;
            var w = weight.Reshape(o, c * kk);
            if (a is { KH: 1, KW: 1, SH: 1, SW: 1, PH: 0, PW: 0 }) // 1×1: the windows would be x itself
                return Tensor.ConvProduct(w, x.Reshape(n, c, a.H * a.W), bias).Reshape(n, o, oh, ow);
            if (x.Device == Device.Cpu && (oh * ow >= CpuImageConvMinPixels || Backends.Cpu.CpuBackend.WinogradSuits(a, o)))
                return Tensor.ConvCpu(x, weight, bias, a);
            if (oh * ow < BatchedConvMinPixels)
            {
                // Small images: one product for the whole batch, [O, C·kk] · [C·kk, N·OH·OW], then [O, N, L] → [N, O, L].
                var all = Tensor.Windows(x, a, 0f, op, batchInner: true);
                var yAll = Tensor.ConvProduct(w, all.Reshape(1, c * kk, n * oh * ow), bias);
                return yAll.Reshape(o, n, oh * ow).Permute(1, 0, 2).Reshape(n, o, oh, ow);
            }
            var cols = Tensor.Windows(x, a, 0f, op); // [N, C, kk, OH, OW]
            return Tensor.ConvProduct(w, cols.Reshape(n, c * kk, oh * ow), bias).Reshape(n, o, oh, ow);
        });
    }

    /// <summary>
    /// A grouped convolution in a constant number of launches: the windows as [G, C/G·kk, N·L] (the batch-inner columns,
    /// whose rows run channel by channel), one product batched over the groups with weight [G, O/G, C/G·kk], and the
    /// reorder [O, N, L] → [N, O, L] as the bias is added (or as a copy without bias).
    /// </summary>
    private static Tensor GroupedConv(Tensor x, Tensor weight, Tensor? bias, WindowArgs a, int o, int groups)
    {
        int n = a.N, cg = a.C / groups, kk = a.KK, l = a.OH * a.OW;
        var cols = Tensor.Windows(x, a, 0f, nameof(Conv2d), batchInner: true).Reshape(groups, cg * kk, n * l);
        var y = Tensor.ConvProduct(weight.Reshape(groups, o / groups, cg * kk), cols, null).Reshape(o, n, l).Permute(1, 0, 2);
        return (bias is null ? y.Reshape(n, o, l) : y + bias.Reshape(1, o, 1)).Reshape(n, o, a.OH, a.OW);
    }

    /// <summary>Output pixels per image from which <see cref="Conv2d(Tensor, Tensor, Tensor?, int, int)"/> multiplies image
    /// by image (a batched product) rather than the whole batch at once: below it each image's product is too small to run
    /// fast, above it the one product and its [O, N, L] → [N, O, L] copies cost more (see benchmarks/NOTES.md, "Moved from
    /// code comments").</summary>
    internal const int BatchedConvMinPixels = 128;

    /// <summary>Output pixels per image from which the CPU convolves image by image in one fused op
    /// (<see cref="Tensor.ConvCpu"/>) rather than through the whole batch's columns (see benchmarks/NOTES.md).</summary>
    internal const int CpuImageConvMinPixels = 64;
}
