using DeepSharp.Backends;

namespace DeepSharp;

public sealed partial class Tensor
{
    /// <summary>
    /// Matrix product with torch.matmul's rules: 1-D·1-D is a dot product; 2-D·2-D [m,k]·[k,n] → [m,n]; a 1-D operand is
    /// treated as a row (left) or column (right) and that dim is dropped; leading batch dims broadcast.
    /// Transposed views are read through their strides, without a copy.
    /// </summary>
    /// <exception cref="ArgumentException">The inner dims differ, a batch dim does not broadcast, or an operand is 0-D.</exception>
    /// <exception cref="DeviceMismatchException">The operands are on different devices.</exception>
    public static Tensor MatMul(Tensor a, Tensor b)
    {
        const string op = nameof(MatMul);
        Check.Float32(op, a, "a"); Check.Float32(op, b, "b");
        Check.SameDevice(op, a, "a", b, "b");
        if (a.Rank == 0 || b.Rank == 0)
            throw new ArgumentException($"{op}: both operands need at least one dim, got shapes {Layout.Format(a.Layout.ShapeArray)} and {Layout.Format(b.Layout.ShapeArray)}.");
        if (a.Rank == 2 && b.Rank == 2) return MatMul2D(a, b);
        var A = a.Rank == 1 ? a.Unsqueeze(0) : a;
        var B = b.Rank == 1 ? b.Unsqueeze(1) : b;
        int m = A.Layout.ShapeArray[^2], k = A.Layout.ShapeArray[^1], k2 = B.Layout.ShapeArray[^2], n = B.Layout.ShapeArray[^1];
        if (k != k2)
            throw new ArgumentException($"{op}: shapes {Layout.Format(a.Layout.ShapeArray)} and {Layout.Format(b.Layout.ShapeArray)} are not aligned: " +
                $"the first has {k} columns but the second has {k2} rows.");
        var batchShape = Check.Broadcast(op, A.Layout.ShapeArray[..^2], B.Layout.ShapeArray[..^2]);
        int batch = Layout.Numel(batchShape);
        var A3 = Batched(A, batchShape, batch, m, k);
        var B3 = Batched(B, batchShape, batch, k, n);
        var c = Empty([batch, m, n], DType.Float32, a.Device);
        var g = new GemmArgs
        {
            Batch = batch, M = m, N = n, K = k,
            OffA = A3.Layout.Offset, BatchA = A3.Layout.StridesArray[0], RowA = A3.Layout.StridesArray[1], ColA = A3.Layout.StridesArray[2],
            OffB = B3.Layout.Offset, BatchB = B3.Layout.StridesArray[0], RowB = B3.Layout.StridesArray[1], ColB = B3.Layout.StridesArray[2],
        };
        a.Backend.MatMul(A3.Storage, B3.Storage, c.Storage, g);
        // Only the batched core is one recorded op; the promotions and broadcasts around it are recorded views.
        c = Autograd.Record(c, op, [A3, B3], gc => Grads.MatMul(A3, B3, gc), A3, B3);
        var shape = batchShape.ToList();
        if (a.Rank > 1) shape.Add(m);
        if (b.Rank > 1) shape.Add(n);
        return c.Reshape(shape.ToArray());
    }

    /// <summary>
    /// The common 2-D case without the batch machinery (no promotion or broadcast views): measured to matter for small
    /// layers, where the per-op bookkeeping is most of the cost.
    /// </summary>
    private static Tensor MatMul2D(Tensor a, Tensor b)
    {
        int m = a.Layout.ShapeArray[0], k = a.Layout.ShapeArray[1], k2 = b.Layout.ShapeArray[0], n = b.Layout.ShapeArray[1];
        if (k != k2)
            throw new ArgumentException($"MatMul: shapes {Layout.Format(a.Layout.ShapeArray)} and {Layout.Format(b.Layout.ShapeArray)} are not aligned: " +
                $"the first has {k} columns but the second has {k2} rows.");
        var c = Empty([m, n], DType.Float32, a.Device);
        var g = new GemmArgs
        {
            Batch = 1, M = m, N = n, K = k,
            OffA = a.Layout.Offset, RowA = a.Layout.StridesArray[0], ColA = a.Layout.StridesArray[1],
            OffB = b.Layout.Offset, RowB = b.Layout.StridesArray[0], ColB = b.Layout.StridesArray[1],
        };
        a.Backend.MatMul(a.Storage, b.Storage, c.Storage, g);
        return Autograd.Needed(a, b) ? RecordMatMul2D(a, b, c) : c;
    }

    private static Tensor RecordMatMul2D(Tensor a, Tensor b, Tensor c) =>
        Autograd.Record(c, "MatMul", [a, b], gc => Grads.MatMul(a, b, gc), a, b);

    /// <summary>
    /// y = x·Wᵀ + b for x [m, in], W [out, in], b [out] (or null): one product with the bias added in the same kernel
    /// (the GEMM's epilogue) and one autograd node whose backward skips the gradients nobody needs.
    /// </summary>
    internal static Tensor Linear2D(Tensor x, Tensor w, Tensor? bias)
    {
        int m = x.Layout.ShapeArray[0], k = x.Layout.ShapeArray[1], n = w.Layout.ShapeArray[0];
        var b = bias is null || bias.IsContiguous ? bias : bias.Dense(copy: true);
        var c = Empty([m, n], DType.Float32, x.Device);
        var g = new GemmArgs
        {
            Batch = 1, M = m, N = n, K = k,
            OffA = x.Layout.Offset, RowA = x.Layout.StridesArray[0], ColA = x.Layout.StridesArray[1],
            OffB = w.Layout.Offset, RowB = w.Layout.StridesArray[1], ColB = w.Layout.StridesArray[0], // Wᵀ as a view
            HasBias = b is null ? 0 : 1, OffBias = b?.Layout.Offset ?? 0,
        };
        x.Backend.MatMul(x.Storage, w.Storage, c.Storage, g, b?.Storage);
        return Autograd.Needed(x, w) || bias is { RequiresGrad: true } && Autograd.IsEnabled ? RecordLinear(x, w, bias, c) : c;
    }

    private static Tensor RecordLinear(Tensor x, Tensor w, Tensor? bias, Tensor c) =>
        Autograd.Record(c, "Linear", bias is null ? [x, w] : [x, w, bias], gc => Grads.Linear(x, w, bias, gc), x, w);

    /// <summary>
    /// The sliding windows of convolution and pooling in one launch (im2col): x [N, C, H, W] → [N, C, k·k, OH, OW], or with
    /// <paramref name="batchInner"/> the whole batch's columns as one matrix [C·k·k, N·OH·OW]; <paramref name="pad"/> is read
    /// outside the input. The gradient folds the windows back in one launch (col2im).
    /// </summary>
    internal static Tensor Windows(Tensor x, int k, int stride, int padding, float pad, string op, bool batchInner = false,
        string kernelName = "kernel")
    {
        var a = WindowArgsFor(x, k, stride, padding, pad, op, out var xd, kernelName) with { BatchInner = batchInner ? 1 : 0 };
        int n = a.N, c = a.C;
        var cols = Empty(batchInner ? [c * k * k, n * a.OH * a.OW] : [n, c, k * k, a.OH, a.OW], DType.Float32, x.Device);
        x.Backend.Unfold(xd.Storage, cols.Storage, a);
        return Autograd.Record(cols, op, [x], g => [Grads.Windows(g, a)]);
    }

    /// <summary>col2im: x's gradient [N, C, H, W] from the gradient <paramref name="g"/> of its windows (any layout), each
    /// window element added to the input element it read; the adjoint of <see cref="Windows"/> (not recorded).</summary>
    internal static Tensor FoldWindows(Tensor g, WindowArgs a)
    {
        var gd = g.Dense();
        var dx = Empty([a.N, a.C, a.H, a.W], DType.Float32, g.Device);
        g.Backend.Fold(gd.Storage, dx.Storage, a with { Offset = gd.Layout.Offset });
        return dx;
    }

    /// <summary>
    /// Max pooling (<see cref="Functional.MaxPool2d"/>): the max of each window; backward, one launch gives each input
    /// element its share of the gradient of every window whose max it equals — the same additions, bit for bit, as the
    /// composite <c>Windows(x).Max(2)</c>, whose backward takes five launches more and keeps the windows alive until then.
    /// </summary>
    internal static Tensor MaxPool(Tensor x, int k, int stride, int padding, string op)
    {
        var a = WindowArgsFor(x, k, stride, padding, float.NegativeInfinity, op, out var xd);
        Tensor y;
        using (var cols = Empty([a.N, a.C, k * k, a.OH, a.OW], DType.Float32, x.Device))
        {
            x.Backend.Unfold(xd.Storage, cols.Storage, a);
            y = cols.Max(2);
        }
        return Autograd.Record(y, op, [x], g => [Grads.MaxPool(xd, y, g, a)], x, y);
    }

    /// <summary>Max pooling's gradient [N, C, H, W] for x's dense form <paramref name="xd"/>, the windows' maxima
    /// <paramref name="y"/> and their gradient <paramref name="g"/> (any layout) (not recorded).</summary>
    internal static Tensor MaxPoolBackward(Tensor xd, Tensor y, Tensor g, WindowArgs a)
    {
        var gd = g.Layout.Offset == 0 ? g.Dense() : g.Dense(copy: true);
        var dx = Empty([a.N, a.C, a.H, a.W], DType.Float32, g.Device);
        g.Backend.MaxPoolBack(xd.Storage, y.Storage, gd.Storage, dx.Storage, a);
        return dx;
    }

    /// <summary>Checks x, k, stride and padding (<see cref="Check.Window"/>), and describes the windows over x's dense form
    /// <paramref name="xd"/>.</summary>
    private static WindowArgs WindowArgsFor(Tensor x, int k, int stride, int padding, float pad, string op, out Tensor xd,
        string kernelName = "kernel")
    {
        Check.Float32(op, x, "x");
        if (x.Rank != 4)
            throw new ArgumentException($"{op}: expected input [batch, channels, height, width], got {Layout.Format(x.Layout.ShapeArray)}.",
                "x");
        var a = Check.Window(op, x.Layout.ShapeArray, k, stride, padding, kernelName);
        xd = x.Dense();
        return a with { Offset = xd.Layout.Offset, Pad = pad };
    }

    /// <summary>
    /// y[b] = w·cols[b] (+ bias[row]) for w [O, K] and cols [B, K, L]: the convolution's product, one launch for the whole
    /// batch with the bias fused, and one autograd node.
    /// </summary>
    internal static Tensor ConvProduct(Tensor w, Tensor cols, Tensor? bias)
    {
        int o = w.Layout.ShapeArray[0], k = w.Layout.ShapeArray[1], batch = cols.Layout.ShapeArray[0], l = cols.Layout.ShapeArray[2];
        var b = bias is null || bias.IsContiguous ? bias : bias.Dense(copy: true);
        var y = Empty([batch, o, l], DType.Float32, w.Device);
        var g = new GemmArgs
        {
            Batch = batch, M = o, N = l, K = k,
            OffA = w.Layout.Offset, BatchA = 0, RowA = w.Layout.StridesArray[0], ColA = w.Layout.StridesArray[1],
            OffB = cols.Layout.Offset, BatchB = cols.Layout.StridesArray[0], RowB = cols.Layout.StridesArray[1], ColB = cols.Layout.StridesArray[2],
            HasBias = b is null ? 0 : 2, OffBias = b?.Layout.Offset ?? 0,
        };
        w.Backend.MatMul(w.Storage, cols.Storage, y.Storage, g, b?.Storage);
        Tensor[] inputs = bias is null ? [w, cols] : [w, cols, bias];
        return Autograd.Record(y, "Conv2d", inputs, gc => Grads.ConvProduct(w, cols, bias, gc), w, cols);
    }

    /// <summary>Matrix product with <paramref name="other"/> (see <see cref="MatMul(Tensor, Tensor)"/>).</summary>
    /// <exception cref="ArgumentNullException">other is null.</exception>
    /// <exception cref="ArgumentException">The shapes do not fit together.</exception>
    /// <exception cref="DeviceMismatchException">The operands are on different devices.</exception>
    public Tensor MatMul(Tensor other) => MatMul(this, Check.NotNull(nameof(MatMul), other, nameof(other)));

    /// <summary>[..batch, r, c] → a [batch, r, c] view (copying only when broadcast batch dims cannot merge).</summary>
    private static Tensor Batched(Tensor x, int[] batchShape, int batch, int rows, int cols) =>
        x.Expand([.. batchShape, rows, cols]).Reshape(batch, rows, cols);
}
