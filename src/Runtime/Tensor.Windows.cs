using DeepSharp.Backends;

namespace DeepSharp;

// The sliding windows of convolution and pooling: im2col and max pooling, with their backward kernels.
public sealed partial class Tensor
{
    /// <summary>
    /// The sliding windows of convolution and pooling in one launch (im2col): x [N, C, H, W] → [N, C, kH·kW, OH, OW], or
    /// with <paramref name="batchInner"/> the whole batch's columns as one matrix [C·kH·kW, N·OH·OW]; <paramref name="pad"/>
    /// is read outside the input. The windows <paramref name="a"/> come from <see cref="WindowsOf"/>. The gradient folds the
    /// windows back in one launch (col2im).
    /// </summary>
    internal static Tensor Windows(Tensor x, WindowArgs a, float pad, string op, bool batchInner = false)
    {
        if (x.DType == DType.Float64) return Functional.Windows64(x, a, pad, batchInner);
        var xd = x.Dense();
        a = a with { Offset = xd.Layout.Offset, Pad = pad, Columns = batchInner ? ColumnLayout.BatchInner : ColumnLayout.PerImage };
        int n = a.N, c = a.C, kk = a.KK;
        var cols = Allocate(batchInner ? [c * kk, n * a.OH * a.OW] : [n, c, kk, a.OH, a.OW], DType.Float32, x.Device);
        x.Backend.Unfold(xd.Storage, cols.Storage, a);
        return Autograd.Record(cols, op, [x], g => [Grads.Windows(g, a)]);
    }

    /// <summary>Square windows (see <see cref="Windows(Tensor, WindowArgs, float, string, bool)"/>), x checked here.</summary>
    internal static Tensor Windows(Tensor x, int k, int stride, int padding, float pad, string op, bool batchInner = false,
        string kernelName = "kernel") =>
        Windows(x, WindowsOf(x, (k, k), (stride, stride), (padding, padding), (1, 1), op, kernelName), pad, op, batchInner);

    /// <summary>col2im: x's gradient [N, C, H, W] from the gradient <paramref name="g"/> of its windows (any layout), each
    /// window element added to the input element it read; the adjoint of
    /// <see cref="Windows(Tensor, WindowArgs, float, string, bool)"/> (not recorded).</summary>
    internal static Tensor FoldWindows(Tensor g, WindowArgs a)
    {
        var gd = g.Dense();
        var dx = Allocate([a.N, a.C, a.H, a.W], DType.Float32, g.Device);
        g.Backend.Fold(gd.Storage, dx.Storage, a with { Offset = gd.Layout.Offset });
        g.ReleaseDense(gd);
        return dx;
    }

    /// <summary>
    /// Max pooling (<see cref="Functional.MaxPool2d(Tensor, ValueTuple{int, int}, ValueTuple{int, int}?, ValueTuple{int, int})"/>)
    /// over the windows <paramref name="a"/> (<see cref="WindowsOf"/>): the max of each window in one pass (no windows
    /// copied out); backward, one launch gives each input element its share of the gradient of every window whose max it
    /// equals — the same additions, bit for bit, as the composite <c>Windows(x).Max(2)</c>, whose backward takes five
    /// launches more and keeps the windows alive until then.
    /// </summary>
    internal static Tensor MaxPool(Tensor x, WindowArgs a, string op)
    {
        if (x.DType == DType.Float64) // composed: the windows' max (its gradient splits ties evenly, as the fused rule's)
            return TensorScope.Composite((x, a), static s => Functional.Windows64(s.x, s.a, double.NegativeInfinity).Max(2));
        var xd = x.Dense();
        a = a with { Offset = xd.Layout.Offset, Pad = float.NegativeInfinity };
        var y = Allocate([a.N, a.C, a.OH, a.OW], DType.Float32, x.Device);
        x.Backend.MaxPool(xd.Storage, y.Storage, a);
        return Autograd.Record(y, op, [x], g => [Grads.MaxPool(xd, y, g, a)], x, y);
    }

    /// <summary>Max pooling's gradient [N, C, H, W] for x's dense form <paramref name="xd"/>, the windows' maxima
    /// <paramref name="y"/> and their gradient <paramref name="g"/> (any layout) (not recorded).</summary>
    internal static Tensor MaxPoolBackward(Tensor xd, Tensor y, Tensor g, WindowArgs a)
    {
        var gd = g.Layout.Offset == 0 ? g.Dense() : g.Dense(copy: true);
        var dx = Allocate([a.N, a.C, a.H, a.W], DType.Float32, g.Device);
        g.Backend.MaxPoolBack(xd.Storage, y.Storage, gd.Storage, dx.Storage, a);
        g.ReleaseDense(gd);
        return dx;
    }

    /// <summary>Checks x (float32, [N, C, H, W]) and the windows' arguments (<see cref="Check.Window(string, int[],
    /// ValueTuple{int, int}, ValueTuple{int, int}, ValueTuple{int, int}, ValueTuple{int, int}, string)"/>), and describes
    /// the windows over x.</summary>
    /// <summary>
    /// Average pooling with the padding counted (<see cref="Functional.AvgPool2d(Tensor, ValueTuple{int, int},
    /// ValueTuple{int, int}?, ValueTuple{int, int}, bool)"/>): one pass forward and one back, no windows copied out.
    /// </summary>
    internal static Tensor AvgPool(Tensor x, WindowArgs a, string op)
    {
        if (x.DType == DType.Float64)
            return TensorScope.Composite((x, a), static s =>
                Functional.Windows64(s.x, s.a, 0).Sum(2) / Full([], s.a.KH * s.a.KW, DType.Float64, s.x.Device));
        var xd = x.Dense();
        var args = a with { Offset = xd.Layout.Offset, Pad = 0f };
        var y = Allocate([a.N, a.C, a.OH, a.OW], DType.Float32, x.Device);
        x.Backend.AvgPool(xd.Storage, y.Storage, args);
        x.ReleaseDense(xd);
        return Autograd.Record(y, op, [x], g => [Grads.AvgPool(g, args)]);
    }

    /// <summary>Average pooling's gradient [N, C, H, W] for the gradient <paramref name="g"/> of its output (any layout; not
    /// recorded).</summary>
    internal static Tensor AvgPoolBackward(Tensor g, WindowArgs a)
    {
        var gd = g.DenseFromZero();
        var dx = Allocate([a.N, a.C, a.H, a.W], DType.Float32, g.Device);
        g.Backend.AvgPoolBack(gd.Storage, dx.Storage, a);
        g.ReleaseDense(gd);
        return dx;
    }

    internal static WindowArgs WindowsOf(Tensor x, (int H, int W) k, (int H, int W) stride, (int H, int W) padding,
        (int H, int W) dilation, string op, string kernelName = "kernel")
    {
        Check.Computes(op, x, "x");
        if (x.Rank != 4)
            throw new ArgumentException($"{op}: expected input [batch, channels, height, width], got {Layout.Format(x.Layout.ShapeArray)}.",
                "x");
        return Check.Window(op, x.Layout.ShapeArray, k, stride, padding, dilation, kernelName);
    }
}
