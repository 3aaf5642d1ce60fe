namespace DeepSharp;

/// <summary>Element type of a tensor. Float32 is first-class; the integer types hold indices and labels; Float64 serves
/// references.</summary>
public enum DType
{
    /// <summary>32-bit IEEE float: every math op supports it.</summary>
    Float32,
    /// <summary>64-bit IEEE float: creation, copies, casts and reads.</summary>
    Float64,
    /// <summary>32-bit signed integer: indices, creation, copies, casts.</summary>
    Int32,
    /// <summary>64-bit signed integer: indices and labels (PyTorch's default integer type).</summary>
    Int64,
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
        _ => throw new ArgumentOutOfRangeException(nameof(t), t, $"SizeOf: {(int)t} is not a DType."),
    };

    /// <summary>The PyTorch spelling (<c>torch.float32</c> → "float32").</summary>
    public static string Name(this DType t) => t.ToString().ToLowerInvariant();

    /// <summary>True for Float32 and Float64.</summary>
    public static bool IsFloat(this DType t) => t is DType.Float32 or DType.Float64;

    /// <summary>The dtype that stores the CLR type <typeparamref name="T"/>.</summary>
    /// <exception cref="NotSupportedException">T is not float, double, int or long.</exception>
    public static DType Of<T>() where T : unmanaged =>
        typeof(T) == typeof(float) ? DType.Float32
        : typeof(T) == typeof(double) ? DType.Float64
        : typeof(T) == typeof(int) ? DType.Int32
        : typeof(T) == typeof(long) ? DType.Int64
        : throw new NotSupportedException($"Element type {typeof(T).Name} is not supported; use float, double, int or long.");
}
