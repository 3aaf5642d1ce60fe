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
        var norm = NormalizeAxes("Mean", axes);
        int n = norm.Aggregate(1, (acc, a) => acc * Layout.Shape[a]);
        return Sum(axes, keepDim) * (n == 0 ? float.NaN : 1f / n);
    }
    /// <summary>Mean over one axis.</summary>
    public Tensor Mean(int axis, bool keepDim = false) => Mean([axis], keepDim);

    /// <summary>Largest value over <paramref name="axes"/> (all when null); NaN if any is NaN.</summary>
    /// <exception cref="ArgumentException">A reduced dim is empty.</exception>
    public Tensor Max(int[]? axes = null, bool keepDim = false) => Reduce<MaxOp>("Max", axes, keepDim, Grads.MaxMin, nonEmpty: true);
    /// <summary>Largest value over one axis.</summary>
    public Tensor Max(int axis, bool keepDim = false) => Max([axis], keepDim);
    /// <summary>Smallest value over <paramref name="axes"/> (all when null); NaN if any is NaN.</summary>
    public Tensor Min(int[]? axes = null, bool keepDim = false) => Reduce<MinOp>("Min", axes, keepDim, Grads.MaxMin, nonEmpty: true);
    /// <summary>Smallest value over one axis.</summary>
    public Tensor Min(int axis, bool keepDim = false) => Min([axis], keepDim);

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

    /// <summary>Folds the axes one run at a time; the gradient rule gets (x, result with kept dims, dL/dresult with kept dims, axes).</summary>
    private Tensor Reduce<TOp>(string op, int[]? axes, bool keepDim, Func<Tensor, Tensor, Tensor, int[], Tensor> rule, bool nonEmpty = false)
        where TOp : struct, IReduceOp
    {
        Check.Float32(op, this, "x");
        var norm = NormalizeAxes(op, axes);
        if (nonEmpty && norm.Any(a => Layout.Shape[a] == 0))
            throw new ArgumentException($"{op}: cannot reduce over an empty dim (shape {Layout.Format(Layout.Shape)}); the result has no identity.");
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
            var part = Empty((int[])shape.Clone(), DType.Float32, Device);
            Backend.Reduce<TOp>(x.Storage, x.Layout.Offset, part.Storage, outer, n, inner);
            if (!ReferenceEquals(x, this)) x.Dispose();
            x = part;
            end = start - 1;
        }
        if (ReferenceEquals(x, this)) x = Dense(copy: true);
        // One tensor object for the result (a second view would keep the storage shared, and a fresh gradient could not be
        // handed to a leaf without a copy); the rule sees it in the kept-dims shape.
        var keptShape = x.Layout.Shape;
        if (!keepDim) x.Relayout(Layout.Contiguous(Layout.Shape.Where((_, d) => !norm.Contains(d)).ToArray(), x.Layout.Offset));
        var y = x;
        var input = this;
        return Autograd.Record(y, op, [this], g => [rule(input, keepDim ? y : y.Reshape(keptShape), g.Reshape(keptShape), norm)], this, y);
    }

    private Tensor ArgReduce(string op, int? axis, bool keepDim, bool max)
    {
        Check.Float32(op, this, "x");
        if (axis is null) return Flatten().ArgReduce(op, 0, false, max);
        int ax = Layout.Axis(axis.Value, Rank, op);
        if (Rank > 0 && Layout.Shape[ax] == 0)
            throw new ArgumentException($"{op}: cannot take the arg-{(max ? "max" : "min")} of an empty dim (shape {Layout.Format(Layout.Shape)}).");
        var x = Dense();
        var shape = x.Shape;
        int outer = Prod(shape, 0, ax), n = Rank == 0 ? 1 : shape[ax], inner = Prod(shape, ax + 1, shape.Length);
        if (Rank > 0) shape[ax] = 1;
        var y = Empty(shape, DType.Int64, Device);
        Backend.ArgReduce(x.Storage, x.Layout.Offset, y.Storage, outer, n, inner, max);
        return keepDim || Rank == 0 ? y : y.Squeeze(ax);
    }

    private static int Prod(int[] shape, int from, int to)
    {
        int p = 1;
        for (int i = from; i < to; i++) p *= shape[i];
        return p;
    }
}
