using DeepSharp.Backends;
using DeepSharp.Ops;

namespace DeepSharp;

public sealed partial class Tensor
{
    private static Device Dev(Device? d) => d ?? Device.Cpu;

    /// <summary>A new tensor of a user's <paramref name="shape"/> (checked, and copied: the caller keeps its array) filled by op.</summary>
    private static Tensor Filled<T, TOp>(string op, int[] shape, DType dtype, Device? device, TOp fill)
        where T : unmanaged where TOp : struct, IIndexOp<T>
    {
        Layout.Numel(Check.NotNull(op, shape, nameof(shape)), op, nameof(shape));
        var t = Allocate((int[])shape.Clone(), dtype, Dev(device));
        t.Backend.Fill<T, TOp>(t.Storage, fill);
        return t;
    }

    /// <summary>A tensor of <paramref name="shape"/> filled with <paramref name="value"/> (truncated toward zero for the
    /// integer dtypes; rounded to nearest for the float ones, where a value beyond the range becomes ±inf, as in
    /// PyTorch).</summary>
    /// <exception cref="ArgumentNullException">shape is null.</exception>
    /// <exception cref="ArgumentException">A dimension is negative or the shape has too many elements.</exception>
    /// <exception cref="ArgumentOutOfRangeException">value does not fit an integer dtype (NaN and ±inf never do), or dtype
    /// is not a <see cref="DType"/>.</exception>
    /// <exception cref="DeviceOutOfMemoryException">The device cannot hold the tensor.</exception>
    public static Tensor Full(int[] shape, double value, DType dtype = DType.Float32, Device? device = null)
    {
        const string op = nameof(Full);
        return Check.Defined(op, dtype) switch
        {
            DType.Float32 => Filled<float, FillOp<float>>(op, shape, dtype, device, new((float)value)),
            DType.Float64 => Filled<double, FillOp<double>>(op, shape, dtype, device, new(value)),
            DType.Int32 => Filled<int, FillOp<int>>(op, shape, dtype, device, new((int)Integral(op, nameof(value), value, dtype))),
            DType.Int64 => Filled<long, FillOp<long>>(op, shape, dtype, device, new(Integral(op, nameof(value), value, dtype))),
            DType.Float16 => Filled<ushort, FillOp<ushort>>(op, shape, dtype, device, new(default(F16).FromDouble(value))),
            _ => Filled<ushort, FillOp<ushort>>(op, shape, dtype, device, new(default(BF16).FromDouble(value))),
        };
    }

    /// <summary><paramref name="value"/> truncated toward zero, checked to fit the integer <paramref name="dtype"/>.</summary>
    private static long Integral(string op, string name, double value, DType dtype)
    {
        double t = Math.Truncate(value);
        // 2^63 is exactly representable; long.MaxValue is not (it rounds up to 2^63), so the upper bound is exclusive.
        bool fits = dtype == DType.Int32 ? t is >= int.MinValue and <= int.MaxValue
            : t is >= -9.223372036854775808e18 and < 9.223372036854775808e18;
        if (!fits)
        {
            string range = dtype == DType.Int32 ? $"{int.MinValue}..{int.MaxValue}" : $"{long.MinValue}..{long.MaxValue}";
            throw new ArgumentOutOfRangeException(name, value, $"{op}: {value} does not fit {dtype.Name()} ({range}); use a float " +
                "dtype or a value in range.");
        }
        return (long)t;
    }

    /// <summary>Zeros of <paramref name="shape"/>.</summary>
    /// <exception cref="ArgumentNullException">shape is null.</exception>
    /// <exception cref="ArgumentException">A dimension is negative or the shape has too many elements.</exception>
    /// <exception cref="DeviceOutOfMemoryException">The device cannot hold the tensor.</exception>
    public static Tensor Zeros(int[] shape, DType dtype = DType.Float32, Device? device = null) => Full(shape, 0, dtype, device);
    /// <summary>Ones of <paramref name="shape"/>.</summary>
    /// <inheritdoc cref="Zeros(int[], DType, Device?)"/>
    public static Tensor Ones(int[] shape, DType dtype = DType.Float32, Device? device = null) => Full(shape, 1, dtype, device);
    /// <summary>Zeros of <paramref name="shape"/> (float32, CPU).</summary>
    /// <inheritdoc cref="Zeros(int[], DType, Device?)"/>
    public static Tensor Zeros(params int[] shape) => Zeros(shape, DType.Float32);
    /// <summary>Ones of <paramref name="shape"/> (float32, CPU).</summary>
    /// <inheritdoc cref="Zeros(int[], DType, Device?)"/>
    public static Tensor Ones(params int[] shape) => Ones(shape, DType.Float32);

    /// <summary><c>start, start+step, …</c> below <paramref name="end"/> (torch.arange): ⌈(end − start) / step⌉ values.</summary>
    /// <exception cref="ArgumentException">start, end or step is not finite, step is 0, its sign cannot reach end, or there
    /// would be more than <see cref="int.MaxValue"/> values.</exception>
    /// <exception cref="ArgumentOutOfRangeException">An integer dtype cannot hold the first or the last value.</exception>
    /// <exception cref="DeviceOutOfMemoryException">The device cannot hold the tensor.</exception>
    public static Tensor Arange(double start, double end, double step = 1, DType dtype = DType.Float32, Device? device = null)
    {
        const string op = nameof(Arange);
        Check.Defined(op, dtype);
        if (!double.IsFinite(start) || !double.IsFinite(end) || !double.IsFinite(step) || step == 0 || (end - start) * step < 0)
            throw new ArgumentException($"{op}: cannot go from {start} to {end} in steps of {step} (all three must be finite, and " +
                "step nonzero with the sign of end - start).", nameof(step));
        double count = Math.Max(0, Math.Ceiling((end - start) / step)); // in double: the count of a tiny step overflows any int
        if (!(count <= int.MaxValue))
            throw new ArgumentException($"{op}: from {start} to {end} in steps of {step} is {count:G6} values, more than the " +
                $"{int.MaxValue} a tensor can hold; use a larger step or a smaller range.", nameof(step));
        int n = (int)count;
        if (!dtype.IsFloat() && n > 0)
        {
            Integral(op, nameof(start), start, dtype);
            Integral(op, nameof(end), start + (n - 1) * step, dtype);
        }
        int[] shape = [n];
        return dtype switch
        {
            DType.Float32 => Filled<float, ArangeOp<float, F32>>(op, shape, dtype, device, new(start, step)),
            DType.Float64 => Filled<double, ArangeOp<double, F64>>(op, shape, dtype, device, new(start, step)),
            DType.Int32 => Filled<int, ArangeOp<int, I32>>(op, shape, dtype, device, new(start, step)),
            DType.Int64 => Filled<long, ArangeOp<long, I64>>(op, shape, dtype, device, new(start, step)),
            DType.Float16 => Filled<ushort, ArangeOp<ushort, F16>>(op, shape, dtype, device, new(start, step)),
            _ => Filled<ushort, ArangeOp<ushort, BF16>>(op, shape, dtype, device, new(start, step)),
        };
    }

    /// <summary><c>0, 1, …, end-1</c>.</summary>
    /// <exception cref="ArgumentException">end is negative.</exception>
    public static Tensor Arange(int end, DType dtype = DType.Float32, Device? device = null) => Arange(0, end, 1, dtype, device);

    /// <summary>Uniform samples in [low, high) (float32).</summary>
    /// <exception cref="ArgumentNullException">shape is null.</exception>
    /// <exception cref="ArgumentException">A dimension is negative or the shape has too many elements.</exception>
    /// <exception cref="ArgumentOutOfRangeException">low or high is not finite, or low &gt; high.</exception>
    public static Tensor Rand(int[] shape, float low = 0f, float high = 1f, Generator? generator = null, Device? device = null)
    {
        if (!float.IsFinite(low) || !float.IsFinite(high) || low > high)
            throw new ArgumentOutOfRangeException(float.IsFinite(low) ? nameof(high) : nameof(low), $"Rand: the range [{low}, {high}) " +
                "must be finite with low <= high.");
        return Random(nameof(Rand), shape, Distribution.Uniform, low, high, generator, device);
    }

    /// <summary>Normal samples with the given mean and standard deviation (float32).</summary>
    /// <exception cref="ArgumentNullException">shape is null.</exception>
    /// <exception cref="ArgumentException">A dimension is negative or the shape has too many elements.</exception>
    /// <exception cref="ArgumentOutOfRangeException">mean or std is not finite, or std is negative.</exception>
    public static Tensor Randn(int[] shape, float mean = 0f, float std = 1f, Generator? generator = null, Device? device = null)
    {
        if (!float.IsFinite(mean))
            throw new ArgumentOutOfRangeException(nameof(mean), mean, $"Randn: the mean must be finite, got {mean}.");
        if (!(std >= 0) || !float.IsFinite(std))
            throw new ArgumentOutOfRangeException(nameof(std), std, $"Randn: the standard deviation must be finite and >= 0, got {std}.");
        return Random(nameof(Randn), shape, Distribution.Normal, mean, std, generator, device);
    }

    private static Tensor Random(string op, int[] shape, Distribution distribution, float a, float b, Generator? generator, Device? device)
    {
        var g = generator ?? Generator.Default;
        int n = Layout.Numel(Check.NotNull(op, shape, nameof(shape)), op, nameof(shape));
        return Filled<float, RandomOp>(op, shape, DType.Float32, device, new RandomOp(g.Seed, g.Take(n), distribution, a, b));
    }

    /// <summary>A tensor holding a copy of <paramref name="data"/>, shaped <paramref name="shape"/> (1-D when omitted).</summary>
    /// <exception cref="ArgumentNullException">data is null.</exception>
    /// <exception cref="ArgumentException">The shape's element count differs from the data length, or a dim is negative.</exception>
    /// <exception cref="NotSupportedException">T is not float, double, int or long.</exception>
    public static Tensor FromArray<T>(T[] data, int[]? shape = null, Device? device = null) where T : unmanaged =>
        FromHost<T>(nameof(FromArray), Check.NotNull(nameof(FromArray), data, nameof(data)), shape, device, "the array");

    /// <summary>A new tensor of <paramref name="data"/>'s elements, uploaded once (T's dtype; the shape checked and copied).</summary>
    private static Tensor FromHost<T>(string op, ReadOnlySpan<T> data, int[]? shape, Device? device, string what) where T : unmanaged
    {
        shape = shape is null ? [data.Length] : (int[])shape.Clone();
        if (Layout.Numel(shape, op, nameof(shape)) != data.Length)
            throw new ArgumentException($"{op}: shape {Layout.Format(shape)} holds {Layout.Numel(shape)} elements but {what} has " +
                $"{data.Length}.", nameof(shape));
        var t = Allocate(shape, DTypes.Of<T>(), Dev(device));
        t.Backend.Upload<T>(data, t.Storage);
        return t;
    }

    /// <summary>A tensor from a multi-dimensional C# array (<c>float[,]</c>, <c>long[,,]</c>, …), keeping its shape.</summary>
    /// <exception cref="ArgumentNullException">data is null.</exception>
    /// <exception cref="ArgumentException">The array's elements are not T.</exception>
    public static Tensor FromArray<T>(Array data, Device? device = null) where T : unmanaged
    {
        Check.NotNull(nameof(FromArray), data, nameof(data));
        if (data.GetType().GetElementType() != typeof(T))
            throw new ArgumentException($"FromArray<{typeof(T).Name}>: the array holds {data.GetType().GetElementType()?.Name}, " +
                $"not {typeof(T).Name}.", nameof(data));
        var shape = Enumerable.Range(0, data.Rank).Select(data.GetLength).ToArray();
        // Not data.Length: it throws OverflowException past 2^31 elements.
        var flat = Backends.Cpu.CpuArrayPool.NewArray<T>(Layout.Numel(shape, nameof(FromArray), nameof(data)));
        int i = 0;
        foreach (T v in data) flat[i++] = v; // Row-major, as C# stores multi-dimensional arrays.
        return FromArray(flat, shape, device);
    }

    /// <summary>A float32 tensor from a 2-D array.</summary>
    /// <exception cref="ArgumentNullException">data is null.</exception>
    public static Tensor From(float[,] data, Device? device = null) => FromArray<float>(data, device);
    /// <summary>A float32 tensor from a 3-D array.</summary>
    /// <exception cref="ArgumentNullException">data is null.</exception>
    public static Tensor From(float[,,] data, Device? device = null) => FromArray<float>(data, device);
    /// <summary>A float32 tensor from a 1-D array.</summary>
    /// <exception cref="ArgumentNullException">data is null.</exception>
    public static Tensor From(float[] data, Device? device = null) => FromArray(data, null, device);
    /// <summary>A 0-dimensional tensor holding one value.</summary>
    public static Tensor Scalar(float value, Device? device = null) => FromArray([value], [], device);

    /// <summary>The elements in row-major order, copied to a new host array.</summary>
    /// <exception cref="InvalidOperationException">T does not match the tensor's dtype.</exception>
    public T[] ToArray<T>() where T : unmanaged
    {
        if (DTypes.Of<T>() != DType)
            throw new InvalidOperationException(
                $"ToArray<{typeof(T).Name}>: the tensor's dtype is {DType.Name()}; call .To(DType.{DTypes.Of<T>()}) first or use " +
                $"ToArray<{ClrName(DType)}>().");
        var dense = IsContiguous && Layout.Offset == 0 ? this : Dense(copy: true);
        var result = Backends.Cpu.CpuArrayPool.NewArray<T>(Count);
        dense.Backend.Download<T>(dense.Storage, result);
        if (!ReferenceEquals(dense, this)) dense.Dispose();
        return result;
    }

    private static string ClrName(DType t) => t.ClrName();

    /// <summary>The value of a one-element tensor (torch's <c>.item()</c>).</summary>
    /// <exception cref="InvalidOperationException">The tensor has more or fewer than one element, or T mismatches.</exception>
    public T Item<T>() where T : unmanaged
    {
        if (Count != 1)
            throw new InvalidOperationException(
                $"Item: the tensor has {Count} elements (shape {Layout.Format(Layout.ShapeArray)}); only one-element tensors convert to " +
                "a scalar.");
        return ToArray<T>()[0];
    }

    /// <summary>The float32 value of a one-element tensor.</summary>
    public float Item() => Item<float>();

    /// <summary>The elements converted to double, row-major (for printing and references).</summary>
    public double[] ToDoubleArray() => DType == DType.Float64 ? ToArray<double>() : To(DType.Float64).ToArray<double>();

}
