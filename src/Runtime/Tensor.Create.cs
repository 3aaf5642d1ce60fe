using DeepSharp.Backends;
using DeepSharp.Ops;

namespace DeepSharp;

public sealed partial class Tensor
{
    private static Device Dev(Device? d) => d ?? Device.Cpu;

    private static Tensor Filled<T, TOp>(int[] shape, DType dtype, Device? device, TOp op) where T : unmanaged where TOp : struct, IIndexOp<T>
    {
        var t = Empty(shape, dtype, Dev(device));
        t.Backend.Fill<T, TOp>(t.Storage, op);
        return t;
    }

    /// <summary>A tensor of <paramref name="shape"/> filled with <paramref name="value"/>.</summary>
    /// <exception cref="ArgumentException">A dimension is negative.</exception>
    public static Tensor Full(int[] shape, double value, DType dtype = DType.Float32, Device? device = null) => dtype switch
    {
        DType.Float32 => Filled<float, FillOp<float>>(shape, dtype, device, new((float)value)),
        DType.Float64 => Filled<double, FillOp<double>>(shape, dtype, device, new(value)),
        DType.Int32 => Filled<int, FillOp<int>>(shape, dtype, device, new(checked((int)value))),
        _ => Filled<long, FillOp<long>>(shape, dtype, device, new(checked((long)value))),
    };

    /// <summary>Zeros of <paramref name="shape"/>.</summary>
    public static Tensor Zeros(int[] shape, DType dtype = DType.Float32, Device? device = null) => Full(shape, 0, dtype, device);
    /// <summary>Ones of <paramref name="shape"/>.</summary>
    public static Tensor Ones(int[] shape, DType dtype = DType.Float32, Device? device = null) => Full(shape, 1, dtype, device);
    /// <summary>Zeros of <paramref name="shape"/> (float32, CPU).</summary>
    public static Tensor Zeros(params int[] shape) => Zeros(shape, DType.Float32);
    /// <summary>Ones of <paramref name="shape"/> (float32, CPU).</summary>
    public static Tensor Ones(params int[] shape) => Ones(shape, DType.Float32);

    /// <summary><c>start, start+step, …</c> below <paramref name="end"/> (torch.arange).</summary>
    /// <exception cref="ArgumentException">step is 0, or its sign cannot reach end.</exception>
    public static Tensor Arange(double start, double end, double step = 1, DType dtype = DType.Float32, Device? device = null)
    {
        if (step == 0 || double.IsNaN(start + end + step) || (end - start) * step < 0 && end != start)
            throw new ArgumentException($"Arange: cannot go from {start} to {end} in steps of {step}.");
        int n = (int)Math.Max(0, Math.Ceiling((end - start) / step));
        int[] shape = [n];
        return dtype switch
        {
            DType.Float32 => Filled<float, ArangeOp<float, F32>>(shape, dtype, device, new(start, step)),
            DType.Float64 => Filled<double, ArangeOp<double, F64>>(shape, dtype, device, new(start, step)),
            DType.Int32 => Filled<int, ArangeOp<int, I32>>(shape, dtype, device, new(start, step)),
            _ => Filled<long, ArangeOp<long, I64>>(shape, dtype, device, new(start, step)),
        };
    }

    /// <summary><c>0, 1, …, end-1</c>.</summary>
    public static Tensor Arange(int end, DType dtype = DType.Float32, Device? device = null) => Arange(0, end, 1, dtype, device);

    /// <summary>Uniform samples in [low, high) (float32).</summary>
    public static Tensor Rand(int[] shape, float low = 0f, float high = 1f, Generator? generator = null, Device? device = null) =>
        Random(shape, false, low, high, generator, device);

    /// <summary>Normal samples with the given mean and standard deviation (float32).</summary>
    public static Tensor Randn(int[] shape, float mean = 0f, float std = 1f, Generator? generator = null, Device? device = null) =>
        Random(shape, true, mean, std, generator, device);

    private static Tensor Random(int[] shape, bool normal, float a, float b, Generator? generator, Device? device)
    {
        var g = generator ?? Generator.Default;
        int n = Layout.Numel(shape);
        return Filled<float, RandomOp>(shape, DType.Float32, device, new RandomOp(g.Seed, g.Take(n), normal, a, b));
    }

    /// <summary>A tensor holding a copy of <paramref name="data"/>, shaped <paramref name="shape"/> (1-D when omitted).</summary>
    /// <exception cref="ArgumentException">The shape's element count differs from the data length.</exception>
    public static Tensor FromArray<T>(T[] data, int[]? shape = null, Device? device = null) where T : unmanaged
    {
        shape ??= [data.Length];
        if (Layout.Numel(shape) != data.Length)
            throw new ArgumentException($"FromArray: shape {Layout.Format(shape)} holds {Layout.Numel(shape)} elements but the array has {data.Length}.");
        var t = Empty(shape, DTypes.Of<T>(), Dev(device));
        t.Backend.Upload<T>(data, t.Storage);
        return t;
    }

    /// <summary>A CPU tensor that takes ownership of <paramref name="data"/> without copying (loaders read straight into it).</summary>
    internal static Tensor Adopt<T>(T[] data, int[] shape) where T : unmanaged
    {
        if (Layout.Numel(shape) != data.Length)
            throw new ArgumentException($"Adopt: shape {Layout.Format(shape)} holds {Layout.Numel(shape)} elements but the array has {data.Length}.");
        return new Tensor(new Backends.CpuStorage(DTypes.Of<T>(), data), Layout.Contiguous(shape));
    }

    /// <summary>A tensor from a multi-dimensional C# array (<c>float[,]</c>, <c>long[,,]</c>, …), keeping its shape.</summary>
    public static Tensor FromArray<T>(Array data, Device? device = null) where T : unmanaged
    {
        if (data.GetType().GetElementType() != typeof(T))
            throw new ArgumentException($"FromArray<{typeof(T).Name}>: the array holds {data.GetType().GetElementType()?.Name}, not {typeof(T).Name}.");
        var shape = Enumerable.Range(0, data.Rank).Select(data.GetLength).ToArray();
        var flat = new T[data.Length];
        int i = 0;
        foreach (T v in data) flat[i++] = v; // Row-major, as C# stores multi-dimensional arrays.
        return FromArray(flat, shape, device);
    }

    /// <summary>A float32 tensor from a 2-D array.</summary>
    public static Tensor From(float[,] data, Device? device = null) => FromArray<float>(data, device);
    /// <summary>A float32 tensor from a 3-D array.</summary>
    public static Tensor From(float[,,] data, Device? device = null) => FromArray<float>(data, device);
    /// <summary>A float32 tensor from a 1-D array.</summary>
    public static Tensor From(float[] data, Device? device = null) => FromArray(data, null, device);
    /// <summary>A 0-dimensional tensor holding one value.</summary>
    public static Tensor Scalar(float value, Device? device = null) => FromArray([value], [], device);

    /// <summary>The elements in row-major order, copied to a new host array.</summary>
    /// <exception cref="InvalidOperationException">T does not match the tensor's dtype.</exception>
    public T[] ToArray<T>() where T : unmanaged
    {
        if (DTypes.Of<T>() != DType)
            throw new InvalidOperationException($"ToArray<{typeof(T).Name}>: the tensor's dtype is {DType.Name()}; call .To(DType.{DTypes.Of<T>()}) first or use ToArray<{ClrName(DType)}>().");
        var dense = IsContiguous && Layout.Offset == 0 ? this : Dense(copy: true);
        var result = new T[Count];
        dense.Backend.Download<T>(dense.Storage, result);
        if (!ReferenceEquals(dense, this)) dense.Dispose();
        return result;
    }

    private static string ClrName(DType t) => t switch { DType.Float32 => "float", DType.Float64 => "double", DType.Int32 => "int", _ => "long" };

    /// <summary>The value of a one-element tensor (torch's <c>.item()</c>).</summary>
    /// <exception cref="InvalidOperationException">The tensor has more or fewer than one element, or T mismatches.</exception>
    public T Item<T>() where T : unmanaged
    {
        if (Count != 1) throw new InvalidOperationException($"Item: the tensor has {Count} elements (shape {Layout.Format(Layout.Shape)}); only one-element tensors convert to a scalar.");
        return ToArray<T>()[0];
    }

    /// <summary>The float32 value of a one-element tensor.</summary>
    public float Item() => Item<float>();

    /// <summary>The elements converted to double, row-major (for printing and references).</summary>
    public double[] ToDoubleArray() => DType == DType.Float64 ? ToArray<double>() : To(DType.Float64).ToArray<double>();

}
