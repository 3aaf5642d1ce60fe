namespace DeepSharp;

/// <summary>
/// Where a tensor's elements sit in its storage: shape, strides (in elements) and offset. Views share storage and differ
/// only in layout, so reshape, transpose, slice and expand cost no copy (Candle's <c>Layout</c>).
/// </summary>
public sealed class Layout
{
    /// <summary>Dimension sizes, outermost first.</summary>
    public int[] Shape { get; }
    /// <summary>Elements to skip per step along each dimension; 0 for a broadcast dimension.</summary>
    public int[] Strides { get; }
    /// <summary>Index of the first element in the storage.</summary>
    public int Offset { get; }

    /// <summary>Creates a layout; no checks beyond lengths (callers validate).</summary>
    public Layout(int[] shape, int[] strides, int offset)
    {
        if (shape.Length != strides.Length) throw new ArgumentException($"shape has {shape.Length} dims but strides has {strides.Length}");
        Shape = shape; Strides = strides; Offset = offset;
    }

    /// <summary>A row-major contiguous layout of <paramref name="shape"/>.</summary>
    public static Layout Contiguous(int[] shape, int offset = 0) => new(shape, ContiguousStrides(shape), offset);

    /// <summary>Row-major strides of <paramref name="shape"/>.</summary>
    public static int[] ContiguousStrides(int[] shape)
    {
        var s = new int[shape.Length];
        int acc = 1;
        for (int d = shape.Length - 1; d >= 0; d--) { s[d] = acc; acc *= Math.Max(shape[d], 1); }
        return s;
    }

    /// <summary>Number of dimensions.</summary>
    public int Rank => Shape.Length;

    /// <summary>Number of elements (1 for a scalar, 0 when any dim is 0).</summary>
    public int Count => Numel(Shape);

    /// <summary>Product of <paramref name="shape"/>, checked against int overflow.</summary>
    /// <exception cref="ArgumentException">A dimension is negative or the product exceeds <see cref="int.MaxValue"/>.</exception>
    public static int Numel(ReadOnlySpan<int> shape)
    {
        long n = 1;
        foreach (var d in shape)
        {
            if (d < 0) throw new ArgumentException($"Dimensions must be >= 0, got shape {Format(shape)}.");
            n *= d;
            if (n > int.MaxValue) throw new ArgumentException($"Shape {Format(shape)} has more than {int.MaxValue} elements.");
        }
        return (int)n;
    }

    /// <summary>True when elements are row-major and dense from <see cref="Offset"/> (size-1 dims may have any stride).</summary>
    public bool IsContiguous
    {
        get
        {
            int expect = 1;
            for (int d = Rank - 1; d >= 0; d--)
            {
                if (Shape[d] == 1) continue;
                if (Strides[d] != expect) return false;
                expect *= Shape[d];
            }
            return true;
        }
    }

    /// <summary>Formats a shape the way PyTorch prints <c>torch.Size</c>: <c>[2, 3]</c>.</summary>
    public static string Format(ReadOnlySpan<int> shape) => "[" + string.Join(", ", shape.ToArray()) + "]";

    /// <summary>Normalizes a possibly negative axis; throws naming the op when out of range.</summary>
    public static int Axis(int axis, int rank, string op)
    {
        int a = axis < 0 ? axis + rank : axis;
        if (a < 0 || a >= Math.Max(rank, 1) || (rank == 0 && a != 0))
            throw new ArgumentOutOfRangeException(nameof(axis), $"{op}: axis {axis} is out of range for a tensor of rank {rank} (expected {-Math.Max(rank, 1)}..{Math.Max(rank, 1) - 1}).");
        return a;
    }

    /// <summary>A view with a new shape over the same elements, or null when the strides do not allow one (then copy).</summary>
    public Layout? TryReshape(int[] newShape)
    {
        if (IsContiguous) return Contiguous(newShape, Offset);
        // Walk old and new dims in groups of equal element count; each old group must be internally contiguous.
        var newStrides = new int[newShape.Length];
        int oi = 0, ni = 0;
        while (oi < Rank || ni < newShape.Length)
        {
            int oStart = oi, nStart = ni;
            long oCount = oi < Rank ? Shape[oi++] : 1, nCount = ni < newShape.Length ? newShape[ni++] : 1;
            while (oCount != nCount)
            {
                if (oCount < nCount) { if (oi >= Rank) return null; oCount *= Shape[oi++]; }
                else { if (ni >= newShape.Length) return null; nCount *= newShape[ni++]; }
            }
            for (int d = oStart; d < oi - 1; d++)
                if (Shape[d] != 1 && Shape[d + 1] != 1 && Strides[d] != Strides[d + 1] * Shape[d + 1]) return null;
            int stride = oi > oStart ? LastNonUnitStride(oStart, oi) : 1;
            for (int d = ni - 1; d >= nStart; d--) { newStrides[d] = stride; stride *= newShape[d]; }
        }
        return new Layout(newShape, newStrides, Offset);
    }

    private int LastNonUnitStride(int from, int to)
    {
        for (int d = to - 1; d >= from; d--) if (Shape[d] != 1) return Strides[d];
        return 1;
    }

    /// <summary>Reorders dims: result dim i is old dim <paramref name="order"/>[i].</summary>
    public Layout Permute(int[] order) => new(order.Select(d => Shape[d]).ToArray(), order.Select(d => Strides[d]).ToArray(), Offset);

    /// <summary>Keeps <c>start, start+step, …</c> (&lt; end) of <paramref name="axis"/>.</summary>
    public Layout Slice(int axis, int start, int end, int step)
    {
        var shape = (int[])Shape.Clone(); var strides = (int[])Strides.Clone();
        shape[axis] = end <= start ? 0 : (end - start + step - 1) / step;
        strides[axis] = Strides[axis] * step;
        return new Layout(shape, strides, shape[axis] == 0 ? Offset : Offset + start * Strides[axis]);
    }

    /// <summary>Broadcast view: size-1 dims (and new leading dims) get stride 0.</summary>
    public Layout Expand(int[] shape)
    {
        int lead = shape.Length - Rank;
        var strides = new int[shape.Length];
        for (int d = 0; d < shape.Length; d++)
        {
            int od = d - lead;
            strides[d] = od < 0 ? 0 : Shape[od] == shape[d] ? Strides[od] : 0;
        }
        return new Layout((int[])shape.Clone(), strides, Offset);
    }

    /// <inheritdoc/>
    public override string ToString() => $"shape {Format(Shape)}, strides {Format(Strides)}, offset {Offset}";
}
