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
        Check.NotNull(op, a, "a"); Check.NotNull(op, b, "b");
        if (Autocast.LowersAny(a, b)) return Autocast.Lowered([a, b], t => MatMul(t[0]!, t[1]!)); // on the lower-precision list
        if (a.DType == b.DType && a.Rank == 2 && b.Rank == 2 && a.Device == b.Device && a.Layout.ShapeArray[1] == b.Layout.ShapeArray[0]
            && a.Backend is Backends.Ilgpu.IlgpuBackend tc
            && (Autocast.IsHalf(a) ? tc.HasTensorCoreGemm : a.DType == DType.Float32 && tc.UsesTf32))
            return MatMulTensorCores(a, b, tc); // opt-in tensor cores (16-bit, or float32 as TF32)
        if (Autocast.IsHalf(a) || Autocast.IsHalf(b))
            return Autocast.InFloat32(a, b, Autocast.Promote(a.DType, b.DType), MatMul); // accumulated in float32
        if (Autocast.Mixed(a, b)) return Autocast.Promoted(a, b, MatMul); // float32 with float64: in float64
        Check.Computes(op, a, "a"); Check.Computes(op, b, "b");
        Check.SameDevice(op, a, "a", b, "b");
        if (a.Rank == 0 || b.Rank == 0)
            throw new ArgumentException(
                $"{op}: both operands need at least one dim, got shapes {Layout.Format(a.Layout.ShapeArray)} and " +
                $"{Layout.Format(b.Layout.ShapeArray)}.");
        if (a.Rank == 2 && b.Rank == 2) return MatMul2D(a, b);
        var A = a.Rank == 1 ? a.Unsqueeze(0) : a;
        var B = b.Rank == 1 ? b.Unsqueeze(1) : b;
        int m = A.Layout.ShapeArray[^2], k = A.Layout.ShapeArray[^1], k2 = B.Layout.ShapeArray[^2], n = B.Layout.ShapeArray[^1];
        if (k != k2)
            throw new ArgumentException(
                $"{op}: shapes {Layout.Format(a.Layout.ShapeArray)} and {Layout.Format(b.Layout.ShapeArray)} are not aligned: " +
                $"the first has {k} columns but the second has {k2} rows.");
        var batchShape = Check.Broadcast(op, A.Layout.ShapeArray[..^2], B.Layout.ShapeArray[..^2]);
        int batch = Layout.Numel(batchShape);
        var A3 = Batched(A, batchShape, batch, m, k);
        var B3 = Batched(B, batchShape, batch, k, n);
        var c = Allocate([batch, m, n], a.DType, a.Device);
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
    /// The common 2-D case without the batch machinery (no promotion or broadcast views): for small layers the per-op
    /// bookkeeping is most of the cost (see benchmarks/NOTES.md, "Moved from code comments").
    /// </summary>
    private static Tensor MatMul2D(Tensor a, Tensor b)
    {
        int m = a.Layout.ShapeArray[0], k = a.Layout.ShapeArray[1], k2 = b.Layout.ShapeArray[0], n = b.Layout.ShapeArray[1];
        if (k != k2)
            throw new ArgumentException(
                $"MatMul: shapes {Layout.Format(a.Layout.ShapeArray)} and {Layout.Format(b.Layout.ShapeArray)} are not aligned: " +
                $"the first has {k} columns but the second has {k2} rows.");
        var c = Allocate([m, n], a.DType, a.Device);
        var g = new GemmArgs
        {
            Batch = 1, M = m, N = n, K = k,
            OffA = a.Layout.Offset, RowA = a.Layout.StridesArray[0], ColA = a.Layout.StridesArray[1],
            OffB = b.Layout.Offset, RowB = b.Layout.StridesArray[0], ColB = b.Layout.StridesArray[1],
        };
        a.Backend.MatMul(a.Storage, b.Storage, c.Storage, g);
        return Autograd.Needed(a, b) ? RecordMatMul2D(a, b, c) : c;
    }

    /// <summary>A 2-D product on tensor cores (CUDA, opt-in): 16-bit operands, or float32 ones as TF32; float32 accumulation,
    /// the result rounded once to the operands' dtype; the gradients are products of the same kind.</summary>
    private static Tensor MatMulTensorCores(Tensor a, Tensor b, Backends.Ilgpu.IlgpuBackend backend)
    {
        int m = a.Layout.ShapeArray[0], k = a.Layout.ShapeArray[1], n = b.Layout.ShapeArray[1];
        var da = a.IsContiguous ? a : a.Dense(copy: true);
        var db = b.IsContiguous ? b : b.Dense(copy: true);
        var wide = Allocate([m, n], DType.Float32, a.Device);
        try
        {
            if (k == 0) wide.ZeroInPlace();
            else if (a.DType == DType.Float32)
                backend.MatMulTf32(da.Storage, da.Layout.Offset, db.Storage, db.Layout.Offset, wide.Storage, m, n, k);
            else backend.MatMulHalf(da.Storage, da.Layout.Offset, db.Storage, db.Layout.Offset, wide.Storage, m, n, k);
        }
        catch
        {
            wide.Dispose();
            throw;
        }
        finally
        {
            if (!ReferenceEquals(da, a)) da.Dispose();
            if (!ReferenceEquals(db, b)) db.Dispose();
        }
        var c = wide;
        if (a.DType != DType.Float32)
        {
            c = wide.To(a.DType);
            wide.Dispose();
        }
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
        var c = Allocate([m, n], x.DType, x.Device);
        var g = new GemmArgs
        {
            Batch = 1, M = m, N = n, K = k,
            OffA = x.Layout.Offset, RowA = x.Layout.StridesArray[0], ColA = x.Layout.StridesArray[1],
            OffB = w.Layout.Offset, RowB = w.Layout.StridesArray[1], ColB = w.Layout.StridesArray[0], // Wᵀ as a view
            Bias = b is null ? BiasMode.None : BiasMode.PerColumn, OffBias = b?.Layout.Offset ?? 0,
        };
        x.Backend.MatMul(x.Storage, w.Storage, c.Storage, g, b?.Storage);
        return Autograd.Needed(x, w) || bias is { RequiresGrad: true } && Autograd.IsEnabled ? RecordLinear(x, w, bias, c) : c;
    }

    private static Tensor RecordLinear(Tensor x, Tensor w, Tensor? bias, Tensor c) =>
        Autograd.Record(c, "Linear", bias is null ? [x, w] : [x, w, bias], gc => Grads.Linear(x, w, bias, gc), x, w);

    /// <summary>Matrix product with <paramref name="other"/> (see <see cref="MatMul(Tensor, Tensor)"/>).</summary>
    /// <exception cref="ArgumentNullException">other is null.</exception>
    /// <exception cref="ArgumentException">The shapes do not fit together.</exception>
    /// <exception cref="DeviceMismatchException">The operands are on different devices.</exception>
    public Tensor MatMul(Tensor other) => MatMul(this, Check.NotNull(nameof(MatMul), other, nameof(other)));

    /// <summary>[..batch, r, c] → a [batch, r, c] view (copying only when broadcast batch dims cannot merge).</summary>
    private static Tensor Batched(Tensor x, int[] batchShape, int batch, int rows, int cols) =>
        x.Expand([.. batchShape, rows, cols]).Reshape(batch, rows, cols);
}
