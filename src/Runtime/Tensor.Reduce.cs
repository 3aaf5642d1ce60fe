using DeepSharp.Ops;

namespace DeepSharp;

public sealed partial class Tensor
{
    /// <summary>Sum over <paramref name="axes"/> (all when null or empty); reduced dims are kept as size 1 when keepDim.</summary>
    public Tensor Sum(int[]? axes = null, bool keepDim = false) => Reduce<SumOp>("Sum", axes, keepDim, Grads.Sum);
    /// <summary>Sum over one axis.</summary>
    public Tensor Sum(int axis, bool keepDim = false) => Sum([axis], keepDim);

    /// <summary>Mean over <paramref name="axes"/> (all when null or empty). The mean of no elements is NaN.</summary>
    public Tensor Mean(int[]? axes = null, bool keepDim = false)
    {
        if (Autocast.IsHalf(this)) return Autocast.InFloat32(this, DType, w => w.Mean(axes, keepDim)); // one rounding, not two
        var norm = NormalizeAxes("Mean", axes);
        int n = norm.Aggregate(1, (acc, a) => acc * Layout.ShapeArray[a]);
        if (DType == DType.Float64) // divided in double, as PyTorch (a float32 1/n would be off by ~3e−8)
            return TensorScope.Composite((x: this, axes, keepDim, n),
                static a => a.x.Sum(a.axes, a.keepDim) / Full([], a.n, DType.Float64, a.x.Device));
        return Sum(axes, keepDim) * (n == 0 ? float.NaN : 1f / n);
    }
    /// <summary>Mean over one axis.</summary>
    public Tensor Mean(int axis, bool keepDim = false) => Mean([axis], keepDim);

    /// <summary>
    /// Largest value over <paramref name="axes"/> (all when null or empty), as <c>torch.amax</c>: x [..] → the shape without
    /// the reduced dims (kept as 1 when <paramref name="keepDim"/>). A slice holding a NaN has max NaN.
    /// </summary>
    /// <remarks>
    /// Gradient: split evenly among the elements equal to the max — each of t tied elements gets g/t (as
    /// <c>torch.amax</c>); in a slice whose max is NaN every element gets NaN. For the whole gradient at one element (the
    /// first max, as <c>torch.max(x, dim)</c>) use <see cref="MaxWithIndices"/>.
    /// </remarks>
    /// <exception cref="ArgumentException">A reduced dim is empty, or an axis is named twice.</exception>
    /// <exception cref="ArgumentOutOfRangeException">An axis is outside [-rank, rank).</exception>
    /// <exception cref="NotSupportedException">x is not float32 or float64 (16-bit is widened).</exception>
    public Tensor Max(int[]? axes = null, bool keepDim = false) => Reduce<MaxOp>("Max", axes, keepDim, Grads.MaxMin, nonEmpty: true);
    /// <summary>Largest value over one axis (see <see cref="Max(int[], bool)"/> for ties and NaN).</summary>
    /// <exception cref="ArgumentException">The dim is empty.</exception>
    public Tensor Max(int axis, bool keepDim = false) => Max([axis], keepDim);
    /// <summary>
    /// Smallest value over <paramref name="axes"/> (all when null or empty), as <c>torch.amin</c>; a slice holding a NaN
    /// has min NaN. Gradient: split evenly among the elements equal to the min (NaN everywhere in a NaN slice); the
    /// shapes, exceptions and the one-index form (<see cref="MinWithIndices"/>) are those of <see cref="Max(int[], bool)"/>.
    /// </summary>
    /// <exception cref="ArgumentException">A reduced dim is empty, or an axis is named twice.</exception>
    public Tensor Min(int[]? axes = null, bool keepDim = false) => Reduce<MinOp>("Min", axes, keepDim, Grads.MaxMin, nonEmpty: true);
    /// <summary>Smallest value over one axis (see <see cref="Min(int[], bool)"/> for ties and NaN).</summary>
    /// <exception cref="ArgumentException">The dim is empty.</exception>
    public Tensor Min(int axis, bool keepDim = false) => Min([axis], keepDim);

    /// <summary>
    /// PyTorch's <c>torch.max(x, dim)</c>: the largest value along <paramref name="axis"/> and its index (int64), x [.., n, ..]
    /// → both [.., ..] (n kept as 1 when <paramref name="keepDim"/>). Ties give the first index; a NaN counts as the largest
    /// (value NaN, index of the first NaN). The values are the elements at the indices, bit for bit.
    /// </summary>
    /// <remarks>The gradient goes entirely to the element at the returned index (the others get exactly 0), unlike
    /// <see cref="Max(int[], bool)"/>, which splits it among ties. One launch each way on accelerators.</remarks>
    /// <exception cref="ArgumentException">The dim is empty.</exception>
    /// <exception cref="ArgumentOutOfRangeException">The axis is outside [-rank, rank).</exception>
    /// <exception cref="NotSupportedException">x is not float32 or float64 (16-bit is widened).</exception>
    public (Tensor Values, Tensor Indices) MaxWithIndices(int axis, bool keepDim = false) =>
        WithIndices("MaxWithIndices", axis, keepDim, max: true);

    /// <summary>
    /// PyTorch's <c>torch.min(x, dim)</c>: the smallest value along <paramref name="axis"/> and its index (int64); ties give
    /// the first index and a NaN counts as the smallest. The gradient goes entirely to the returned index. Shapes and
    /// exceptions as <see cref="MaxWithIndices"/>.
    /// </summary>
    /// <exception cref="ArgumentException">The dim is empty.</exception>
    public (Tensor Values, Tensor Indices) MinWithIndices(int axis, bool keepDim = false) =>
        WithIndices("MinWithIndices", axis, keepDim, max: false);

    /// <summary>Index (int64) of the largest value along <paramref name="axis"/>, or in the flattened tensor when null.
    /// Ties give the first index; a NaN counts as the largest.</summary>
    public Tensor ArgMax(int? axis = null, bool keepDim = false) => ArgReduce("ArgMax", axis, keepDim, max: true);
    /// <summary>Index (int64) of the smallest value along <paramref name="axis"/>, or in the flattened tensor when null.</summary>
    public Tensor ArgMin(int? axis = null, bool keepDim = false) => ArgReduce("ArgMin", axis, keepDim, max: false);

    private int[] NormalizeAxes(string op, int[]? axes)
    {
        if (axes is null || axes.Length == 0) return Enumerable.Range(0, Rank).ToArray();
        var norm = axes.Select(a => Layout.Axis(a, Rank, op)).Distinct().Order().ToArray();
        if (norm.Length != axes.Length) throw new ArgumentException($"{op}: axes {Layout.Format(axes)} name the same dim twice.");
        return Rank == 0 ? [] : norm;
    }

    /// <summary>Folds the axes one run at a time; the gradient rule gets (x, result with kept dims, dL/dresult with kept dims,
    /// axes).</summary>
    private Tensor Reduce<TOp>(string op, int[]? axes, bool keepDim, Func<Tensor, Tensor, Tensor, int[], Tensor> rule,
        bool nonEmpty = false)
        where TOp : struct, IReduceOp
    {
        if (Autocast.IsHalf(this)) // accumulated in float32, rounded once
            return Autocast.InFloat32(this, DType, w => w.Reduce<TOp>(op, axes, keepDim, rule, nonEmpty));
        Check.Computes(op, this, "x");
        var norm = NormalizeAxes(op, axes);
        if (nonEmpty && norm.Any(a => Layout.ShapeArray[a] == 0))
            throw new ArgumentException(
                $"{op}: cannot reduce over an empty dim (shape {Layout.Format(Layout.ShapeArray)}); the result has no identity.");
        var x = Dense();
        var shape = x.Shape;
        // Runs of adjacent reduced axes fold in one pass; a full reduction is a single [1, n, 1] pass.
        for (int end = norm.Length - 1; end >= 0;)
        {
            int start = end;
            while (start > 0 && norm[start - 1] == norm[start] - 1) start--;
            int first = norm[start], last = norm[end];
            int outer = Prod(shape, 0, first), n = Prod(shape, first, last + 1), inner = Prod(shape, last + 1, shape.Length);
            for (int d = first; d <= last; d++) shape[d] = 1;
            var part = Allocate((int[])shape.Clone(), DType, Device);
            Backend.Reduce<TOp>(x.Storage, x.Layout.Offset, part.Storage, outer, n, inner);
            if (!ReferenceEquals(x, this)) x.Dispose();
            x = part;
            end = start - 1;
        }
        if (ReferenceEquals(x, this)) x = Dense(copy: true);
        // One tensor object for the result (a second view would keep the storage shared, and a fresh gradient could not be
        // handed to a leaf without a copy); the rule sees it in the kept-dims shape.
        var keptShape = x.Layout.ShapeArray;
        if (!keepDim) x.Relayout(Layout.Contiguous(Layout.ShapeArray.Where((_, d) => !norm.Contains(d)).ToArray(), x.Layout.Offset));
        var y = x;
        var input = this;
        return Autograd.Record(y, op, [this], g => [rule(input, keepDim ? y : y.Reshape(keptShape), g.Reshape(keptShape), norm)], this, y);
    }

    private Tensor ArgReduce(string op, int? axis, bool keepDim, bool max)
    {
        if (Autocast.IsHalf(this)) return Autocast.InFloat32(this, DType.Int64, w => w.ArgReduce(op, axis, keepDim, max));
        if (axis is null)
        {
            Check.Computes(op, this, "x");
            return Flatten().ArgReduce(op, 0, false, max);
        }
        var (y, _, ax) = ArgReduceKept(op, axis.Value, max, withValues: false);
        if (keepDim || Rank == 0) return y;
        var squeezed = y.Squeeze(ax);
        y.Dispose(); // the view holds the storage; the kept-dims object would only wait for the GC
        return squeezed;
    }

    /// <summary>Indices (int64) and, when asked, values of the first max or min along the axis, with the axis kept as 1.</summary>
    private (Tensor Indices, Tensor? Values, int Axis) ArgReduceKept(string op, int axis, bool max, bool withValues)
    {
        Check.Computes(op, this, "x");
        int ax = Layout.Axis(axis, Rank, op);
        if (Rank > 0 && Layout.ShapeArray[ax] == 0)
            throw new ArgumentException(
                $"{op}: cannot take the arg-{(max ? "max" : "min")} of an empty dim (shape {Layout.Format(Layout.ShapeArray)}).");
        var x = Dense();
        var shape = x.Shape;
        int outer = Prod(shape, 0, ax), n = Rank == 0 ? 1 : shape[ax], inner = Prod(shape, ax + 1, shape.Length);
        if (Rank > 0) shape[ax] = 1;
        var y = Allocate(shape, DType.Int64, Device);
        var values = withValues ? Allocate(shape, DType, Device) : null;
        Backend.ArgReduce(x.Storage, x.Layout.Offset, y.Storage, outer, n, inner, max, values?.Storage);
        ReleaseDense(x);
        return (y, values, ax);
    }

    private (Tensor Values, Tensor Indices) WithIndices(string op, int axis, bool keepDim, bool max)
    {
        var (indices, values, ax) = ArgReduceKept(op, axis, max, withValues: true);
        var kept = values!;
        var input = this;
        var recorded = Autograd.Record(kept, op, [this], g => [Grads.SelectedIndex(input, indices, g, ax)], indices);
        if (keepDim || Rank == 0) return (recorded, indices);
        var (v, i) = (recorded.Squeeze(ax), indices.Squeeze(ax));
        if (recorded.GradFn is null) { recorded.Dispose(); indices.Dispose(); } // else the gradient rule reads them
        return (v, i);
    }

    /// <summary>
    /// A tensor of <paramref name="shape"/> holding g[o, j] at index[o, j] along <paramref name="axis"/> and 0 elsewhere, for
    /// g (any layout) and index (int64, dense from 0) of <paramref name="shape"/> with the axis as 1: the adjoint of taking
    /// one element along the axis (not recorded).
    /// </summary>
    internal static Tensor ScatterAlong(Tensor g, Tensor index, int[] shape, int axis)
    {
        var dx = Allocate(shape, g.DType, g.Device);
        int n = shape.Length == 0 ? 1 : shape[axis], outer = Prod(shape, 0, axis), inner = Prod(shape, axis + 1, shape.Length);
        var gd = g.Dense();
        g.Backend.ScatterAlong(gd.Storage, gd.Layout.Offset, index.Storage, dx.Storage, outer, n, inner);
        g.ReleaseDense(gd);
        return dx;
    }

    private static int Prod(int[] shape, int from, int to)
    {
        int p = 1;
        for (int i = from; i < to; i++) p *= shape[i];
        return p;
    }
}
