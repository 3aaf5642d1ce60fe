using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.Arm;
using System.Runtime.Intrinsics.X86;
using DeepSharp.Ops;

namespace DeepSharp.Backends.Cpu;

// The CPU backend's vector width. x64 with AVX2 runs 256-bit loops (and the 8×32 Vector512 GEMM kernel where AVX-512 is
// native); Arm64 (Apple silicon, Graviton) and other CPUs without 256-bit vectors run 128-bit loops: there, Vector256 is
// not hardware-accelerated and would fall back to slow software paths.
internal sealed partial class CpuBackend
{
    /// <summary>
    /// The widest vectors the loops use: 512 (the GEMM's 8×32 kernel; elementwise loops stay 256-bit), 256 or 128. It starts
    /// as the widest the hardware accelerates, or narrower when <c>DEEPSHARP_CPU_VECTOR_BITS</c> asks for it (128 runs the
    /// Arm64 paths on x64: tests force it this way). Every width computes the same elementwise values, bit for bit.
    /// </summary>
    internal static int VectorBits { get; set; } = DefaultVectorBits(Environment.GetEnvironmentVariable);

    /// <summary>The widest accelerated width, lowered to DEEPSHARP_CPU_VECTOR_BITS when that is 128 or 256 (other values,
    /// and widths the hardware lacks, are ignored).</summary>
    internal static int DefaultVectorBits(Func<string, string?> env)
    {
        int hardware = Vector512.IsHardwareAccelerated ? 512 : Vector256.IsHardwareAccelerated ? 256 : 128;
        return env("DEEPSHARP_CPU_VECTOR_BITS")?.Trim() switch
        {
            "128" => 128,
            "256" => Math.Min(256, hardware),
            _ => hardware,
        };
    }

    /// <summary>Whether the loops run on Vector256 (else Vector128).</summary>
    private static bool Wide => VectorBits >= 256;
}

/// <summary>
/// One vector width of the CPU loops as a type parameter: a loop written once over <typeparamref name="TV"/> is compiled
/// separately for <see cref="Simd256"/> and <see cref="Simd128"/> (struct type arguments), with every member inlined.
/// </summary>
internal interface ISimd<TV> where TV : struct
{
    /// <summary>Floats per vector.</summary>
    static abstract int Count { get; }
    static abstract TV Load(ref float r, nuint i);
    static abstract void Store(TV v, ref float r, nuint i);
    static abstract TV Splat(float x);
    static abstract TV Unary<TOp>(TOp op, TV x) where TOp : struct, IUnaryOp;
    static abstract TV Binary<TOp>(TOp op, TV a, TV b) where TOp : struct, IBinaryOp;
    static abstract (TV P, TV M, TV V, TV W) Update<TOp>(TOp op, TV p, TV g, TV m, TV v, TV w) where TOp : struct, IUpdateOp;
}

internal readonly struct Simd256 : ISimd<Vector256<float>>
{
    public static int Count => 8;
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> Load(ref float r, nuint i) => Vector256.LoadUnsafe(ref r, i);
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Store(Vector256<float> v, ref float r, nuint i) => v.StoreUnsafe(ref r, i);
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> Splat(float x) => Vector256.Create(x);
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> Unary<TOp>(TOp op, Vector256<float> x) where TOp : struct, IUnaryOp => op.Apply(x);
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> Binary<TOp>(TOp op, Vector256<float> a, Vector256<float> b) where TOp : struct, IBinaryOp =>
        op.Apply(a, b);
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static (Vector256<float> P, Vector256<float> M, Vector256<float> V, Vector256<float> W) Update<TOp>(TOp op,
        Vector256<float> p, Vector256<float> g, Vector256<float> m, Vector256<float> v, Vector256<float> w) where TOp : struct, IUpdateOp =>
        op.Apply(p, g, m, v, w);
}

internal readonly struct Simd128 : ISimd<Vector128<float>>
{
    public static int Count => 4;
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<float> Load(ref float r, nuint i) => Vector128.LoadUnsafe(ref r, i);
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Store(Vector128<float> v, ref float r, nuint i) => v.StoreUnsafe(ref r, i);
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<float> Splat(float x) => Vector128.Create(x);
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<float> Unary<TOp>(TOp op, Vector128<float> x) where TOp : struct, IUnaryOp => op.Apply(x);
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<float> Binary<TOp>(TOp op, Vector128<float> a, Vector128<float> b) where TOp : struct, IBinaryOp =>
        op.Apply(a, b);
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static (Vector128<float> P, Vector128<float> M, Vector128<float> V, Vector128<float> W) Update<TOp>(TOp op,
        Vector128<float> p, Vector128<float> g, Vector128<float> m, Vector128<float> v, Vector128<float> w) where TOp : struct, IUpdateOp =>
        op.Apply(p, g, m, v, w);

    /// <summary>a·b + c, fused where the CPU has it (x64 FMA, Arm64 always), as the Vector256 kernels' Fma3.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<float> Fma(Vector128<float> a, Vector128<float> b, Vector128<float> c) =>
        System.Runtime.Intrinsics.X86.Fma.IsSupported ? System.Runtime.Intrinsics.X86.Fma.MultiplyAdd(a, b, c)
        : AdvSimd.IsSupported ? AdvSimd.FusedMultiplyAdd(c, a, b) : a * b + c;
}
