using System.Numerics;
using DeepSharp.Backends.Cpu;
using DeepSharp.Ops;
using ILGPU;
using ILGPU.Runtime;

namespace DeepSharp.Backends.Ilgpu;

/// <summary>Shape of a reduction over the middle axis of a dense [Outer, N, Inner] block starting at Offset.</summary>
internal struct ReduceArgs
{
    /// <summary>Offset of the block, reduced length, inner count (the outer count is the launch size).</summary>
    public int Offset, N, Inner;
}

/// <summary>Which extreme an arg-reduction looks for.</summary>
internal enum Extremum
{
    /// <summary>The smallest value.</summary>
    Min,
    /// <summary>The largest value.</summary>
    Max,
}

/// <summary>What <see cref="Kernels.ArgReduce"/> writes.</summary>
internal enum ArgOutputs
{
    /// <summary>The indices only.</summary>
    Indices,
    /// <summary>The indices and the values at them.</summary>
    IndicesAndValues,
}

/// <summary>What <see cref="Kernels.ArgReduce"/> looks for and writes.</summary>
internal struct ArgMode
{
    /// <summary>The extreme looked for.</summary>
    public Extremum Find;
    /// <summary>What is written.</summary>
    public ArgOutputs Outputs;
}

/// <summary>
/// Every ILGPU kernel of the runtime. Each is generic over an op struct from <c>DeepSharp.Ops</c> — the same structs the
/// managed CPU backend runs — so an operation is written once. Elementwise kernels are implicitly grouped; reductions and
/// GEMM are explicitly grouped, with shared memory sized per device.
/// </summary>
internal static partial class Kernels
{
    /// <summary>y[i] = op.At(i).</summary>
    public static void Fill<T, TOp>(Index1D i, ArrayView<T> y, TOp op) where T : unmanaged where TOp : struct, IIndexOp<T> =>
        y[i] = op.At(i);

    /// <summary>Strided copy: y[map.B(i)] = x[map.A(i)].</summary>
    public static void Copy<T>(Index1D i, ArrayView<T> x, ArrayView<T> y, StridedMap map) where T : unmanaged
    {
        var (a, b, _) = map.Map(i);
        y[b] = x[a];
    }

    /// <summary>Strided copy with dtype conversion through double: y[map.B(i)] = (TOut)x[map.A(i)].</summary>
    public static void Convert<TIn, EIn, TOut, EOut>(Index1D i, ArrayView<TIn> x, ArrayView<TOut> y, StridedMap map)
        where TIn : unmanaged where EIn : struct, IElement<TIn> where TOut : unmanaged where EOut : struct, IElement<TOut>
    {
        var (a, b, _) = map.Map(i);
        y[b] = default(EOut).FromDouble(default(EIn).ToDouble(x[a]));
    }

    // The docs site shows this kernel (docs/articles/devices-and-kernels.md includes the region below).
    // <unary-kernel>
    /// <summary>y[map.B(i)] = op(x[map.A(i)]), on float32 or float64.</summary>
    public static void Unary<T, TOp>(Index1D i, ArrayView<T> x, ArrayView<T> y, StridedMap map, TOp op)
        where T : unmanaged where TOp : struct, IUnaryOp<T>
    {
        var (a, o, _) = map.Map(i);
        y[o] = op.Apply(x[a]);
    }
    // </unary-kernel>

    /// <summary>
    /// Dense unary op, four elements per thread through 16-byte loads and stores (x and y start 16-byte aligned); the
    /// last thread finishes a ragged tail one element at a time (see benchmarks/NOTES.md, "Moved from code comments").
    /// </summary>
    public static void UnaryDense<TOp>(Index1D t, ArrayView<float> x, ArrayView<float> y, DenseArgs d, TOp op) where TOp : struct, IUnaryOp
    {
        int i = 4 * t;
        if (i + 4 <= d.Count)
        {
            var v = x.SubView(d.OffA, d.Count & ~3).Cast<Float4>().AsAligned(16)[t];
            y.SubView(d.OffC, d.Count & ~3).Cast<Float4>().AsAligned(16)[t] =
                new Float4 { X = op.Apply(v.X), Y = op.Apply(v.Y), Z = op.Apply(v.Z), W = op.Apply(v.W) };
        }
        else for (; i < d.Count; i++) y[d.OffC + i] = op.Apply(x[d.OffA + i]);
    }

    /// <summary>Dense binary op without broadcasting, four elements per thread (see <see cref="UnaryDense{TOp}"/>).</summary>
    public static void BinaryDense<TOp>(Index1D t, ArrayView<float> a, ArrayView<float> b, ArrayView<float> y, DenseArgs d, TOp op)
        where TOp : struct, IBinaryOp
    {
        int i = 4 * t;
        if (i + 4 <= d.Count)
        {
            int n4 = d.Count & ~3;
            var u = a.SubView(d.OffA, n4).Cast<Float4>().AsAligned(16)[t];
            var v = b.SubView(d.OffB, n4).Cast<Float4>().AsAligned(16)[t];
            y.SubView(d.OffC, n4).Cast<Float4>().AsAligned(16)[t] =
                new Float4 { X = op.Apply(u.X, v.X), Y = op.Apply(u.Y, v.Y), Z = op.Apply(u.Z, v.Z), W = op.Apply(u.W, v.W) };
        }
        else for (; i < d.Count; i++) y[d.OffC + i] = op.Apply(a[d.OffA + i], b[d.OffB + i]);
    }

    /// <summary>y[map.C(i)] = op(a[map.A(i)], b[map.B(i)]), on float32 or float64.</summary>
    public static void Binary<T, TOp>(Index1D i, ArrayView<T> a, ArrayView<T> b, ArrayView<T> y, StridedMap map, TOp op)
        where T : unmanaged where TOp : struct, IBinaryOp<T>
    {
        var (oa, ob, o) = map.Map(i);
        y[o] = op.Apply(a[oa], b[ob]);
    }

    /// <summary>y[i] = cond != 0 ? a : b.</summary>
    public static void Where<T>(Index1D i, ArrayView<T> cond, ArrayView<T> a, ArrayView<T> b, ArrayView<T> y, StridedMap map)
        where T : unmanaged, INumberBase<T>
    {
        var (oc, oa, ob) = map.Map(i);
        y[i] = cond[oc] != T.Zero ? a[oa] : b[ob];
    }

    /// <summary>Largest group of the tree reductions; their shared memory is a static array of this size (on OpenCL dynamic
    /// shared memory is unsafe: see <see cref="StaticTiles"/>).</summary>
    public const int MaxReduceGroup = 256;

    /// <summary>One group per row of a [Outer, N] block (Inner = 1): strided partial folds, then a shared-memory tree.</summary>
    public static void ReduceRows<T, TOp>(ArrayView<T> x, ArrayView<T> y, ReduceArgs r) where T : unmanaged where TOp : struct, IReduceOp<T>
    {
        var shared = SharedMemory.Allocate<T>(MaxReduceGroup); // one element per thread; the group size is a power of two
        var op = default(TOp);
        int row = Grid.IdxX, t = Group.IdxX, size = Group.DimX, start = r.Offset + row * r.N;
        T acc = op.Identity;
        for (int k = t; k < r.N; k += size) acc = op.Combine(acc, x[start + k]);
        shared[t] = acc;
        Group.Barrier();
        for (int s = size / 2; s > 0; s >>= 1)
        {
            if (t < s) shared[t] = op.Combine(shared[t], shared[t + s]);
            Group.Barrier();
        }
        if (t == 0) y[row] = shared[0];
    }

    /// <summary>One thread per output of [Outer, N, Inner] with Inner &gt; 1: neighbours read neighbouring columns (coalesced).</summary>
    public static void ReduceColumns<T, TOp>(Index1D t, ArrayView<T> x, ArrayView<T> y, ReduceArgs r)
        where T : unmanaged where TOp : struct, IReduceOp<T>
    {
        var op = default(TOp);
        int o = t / r.Inner, j = t - o * r.Inner, start = r.Offset + o * r.N * r.Inner + j;
        T acc = op.Identity;
        for (int k = 0; k < r.N; k++) acc = op.Combine(acc, x[start + k * r.Inner]);
        y[t] = acc;
    }

    /// <summary>Arg-max or arg-min along N; ties keep the first index, NaN wins (as in PyTorch).</summary>
    public static void ArgReduce<T>(Index1D t, ArrayView<T> x, ArrayView<long> y, ArrayView<T> values, ReduceArgs r, ArgMode mode)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        int o = t / r.Inner, j = t - o * r.Inner, start = r.Offset + o * r.N * r.Inner + j;
        T best = x[start];
        long idx = 0;
        for (int k = 1; k < r.N; k++)
        {
            T v = x[start + k * r.Inner];
            if (ArgScan.Better(v, best, mode.Find == Extremum.Max)) { best = v; idx = k; }
        }
        y[t] = idx;
        if (mode.Outputs == ArgOutputs.IndicesAndValues) values[t] = best;
    }

    /// <summary>One thread per element of dx [outer, n, inner]: g[o, j] where k is index[o, j], else 0 (a gather: no atomics).</summary>
    public static void ScatterAlong<T>(Index1D t, ArrayView<T> g, ArrayView<long> index, ArrayView<T> dx, ReduceArgs r)
        where T : unmanaged, INumberBase<T>
    {
        int j = t % r.Inner, rest = t / r.Inner, k = rest % r.N, o = rest / r.N, src = o * r.Inner + j;
        dx[t] = index[src] == k ? g[r.Offset + src] : T.Zero;
    }
}

/// <summary>Element offsets (multiples of 4) and count of the dense elementwise kernels.</summary>
internal struct DenseArgs
{
    /// <summary>Offsets of the operands and the output; element count.</summary>
    public int OffA, OffB, OffC, Count;
}
