using System.Runtime.Intrinsics;

namespace DeepSharp.Ops;

// Each elementwise or reduce operation is one small struct implementing one of these interfaces. The ILGPU kernels are
// generic over the struct and call the scalar member; the managed CPU backend calls the Vector256 member in its loops.
// IUnaryOp and IBinaryOp are public: user structs implementing them run through Tensor.Map exactly as the built-in ones.

/// <summary>
/// y = f(x), elementwise on float32: a custom op for <see cref="Tensor.Map{TOp}(TOp, UnaryGradient?, string?)"/>, run by every
/// device in the same kernels and CPU loops as the built-in ops.
/// </summary>
/// <remarks>
/// Write it as a <c>public struct</c> (an internal one needs
/// <c>[assembly: InternalsVisibleTo("ILGPURuntime")]</c>, ILGPU's launchers' assembly) with only value-type fields — its
/// parameters, passed by value to every kernel — and no references. The scalar rule is all that GPU kernels run: ILGPU
/// compiles it to PTX or OpenCL C, so keep it to arithmetic, comparisons and <see cref="MathF"/> (no allocations, exceptions,
/// virtual or interface calls, or mutable static state). The Vector256 rule is what the CPU runs, eight lanes at a time;
/// it must compute the same function (lane by lane, the same operations give the same bits).
/// </remarks>
public interface IUnaryOp
{
    /// <summary>The scalar rule (every ILGPU kernel, and the CPU for a tail shorter than a vector).</summary>
    float Apply(float x);
    /// <summary>The same rule on 8 lanes (the managed CPU backend).</summary>
    Vector256<float> Apply(Vector256<float> x);
}

/// <summary>
/// y = f(a, b), elementwise on float32 with broadcasting: a custom op for
/// <see cref="Tensor.Map{TOp}(Tensor, Tensor, TOp, BinaryGradient?, string?)"/>. The rules for writing one are those of
/// <see cref="IUnaryOp"/>.
/// </summary>
public interface IBinaryOp
{
    /// <summary>The scalar rule (every ILGPU kernel, and the CPU for a tail shorter than a vector).</summary>
    float Apply(float a, float b);
    /// <summary>The same rule on 8 lanes (the managed CPU backend).</summary>
    Vector256<float> Apply(Vector256<float> a, Vector256<float> b);
}

/// <summary>An associative, commutative fold over an axis.</summary>
internal interface IReduceOp
{
    /// <summary>The neutral element (0 for sum, -inf for max).</summary>
    float Identity { get; }
    /// <summary>Combines two partial results.</summary>
    float Combine(float a, float b);
    /// <summary>Combines two vectors of partial results lane by lane.</summary>
    Vector256<float> Combine(Vector256<float> a, Vector256<float> b);
}

/// <summary>y[i] = f(i): fills, ranges and counter-based random numbers.</summary>
internal interface IIndexOp<T> where T : unmanaged
{
    /// <summary>The value at linear index <paramref name="i"/>.</summary>
    T At(int i);
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
}
