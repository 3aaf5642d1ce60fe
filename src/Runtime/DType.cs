namespace DeepSharp;

/// <summary>Element type of a tensor. Float32 is first-class; the integer types hold indices and labels; Float64 serves
/// references; Float16 and BFloat16 store values at half the size (creation, casts, copies, views, printing, files).</summary>
/// <remarks>The numeric values are stable: new dtypes are added at the end.</remarks>
public enum DType
{
    /// <summary>32-bit IEEE float: every math op supports it.</summary>
    Float32,
    /// <summary>64-bit IEEE float: every op computes in double on every device (for exact checks; slower than float32).</summary>
    Float64,
    /// <summary>32-bit signed integer: indices, creation, copies, casts.</summary>
    Int32,
    /// <summary>64-bit signed integer: indices and labels (PyTorch's default integer type).</summary>
    Int64,
    /// <summary>16-bit IEEE half (<see cref="System.Half"/>, PyTorch's <c>torch.float16</c>): 5 exponent bits, 10 fraction
    /// bits, largest finite 65504. Creation, copies, casts (round to nearest, ties to even), views, printing, files.</summary>
    Float16,
    /// <summary>bfloat16 (<see cref="DeepSharp.BFloat16"/>, PyTorch's <c>torch.bfloat16</c>): float32's 8 exponent bits
    /// with 7 fraction bits. Creation, copies, casts (round to nearest, ties to even), views, printing, files.</summary>
    BFloat16,
}

/// <summary>Facts about <see cref="DType"/> values.</summary>
public static class DTypes
{
    /// <summary>Bytes per element.</summary>
    /// <exception cref="ArgumentOutOfRangeException">t is not a <see cref="DType"/>.</exception>
    public static int SizeOf(this DType t) => t switch
    {
        DType.Float32 or DType.Int32 => 4,
        DType.Float64 or DType.Int64 => 8,
        DType.Float16 or DType.BFloat16 => 2,
        _ => throw new ArgumentOutOfRangeException(nameof(t), t, $"SizeOf: {(int)t} is not a DType."),
    };

    /// <summary>The PyTorch spelling (<c>torch.float32</c> → "float32").</summary>
    public static string Name(this DType t) => t.ToString().ToLowerInvariant();

    /// <summary>True for the floating-point dtypes: Float32, Float64, Float16 and BFloat16.</summary>
    public static bool IsFloat(this DType t) => t is DType.Float32 or DType.Float64 or DType.Float16 or DType.BFloat16;

    /// <summary>The dtype that stores the CLR type <typeparamref name="T"/>.</summary>
    /// <exception cref="NotSupportedException">T is not float, double, int, long, Half or BFloat16.</exception>
    public static DType Of<T>() where T : unmanaged =>
        typeof(T) == typeof(float) ? DType.Float32
        : typeof(T) == typeof(double) ? DType.Float64
        : typeof(T) == typeof(int) ? DType.Int32
        : typeof(T) == typeof(long) ? DType.Int64
        : typeof(T) == typeof(Half) ? DType.Float16
        : typeof(T) == typeof(BFloat16) ? DType.BFloat16
        : throw new NotSupportedException(
            $"Element type {typeof(T).Name} is not supported; use float, double, int, long, Half or BFloat16.");

    /// <summary>The C# name of the element type that stores <paramref name="t"/> ("float", "double", "int", "long", "Half",
    /// "BFloat16").</summary>
    internal static string ClrName(this DType t) => t switch
    {
        DType.Float32 => "float",
        DType.Float64 => "double",
        DType.Int32 => "int",
        DType.Int64 => "long",
        DType.Float16 => "Half",
        _ => "BFloat16",
    };
}
