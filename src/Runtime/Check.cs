namespace DeepSharp;

/// <summary>
/// Argument checks shared by the operations; every message names the op, the argument and what it found. Size arithmetic
/// from user arguments (element counts, window grids, slice lengths, concatenated dims, ranges) is done here in 64 bits,
/// so no op divides by a user's zero or wraps an int before it has checked.
/// </summary>
internal static class Check
{
    /// <summary>Throws <see cref="ArgumentNullException"/> naming <paramref name="name"/> and the op when value is null.</summary>
    public static T NotNull<T>(string op, T? value, string name) where T : class =>
        value ?? throw new ArgumentNullException(name, $"{op}: argument '{name}' is null.");

    /// <summary>A list of tensors, none of them null.</summary>
    public static void NoNulls(string op, IReadOnlyList<Tensor?>? tensors, string name)
    {
        NotNull(op, tensors, name);
        for (int i = 0; i < tensors!.Count; i++)
            if (tensors[i] is null) throw new ArgumentNullException(name, $"{op}: {name}[{i}] is null.");
    }

    /// <summary>A dtype that exists (casts from int can make others).</summary>
    public static DType Defined(string op, DType dtype, string name = "dtype") => Enum.IsDefined(dtype) ? dtype
        : throw new ArgumentOutOfRangeException(name, dtype,
            $"{op}: {(int)dtype} is not a DType; use Float32, Float64, Int32, Int64, Float16 or BFloat16.");

    /// <summary>A reduction that exists.</summary>
    public static Reduction Defined(string op, Reduction reduction) => Enum.IsDefined(reduction) ? reduction
        : throw new ArgumentOutOfRangeException(nameof(reduction), reduction,
            $"{op}: {(int)reduction} is not a Reduction; use Mean, Sum or None.");

    /// <summary><paramref name="value"/> as an element count or dim: throws naming the op and the argument when it exceeds
    /// <see cref="int.MaxValue"/> (tensors index their elements with 32-bit ints).</summary>
    public static int Size(string op, string name, long value, string what)
    {
        if (value is < 0 or > int.MaxValue)
            throw new ArgumentException($"{op}: {what} would be {value}, but a tensor dim or element count must lie in " +
                $"0..{int.MaxValue}.", name);
        return (int)value;
    }

    /// <summary>
    /// The element count of a tensor with these dims, or <see cref="NegativeDim"/> or <see cref="TooLarge"/>: each dim must
    /// be ≥ 0 and the product of the dims, zeros taken as 1, at most <see cref="int.MaxValue"/>, so every stride and every
    /// partial product of the dims fits an int as well, even in an empty tensor. The one place shapes are multiplied.
    /// </summary>
    public static long Elements<T>(ReadOnlySpan<T> dims) where T : System.Numerics.IBinaryInteger<T>
    {
        long product = 1, count = 1;
        foreach (var dim in dims)
        {
            long d = long.CreateTruncating(dim);
            if (d < 0) return NegativeDim;
            if (d > int.MaxValue) return TooLarge;
            product *= Math.Max(d, 1); // both factors ≤ int.MaxValue: the long cannot wrap before the check below
            count *= d;
            if (product > int.MaxValue) return TooLarge;
        }
        return count;
    }

    /// <summary>Results of <see cref="Elements{T}"/> for a negative dim and for too many elements.</summary>
    public const long NegativeDim = -1, TooLarge = -2;

    /// <summary>
    /// Checks the arguments of kH×kW windows with <paramref name="stride"/>, <paramref name="padding"/> and
    /// <paramref name="dilation"/> over the last two dims of x [N, C, H, W] (convolution, pooling, unfold) and returns the
    /// windows' description, before anything divides or allocates. A dilated window spans d·(k − 1) + 1 input elements. A
    /// stride larger than the padded input has one window per axis, as any stride that large has; it is clamped, so no
    /// index computed from it wraps.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">kernel, stride or dilation is below 1, padding below 0, or they are too
    /// large to index (padded sides, window spans and padding + stride must stay below 2^31).</exception>
    /// <exception cref="ArgumentException">The window is larger than the padded input, or the windows would hold more
    /// elements than a tensor can.</exception>
    public static Backends.WindowArgs Window(string op, int[] x, (int H, int W) k, (int H, int W) stride, (int H, int W) padding,
        (int H, int W) dilation, string kernelName)
    {
        Positive(op, k, kernelName, "the kernel size");
        Positive(op, stride, nameof(stride), "stride");
        Positive(op, dilation, nameof(dilation), "dilation");
        if (padding.H < 0 || padding.W < 0)
            throw new ArgumentOutOfRangeException(nameof(padding), padding.H < 0 ? padding.H : padding.W,
                $"{op}: padding must be >= 0, got {Pair(padding)}.");
        int n = x[0], c = x[1], h = x[2], w = x[3];
        long ph = h + 2L * padding.H, pw = w + 2L * padding.W;
        long eh = (long)dilation.H * (k.H - 1) + 1, ew = (long)dilation.W * (k.W - 1) + 1; // the spans of a dilated window
        if (Math.Max(ph, pw) > int.MaxValue)
            throw new ArgumentOutOfRangeException(nameof(padding), Math.Max(padding.H, padding.W),
                $"{op}: padding {Pair(padding)} makes the padded input " +
                $"{ph}×{pw}, beyond the {int.MaxValue} elements a dim can index.");
        if (ph < eh || pw < ew)
        {
            string spans = dilation == (1, 1) ? "" : $" (kernel {k.H}×{k.W} at dilation {Pair(dilation)} spans {eh}×{ew})";
            throw new ArgumentException($"{op}: the (padded) input is {ph}×{pw} but the window is {k.H}×{k.W}{spans}; use a " +
                "smaller kernel or dilation, or more padding.", kernelName);
        }
        // The same windows: one per axis where the stride is this long.
        long sh = Math.Min(stride.H, ph - eh + 1), sw = Math.Min(stride.W, pw - ew + 1);
        if (Math.Max(padding.H + sh, padding.W + sw) > int.MaxValue)
            throw new ArgumentOutOfRangeException(nameof(padding), padding.H + sh > int.MaxValue ? padding.H : padding.W,
                $"{op}: padding {Pair(padding)} with stride " +
                $"{Pair(stride)} is beyond what the window indices can hold (padding + stride must stay below 2^31).");
        long oh = (ph - eh) / sh + 1, ow = (pw - ew) / sw + 1;
        if (Elements<long>([n, c, (long)k.H * k.W, oh, ow]) < 0)
            throw new ArgumentException($"{op}: the windows of an input {Layout.Format(x)} ({k.H}×{k.W} windows at {oh}×{ow} " +
                $"positions per image and channel) would hold more than {int.MaxValue} elements; use a smaller kernel, a larger " +
                "stride or smaller batches.", kernelName);
        return new Backends.WindowArgs
        {
            N = n, C = c, H = h, W = w, KH = k.H, KW = k.W, SH = (int)sh, SW = (int)sw, PH = padding.H, PW = padding.W,
            DH = dilation.H, DW = dilation.W, OH = (int)oh, OW = (int)ow,
        };
    }

    private static void Positive(string op, (int H, int W) value, string name, string what)
    {
        if (value.H < 1 || value.W < 1)
            throw new ArgumentOutOfRangeException(name, value.H < 1 ? value.H : value.W, $"{op}: {what} must be >= 1, got {Pair(value)}.");
    }

    /// <summary>A pair as "a" when both are equal (the square form), else "(a, b)".</summary>
    public static string Pair((int H, int W) v) => v.H == v.W ? v.H.ToString(System.Globalization.CultureInfo.InvariantCulture)
        : $"({v.H}, {v.W})";

    public static void SameDevice(string op, Tensor a, string nameA, Tensor b, string nameB)
    {
        NotNull(op, a, nameA); NotNull(op, b, nameB);
        if (a.Device != b.Device)
            throw new DeviceMismatchException($"{op}: argument '{nameB}' is on {b.Device} but argument '{nameA}' is on {a.Device}. " +
                "Operations never copy between devices; move one with .To(device) first.");
    }

    /// <summary>Whether t is float32 or float64: the dtypes the kernels compute in.</summary>
    public static void Computes(string op, Tensor t, string name)
    {
        NotNull(op, t, name);
        if (t.DType is not (DType.Float32 or DType.Float64))
            throw new NotSupportedException($"{op}: argument '{name}' has dtype {t.DType.Name()}, but {op} computes on float32 and " +
                "float64. Convert it with .To(DType.Float32).");
    }

    public static void Float32(string op, Tensor t, string name)
    {
        NotNull(op, t, name);
        if (t.DType != DType.Float32)
            throw new NotSupportedException($"{op}: argument '{name}' has dtype {t.DType.Name()}, but {op} computes on float32. " +
                "Convert it with .To(DType.Float32).");
    }

    /// <summary>numpy broadcasting: align from the right; each pair of dims must be equal or contain a 1.</summary>
    public static int[] Broadcast(string op, int[] a, int[] b)
    {
        int rank = Math.Max(a.Length, b.Length);
        var shape = new int[rank];
        for (int i = 0; i < rank; i++)
        {
            int da = i < rank - a.Length ? 1 : a[i - (rank - a.Length)];
            int db = i < rank - b.Length ? 1 : b[i - (rank - b.Length)];
            if (da != db && da != 1 && db != 1)
                throw new ArgumentException($"{op}: shapes {Layout.Format(a)} and {Layout.Format(b)} cannot be broadcast together: " +
                    $"dim {i - rank} is {da} in the first and {db} in the second (each pair must be equal or contain a 1).");
            shape[i] = da == 1 ? db : da;
        }
        return shape;
    }
}
