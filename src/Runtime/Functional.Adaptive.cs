namespace DeepSharp;

// Adaptive pooling: the windows follow from the output size (PyTorch's bins).
public static partial class Functional
{
    /// <summary>Adaptive average pooling to a square <paramref name="outputSize"/> (see
    /// <see cref="AdaptiveAvgPool2d(Tensor, ValueTuple{int, int})"/>).</summary>
    /// <exception cref="ArgumentNullException">x is null.</exception>
    /// <exception cref="ArgumentOutOfRangeException">outputSize is below 1.</exception>
    /// <exception cref="ArgumentException">x is not 4-D or has no rows or columns.</exception>
    public static Tensor AdaptiveAvgPool2d(Tensor x, int outputSize) => AdaptiveAvgPool2d(x, (outputSize, outputSize));

    /// <summary>
    /// Adaptive average pooling (PyTorch's <c>F.adaptive_avg_pool2d</c>): [N, C, H, W] → [N, C, OH, OW], output (i, j) the
    /// mean of input rows [⌊i·H/OH⌋, ⌈(i + 1)·H/OH⌉) and columns [⌊j·W/OW⌋, ⌈(j + 1)·W/OW⌉). (1, 1) is the
    /// global average
    /// (one reduction); other sizes are two products with averaging matrices, A_H [OH, H] · x · A_Wᵀ [W, OW], whose
    /// gradients are products too.
    /// </summary>
    /// <exception cref="ArgumentNullException">x is null.</exception>
    /// <exception cref="ArgumentOutOfRangeException">An output size is below 1.</exception>
    /// <exception cref="ArgumentException">x is not 4-D or has no rows or columns.</exception>
    public static Tensor AdaptiveAvgPool2d(Tensor x, (int H, int W) outputSize)
    {
        const string op = nameof(AdaptiveAvgPool2d);
        if (Autocast.IsHalf(Check.NotNull(op, x, "x"))) return Autocast.InFloat32(x, x.DType, w => AdaptiveAvgPool2d(w, outputSize));
        if (Autocast.IsEnabled) return Autocast.Off((x, outputSize), static a => AdaptiveAvgPool2d(a.x, a.outputSize)); // on no list
        CheckAdaptive(op, x, outputSize);
        if (outputSize == (1, 1)) return x.Mean([2, 3], keepDim: true);
        var s = x.Layout.ShapeArray;
        var rows = Averaging(s[2], outputSize.H, x); // the averaging weights in x's precision
        var columns = Averaging(s[3], outputSize.W, x);
        return TensorScope.Composite((x, rows, columns), static a => a.rows.MatMul(a.x.MatMul(a.columns.T)));
    }

    /// <summary>Adaptive max pooling to a square <paramref name="outputSize"/> (see
    /// <see cref="AdaptiveMaxPool2d(Tensor, ValueTuple{int, int})"/>).</summary>
    /// <exception cref="ArgumentNullException">x is null.</exception>
    /// <exception cref="ArgumentOutOfRangeException">outputSize is below 1.</exception>
    /// <exception cref="ArgumentException">x is not 4-D or has no rows or columns.</exception>
    public static Tensor AdaptiveMaxPool2d(Tensor x, int outputSize) => AdaptiveMaxPool2d(x, (outputSize, outputSize));

    /// <summary>
    /// Adaptive max pooling (PyTorch's <c>F.adaptive_max_pool2d</c>, without indices): [N, C, H, W] → [N, C, OH, OW], the
    /// max over PyTorch's bins (see <see cref="AdaptiveAvgPool2d(Tensor, ValueTuple{int, int})"/>); a bin holding a NaN has
    /// max NaN. When OH divides H and OW divides W the bins are the windows of <see cref="MaxPool2d(Tensor,
    /// ValueTuple{int, int}, ValueTuple{int, int}?, ValueTuple{int, int})"/>; otherwise one launch each way. The gradient
    /// follows max pooling's rule: each bin's gradient split evenly among its elements equal to the max.
    /// </summary>
    /// <exception cref="ArgumentNullException">x is null.</exception>
    /// <exception cref="ArgumentOutOfRangeException">An output size is below 1.</exception>
    /// <exception cref="ArgumentException">x is not 4-D or has no rows or columns.</exception>
    public static Tensor AdaptiveMaxPool2d(Tensor x, (int H, int W) outputSize)
    {
        const string op = nameof(AdaptiveMaxPool2d);
        if (Autocast.IsHalf(Check.NotNull(op, x, "x"))) return Autocast.InFloat32(x, x.DType, w => AdaptiveMaxPool2d(w, outputSize));
        CheckAdaptive(op, x, outputSize);
        var s = x.Layout.ShapeArray;
        if (s[2] % outputSize.H == 0 && s[3] % outputSize.W == 0)
        {
            var k = (s[2] / outputSize.H, s[3] / outputSize.W);
            return Tensor.MaxPool(x, Check.Window(op, s, k, k, (0, 0), (1, 1), nameof(outputSize)), op);
        }
        if (x.DType == DType.Float64) return AdaptiveMax64(x, outputSize); // bins that do not tile x
        return Tensor.AdaptiveMax(x, outputSize.H, outputSize.W, op);
    }

    private static void CheckAdaptive(string op, Tensor x, (int H, int W) outputSize)
    {
        Check.Computes(op, x, "x");
        if (x.Rank != 4)
            throw new ArgumentException($"{op}: expected input [batch, channels, height, width], got {Layout.Format(x.Layout.ShapeArray)}.",
                nameof(x));
        if (outputSize.H < 1 || outputSize.W < 1)
            throw new ArgumentOutOfRangeException(nameof(outputSize), outputSize.H < 1 ? outputSize.H : outputSize.W,
                $"{op}: the output size must be >= 1, got {Check.Pair(outputSize)}.");
        if (x.Layout.ShapeArray[2] == 0 || x.Layout.ShapeArray[3] == 0)
            throw new ArgumentException($"{op}: x {Layout.Format(x.Layout.ShapeArray)} has no rows or columns to pool.", nameof(x));
        var s = x.Layout.ShapeArray;
        if (Check.Elements<long>([s[0], s[1], outputSize.H, outputSize.W]) < 0 || (long)outputSize.H * s[2] > int.MaxValue
            || (long)outputSize.W * s[3] > int.MaxValue)
            throw new ArgumentException($"{op}: the output size {Check.Pair(outputSize)} for x {Layout.Format(s)} is too large for " +
                $"a tensor (at most {int.MaxValue} elements).", nameof(outputSize));
    }

    /// <summary>[outputs, size]: row i holds 1/len over input indices [⌊i·size/outputs⌋, ⌈(i + 1)·size/outputs⌉).</summary>
    /// <summary>[outputs, size]: row i averages bin i (1/count over its elements), in float64 for a float64 x.</summary>
    private static Tensor Averaging(int size, int outputs, Tensor x)
    {
        bool f64 = x.DType == DType.Float64;
        var m = f64 ? new double[(long)outputs * size] : null;
        var m32 = f64 ? null : new float[(long)outputs * size];
        for (int i = 0; i < outputs; i++)
        {
            int start = Backends.AdaptiveArgs.Start(i, size, outputs), end = Backends.AdaptiveArgs.End(i, size, outputs);
            for (int j = start; j < end; j++)
                if (f64) m![(long)i * size + j] = 1.0 / (end - start);
                else m32![(long)i * size + j] = 1f / (end - start);
        }
        return f64 ? Tensor.FromArray(m!, [outputs, size], x.Device) : Tensor.FromArray(m32!, [outputs, size], x.Device);
    }
}
