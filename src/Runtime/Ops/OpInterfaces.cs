using System.Runtime.Intrinsics;

namespace DeepSharp.Ops;

// Each elementwise or reduce operation is one small struct implementing one of these interfaces. The ILGPU kernels are
// generic over the struct and call the scalar member; the managed CPU backend calls a vector member in its loops: the
// Vector256 one where 256-bit vectors are hardware-accelerated (x64 with AVX2), the Vector128 one elsewhere (Arm64 NEON,
// or forced for tests: CpuBackend.VectorBits, DEEPSHARP_CPU_VECTOR_BITS). As in System.Numerics.Tensors' operator
// interfaces, each width is a member the op writes (a default interface member would box the struct on every call).
// IUnaryOp and IBinaryOp are public: user structs implementing them run through Tensor.Map exactly as the built-in ones.

/// <summary>y = f(x) on one element of type <typeparamref name="T"/>: the scalar rule that every ILGPU kernel runs (generic
/// over the element type) and the CPU runs where it has no vector rule.</summary>
/// <typeparam name="T">The element type: float or double.</typeparam>
public interface IUnaryOp<T> where T : unmanaged
{
    /// <summary>The rule on one element.</summary>
    T Apply(T x);
}

/// <summary>y = f(a, b) on one pair of elements of type <typeparamref name="T"/> (see <see cref="IUnaryOp{T}"/>).</summary>
/// <typeparam name="T">The element type: float or double.</typeparam>
public interface IBinaryOp<T> where T : unmanaged
{
    /// <summary>The rule on one pair.</summary>
    T Apply(T a, T b);
}

/// <summary>
/// y = f(x), elementwise on float32 and float64: a custom op for <see cref="Tensor.Map{TOp}(TOp, UnaryGradient?, string?)"/>,
/// run by every device in the same kernels and CPU loops as the built-in ops.
/// </summary>
/// <remarks>
/// Write it as a <c>public struct</c> (an internal one needs
/// <c>[assembly: InternalsVisibleTo("ILGPURuntime")]</c>, ILGPU's launchers' assembly) with only value-type fields — its
/// parameters, passed by value to every kernel — and no references. The scalar rule is all that GPU kernels run: ILGPU
/// compiles it to PTX or OpenCL C, so keep it to arithmetic, comparisons and <see cref="MathF"/> (no allocations, exceptions,
/// virtual or interface calls, or mutable static state). The double rule is what float64 tensors run, on every device
/// (write it with <see cref="Math"/>; it serves exact checks, so keep it accurate to double precision). The float vector
/// rules are what the CPU runs for float32: Vector256 (eight lanes) on x64 with AVX2, Vector128 (four lanes) on Arm64 and
/// other CPUs without 256-bit vectors. Both must compute the same function as the float scalar rule (lane by lane, the same
/// operations give the same bits); an op with no vector form may compute each lane with the scalar rule.
/// </remarks>
public interface IUnaryOp : IUnaryOp<float>, IUnaryOp<double>
{
    /// <summary>The same rule on 8 lanes (the managed CPU backend where 256-bit vectors are accelerated).</summary>
    Vector256<float> Apply(Vector256<float> x);
    /// <summary>The same rule on 4 lanes (the managed CPU backend elsewhere, e.g. Arm64).</summary>
    Vector128<float> Apply(Vector128<float> x);
}

/// <summary>
/// y = f(a, b), elementwise on float32 and float64 with broadcasting: a custom op for
/// <see cref="Tensor.Map{TOp}(Tensor, Tensor, TOp, BinaryGradient?, string?)"/>. The rules for writing one are those of
/// <see cref="IUnaryOp"/>.
/// </summary>
public interface IBinaryOp : IBinaryOp<float>, IBinaryOp<double>
{
    /// <summary>The same rule on 8 lanes (the managed CPU backend where 256-bit vectors are accelerated).</summary>
    Vector256<float> Apply(Vector256<float> a, Vector256<float> b);
    /// <summary>The same rule on 4 lanes (the managed CPU backend elsewhere, e.g. Arm64).</summary>
    Vector128<float> Apply(Vector128<float> a, Vector128<float> b);
}

/// <summary>An associative, commutative fold over an axis, on elements of type T.</summary>
internal interface IReduceOp<T> where T : unmanaged
{
    /// <summary>The neutral element.</summary>
    T Identity { get; }
    /// <summary>Combines two partial results.</summary>
    T Combine(T a, T b);
}

/// <summary>An associative, commutative fold over an axis (float32 with vector forms, and float64).</summary>
internal interface IReduceOp : IReduceOp<float>, IReduceOp<double>
{
    /// <summary>Combines two vectors of partial results lane by lane.</summary>
    Vector256<float> Combine(Vector256<float> a, Vector256<float> b);
    /// <inheritdoc cref="Combine(Vector256{float}, Vector256{float})"/>
    Vector128<float> Combine(Vector128<float> a, Vector128<float> b);
}

/// <summary>y[i] = f(i): fills, ranges and counter-based random numbers.</summary>
internal interface IIndexOp<T> where T : unmanaged
{
    /// <summary>The value at linear index <paramref name="i"/>.</summary>
    T At(int i);
}

/// <summary>Unambiguous access to a reduce op's neutral element (IReduceOp inherits one per element type).</summary>
internal static class ReduceIdentity
{
    /// <summary>The neutral element of TOp on T.</summary>
    public static T Of<T, TOp>() where T : unmanaged where TOp : struct, IReduceOp<T> => default(TOp).Identity;
}

/// <summary>Lane-by-lane fallback for rules with no vector form.</summary>
internal static class Lanes
{
    public static Vector256<float> Map<TOp>(TOp op, Vector256<float> x) where TOp : struct, IUnaryOp
    {
        Span<float> t = stackalloc float[8];
        x.CopyTo(t);
        for (int i = 0; i < 8; i++) t[i] = op.Apply(t[i]);
        return Vector256.Create<float>(t);
    }

    public static Vector256<float> Map<TOp>(TOp op, Vector256<float> a, Vector256<float> b) where TOp : struct, IBinaryOp
    {
        Span<float> x = stackalloc float[8], y = stackalloc float[8];
        a.CopyTo(x); b.CopyTo(y);
        for (int i = 0; i < 8; i++) x[i] = op.Apply(x[i], y[i]);
        return Vector256.Create<float>(x);
    }

    public static Vector128<float> Map<TOp>(TOp op, Vector128<float> x) where TOp : struct, IUnaryOp =>
        Vector128.Create(op.Apply(x[0]), op.Apply(x[1]), op.Apply(x[2]), op.Apply(x[3]));

    public static Vector128<float> Map<TOp>(TOp op, Vector128<float> a, Vector128<float> b) where TOp : struct, IBinaryOp =>
        Vector128.Create(op.Apply(a[0], b[0]), op.Apply(a[1], b[1]), op.Apply(a[2], b[2]), op.Apply(a[3], b[3]));
}
