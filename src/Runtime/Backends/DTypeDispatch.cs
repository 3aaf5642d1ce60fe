namespace DeepSharp.Backends;

/// <summary>
/// Element conversions a kernel can use. ILGPU cannot compile <c>INumberBase.CreateTruncating</c> (it branches on
/// <c>System.Type</c>), so each dtype gets a tiny struct; conversions go through double (exact for every float32, float16,
/// bfloat16 and int32, and for int64 up to 2^53), while same-dtype copies never convert: the dtype is the trait, not the
/// CLR type (float16 and bfloat16 share ushort).
/// </summary>
internal interface IElement<T> where T : unmanaged
{
    /// <summary>The value as a double.</summary>
    double ToDouble(T x);
    /// <summary>A double converted to T (floats round, integers truncate toward zero).</summary>
    T FromDouble(double x);
}

// One-line element traits.
internal struct F32 : IElement<float> { public double ToDouble(float x) => x; public float FromDouble(double x) => (float)x; }
internal struct F64 : IElement<double> { public double ToDouble(double x) => x; public double FromDouble(double x) => x; }
internal struct I32 : IElement<int> { public double ToDouble(int x) => x; public int FromDouble(double x) => (int)x; }
internal struct I64 : IElement<long> { public double ToDouble(long x) => x; public long FromDouble(double x) => (long)x; }
// The 16-bit floats are stored as their bits (ushort) on every device; kernels cannot use System.Half.
internal struct F16 : IElement<ushort>
{
    public double ToDouble(ushort x) => HalfBits.HalfToSingle(x);
    public ushort FromDouble(double x) => HalfBits.ToHalf(x);
}
internal struct BF16 : IElement<ushort>
{
    public double ToDouble(ushort x) => HalfBits.BFloat16ToSingle(x);
    public ushort FromDouble(double x) => HalfBits.ToBFloat16(x);
}

/// <summary>Calls a generic method with the CLR and trait types behind runtime dtypes, so conversions are written once.</summary>
internal interface IConvertVisitor
{
    void Run<TIn, EIn, TOut, EOut>() where TIn : unmanaged where EIn : struct, IElement<TIn>
        where TOut : unmanaged where EOut : struct, IElement<TOut>;
}

internal static class DTypeDispatch
{
    public static void Run(DType from, DType to, IConvertVisitor v)
    {
        switch (from)
        {
            case DType.Float32: To<float, F32>(to, v); break;
            case DType.Float64: To<double, F64>(to, v); break;
            case DType.Int32: To<int, I32>(to, v); break;
            case DType.Int64: To<long, I64>(to, v); break;
            case DType.Float16: To<ushort, F16>(to, v); break;
            default: To<ushort, BF16>(to, v); break;
        }
    }

    private static void To<TIn, EIn>(DType to, IConvertVisitor v) where TIn : unmanaged where EIn : struct, IElement<TIn>
    {
        switch (to)
        {
            case DType.Float32: v.Run<TIn, EIn, float, F32>(); break;
            case DType.Float64: v.Run<TIn, EIn, double, F64>(); break;
            case DType.Int32: v.Run<TIn, EIn, int, I32>(); break;
            case DType.Int64: v.Run<TIn, EIn, long, I64>(); break;
            case DType.Float16: v.Run<TIn, EIn, ushort, F16>(); break;
            default: v.Run<TIn, EIn, ushort, BF16>(); break;
        }
    }
}
