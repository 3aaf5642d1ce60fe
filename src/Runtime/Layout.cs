namespace DeepSharp;

/// <summary>
/// Where a tensor's elements sit in its storage: shape, strides (in elements) and offset. Views share storage and differ
/// only in layout, so reshape, transpose, slice and expand cost no copy (Candle's <c>Layout</c>).
/// </summary>
public sealed class Layout
{
    private readonly int[] _shape, _strides;

    /// <summary>Dimension sizes, outermost first (read-only: a layout never changes once made).</summary>
    public ReadOnlySpan<int> Shape => _shape;
    /// <summary>The shape's array itself, for the runtime's own code (which never writes to it).</summary>
    internal int[] ShapeArray => _shape;
    /// <summary>The strides' array itself, for the runtime's own code (which never writes to it).</summary>
    internal int[] StridesArray => _strides;
    /// <summary>Elements to skip per step along each dimension; 0 for a broadcast dimension (read-only).</summary>
    public ReadOnlySpan<int> Strides => _strides;
    /// <summary>Index of the first element in the storage.</summary>
    public int Offset { get; }

    /// <summary>Creates a layout over copies of <paramref name="shape"/> and <paramref name="strides"/>. Strides are not
    /// checked against any storage: a layout is a description until an op pairs it with one.</summary>
    /// <exception cref="ArgumentNullException">shape or strides is null.</exception>
    /// <exception cref="ArgumentException">The lengths differ, a dim is negative, the shape has too many elements (see
    /// <see cref="Numel(ReadOnlySpan{int})"/>), or offset is negative.</exception>
    public Layout(int[] shape, int[] strides, int offset) : this(shape, strides, offset, owned: false) { }

    /// <summary>A layout that keeps <paramref name="shape"/> and <paramref name="strides"/> themselves when
    /// <paramref name="owned"/> (arrays made for it, which nothing else holds), after the same checks.</summary>
    private Layout(int[] shape, int[] strides, int offset, bool owned)
    {
        ArgumentNullException.ThrowIfNull(shape);
        ArgumentNullException.ThrowIfNull(strides);
        if (shape.Length != strides.Length)
            throw new ArgumentException($"Layout: shape {Format(shape)} has {shape.Length} dims but strides {Format(strides)} has " +
                $"{strides.Length}.", nameof(strides));
        Numel(shape, nameof(Layout), nameof(shape));
        if (offset < 0) throw new ArgumentOutOfRangeException(nameof(offset), offset, $"Layout: the offset must be >= 0, got {offset}.");
        (_shape, _strides, Offset) = owned ? (shape, strides, offset) : ((int[])shape.Clone(), (int[])strides.Clone(), offset);
    }

    /// <summary>A row-major contiguous layout of <paramref name="shape"/>.</summary>
    /// <exception cref="ArgumentException">As for the constructor.</exception>
    public static Layout Contiguous(int[] shape, int offset = 0)
    {
        var strides = ContiguousStrides(shape); // checks shape first
        return new((int[])shape.Clone(), strides, offset, owned: true);
    }

    /// <summary>A layout over arrays the caller made for it and never changes (no copies: the runtime's own views).</summary>
    internal static Layout Owned(int[] shape, int[] strides, int offset) => new(shape, strides, offset, owned: true);

    /// <summary>Row-major strides of <paramref name="shape"/>.</summary>
    /// <exception cref="ArgumentNullException">shape is null.</exception>
    /// <exception cref="ArgumentException">A dim is negative or the shape is too large (see
    /// <see cref="Numel(ReadOnlySpan{int})"/>).</exception>
    public static int[] ContiguousStrides(int[] shape)
    {
        ArgumentNullException.ThrowIfNull(shape);
        Numel(shape, nameof(ContiguousStrides), nameof(shape)); // so the products below cannot wrap
        var s = new int[shape.Length];
        int acc = 1;
        for (int d = shape.Length - 1; d >= 0; d--) { s[d] = acc; acc *= Math.Max(shape[d], 1); }
        return s;
    }

    /// <summary>Number of dimensions.</summary>
    public int Rank => Shape.Length;

    /// <summary>Number of elements (1 for a scalar, 0 when any dim is 0).</summary>
    public int Count => Numel(Shape);

    /// <summary>Product of <paramref name="shape"/>, checked: every dim ≥ 0 and the product of the dims, zeros taken as 1,
    /// at most <see cref="int.MaxValue"/> (so every stride fits an int, even in an empty tensor).</summary>
    /// <exception cref="ArgumentException">A dimension is negative or the product exceeds <see cref="int.MaxValue"/>.</exception>
    public static int Numel(ReadOnlySpan<int> shape) => Numel(shape, null, "shape");

    /// <summary>Whether a tensor can have <paramref name="shape"/>, and its element count: <see cref="Numel(ReadOnlySpan{int})"/>
    /// without the exception (for readers checking a shape from a file).</summary>
    /// <param name="shape">The dims, outermost first.</param>
    /// <param name="count">The element count when the shape is valid, else 0.</param>
    /// <returns>False when a dim is negative or the dims, zeros taken as 1, multiply past <see cref="int.MaxValue"/>.</returns>
    public static bool TryNumel(ReadOnlySpan<int> shape, out int count)
    {
        long n = Check.Elements(shape);
        count = n >= 0 ? (int)n : 0;
        return n >= 0;
    }

    /// <summary><see cref="Numel(ReadOnlySpan{int})"/> with a message that names the op and its argument.</summary>
    internal static int Numel(ReadOnlySpan<int> shape, string? op, string name)
    {
        long n = Check.Elements(shape);
        if (n >= 0) return (int)n;
        string prefix = op is null ? "" : $"{op}: ";
        throw n == Check.NegativeDim
            ? new ArgumentException($"{prefix}dimensions must be >= 0, got shape {Format(shape)}.", name)
            : new ArgumentException($"{prefix}shape {Format(shape)} is too large: its dims multiply to more than {int.MaxValue} " +
                "(zero dims taken as 1), the most elements a tensor can index.", name);
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
    /// <exception cref="ArgumentOutOfRangeException">axis is out of range, or rank is negative.</exception>
    /// <exception cref="ArgumentNullException">op is null.</exception>
    public static int Axis(int axis, int rank, string op)
    {
        ArgumentNullException.ThrowIfNull(op);
        if (rank < 0) throw new ArgumentOutOfRangeException(nameof(rank), rank, $"{op}: a rank must be >= 0, got {rank}.");
        int a = axis < 0 ? axis + rank : axis;
        if (a < 0 || a >= Math.Max(rank, 1) || (rank == 0 && a != 0))
            throw new ArgumentOutOfRangeException(nameof(axis), axis, $"{op}: axis {axis} is out of range for a tensor of rank {rank} " +
                $"(expected {-Math.Max(rank, 1)}..{Math.Max(rank, 1) - 1}).");
        return a;
    }

    /// <summary>Like <see cref="Axis"/>, for ops that index the dim itself: a 0-D tensor has none.</summary>
    internal static int Dim(int axis, int rank, string op) => rank > 0 ? Axis(axis, rank, op)
        : throw new ArgumentOutOfRangeException(nameof(axis), axis,
            $"{op}: a 0-D tensor has no dims, so it has no dim {axis}; Reshape(1) it first.");

    /// <summary>A view with a new shape over the same elements, or null when the strides do not allow one (then copy).</summary>
    /// <exception cref="ArgumentNullException">newShape is null.</exception>
    /// <exception cref="ArgumentException">newShape holds a different number of elements (or a negative dim).</exception>
    public Layout? TryReshape(int[] newShape)
    {
        ArgumentNullException.ThrowIfNull(newShape);
        if (Numel(newShape, nameof(TryReshape), nameof(newShape)) != Count)
            throw new ArgumentException($"TryReshape: shape {Format(newShape)} holds {Numel(newShape)} elements but this layout " +
                $"({Format(Shape)}) has {Count}.", nameof(newShape));
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
        return Owned(newShape, newStrides, Offset);
    }

    private int LastNonUnitStride(int from, int to)
    {
        for (int d = to - 1; d >= from; d--) if (Shape[d] != 1) return Strides[d];
        return 1;
    }

    /// <summary>Reorders dims: result dim i is old dim <paramref name="order"/>[i].</summary>
    /// <exception cref="ArgumentNullException">order is null.</exception>
    /// <exception cref="ArgumentException">order is not a permutation of 0..Rank-1.</exception>
    public Layout Permute(int[] order)
    {
        ArgumentNullException.ThrowIfNull(order);
        bool ok = order.Length == Rank;
        Span<bool> seen = !ok ? [] : Rank <= 64 ? stackalloc bool[Rank] : new bool[Rank];
        for (int i = 0; ok && i < Rank; i++) ok = (uint)order[i] < (uint)Rank && !seen[order[i]] && (seen[order[i]] = true);
        if (!ok)
            throw new ArgumentException($"Permute: {Format(order)} is not a permutation of 0..{Rank - 1} (layout {Format(Shape)}).",
                nameof(order));
        return Owned(order.Select(d => _shape[d]).ToArray(), order.Select(d => _strides[d]).ToArray(), Offset);
    }

    /// <summary>Keeps <c>start, start+step, …</c> (&lt; end) of <paramref name="axis"/>; empty when end ≤ start.</summary>
    /// <exception cref="ArgumentOutOfRangeException">axis is out of range, start or end is outside [0, size], or step is
    /// below 1.</exception>
    public Layout Slice(int axis, int start, int end, int step)
    {
        int ax = Dim(axis, Rank, nameof(Slice)), n = Shape[ax];
        if (step < 1) throw new ArgumentOutOfRangeException(nameof(step), step, $"Slice: step must be >= 1, got {step}.");
        if (start < 0 || start > n)
            throw new ArgumentOutOfRangeException(nameof(start), start, $"Slice: start must lie in [0, {n}], got {start}.");
        if (end < 0 || end > n) throw new ArgumentOutOfRangeException(nameof(end), end, $"Slice: end must lie in [0, {n}], got {end}.");
        // In 64 bits: end - start + step - 1 wraps an int for a large step. The length is at most n, so it fits.
        int length = end <= start ? 0 : (int)(((long)end - start + step - 1) / step);
        var shape = Shape.ToArray(); var strides = Strides.ToArray();
        shape[ax] = length;
        // A tensor's step·stride spans at most the dim's extent, so it fits; with one element the stride is never used.
        long stride = length > 1 ? (long)Strides[ax] * step : Strides[ax];
        long offset = length == 0 ? Offset : Offset + (long)start * Strides[ax];
        if (stride != (int)stride || offset != (int)offset)
            throw new ArgumentOutOfRangeException(nameof(step), step, $"Slice: step {step} from {start} over stride {Strides[ax]} " +
                "leaves the 32-bit index range of this layout.");
        strides[ax] = (int)stride;
        return Owned(shape, strides, (int)offset);
    }

    /// <summary>Broadcast view: size-1 dims (and new leading dims) get stride 0.</summary>
    /// <exception cref="ArgumentNullException">shape is null.</exception>
    /// <exception cref="ArgumentException">shape has fewer dims than this layout, a dim is negative, a dim of size other
    /// than 1 would change, or the shape is too large.</exception>
    public Layout Expand(int[] shape)
    {
        ArgumentNullException.ThrowIfNull(shape);
        Numel(shape, nameof(Expand), nameof(shape));
        int lead = shape.Length - Rank;
        var strides = new int[shape.Length];
        for (int d = 0; d < shape.Length && lead >= 0; d++)
        {
            int od = d - lead;
            if (od >= 0 && Shape[od] != shape[d] && Shape[od] != 1) { lead = -1; break; }
            strides[d] = od < 0 ? 0 : Shape[od] == shape[d] ? Strides[od] : 0;
        }
        if (lead < 0)
            throw new ArgumentException($"Expand: a layout of shape {Format(Shape)} cannot be expanded to {Format(shape)} (only size-1 " +
                "dims can grow, and new dims go in front).", nameof(shape));
        return Owned((int[])shape.Clone(), strides, Offset);
    }

    /// <inheritdoc/>
    public override string ToString() => $"shape {Format(Shape)}, strides {Format(Strides)}, offset {Offset}";
}
