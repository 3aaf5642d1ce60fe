using DeepSharp.Ops;
using ILGPU;
using ILGPU.Runtime;

namespace DeepSharp.Backends.Ilgpu;

// Fused softmax and log-softmax (SoftmaxMath), forward and backward: along the last axis one group per row, its threads
// striding over the row and combining through shared memory; along another axis one thread per row (neighbouring threads
// read neighbouring columns).
internal static partial class Kernels
{
    /// <summary>One group per row of a dense [Outer, N] (Inner = 1): the max, then R and the max's ties, then the outputs.</summary>
    public static void SoftmaxRows(ArrayView<float> x, ArrayView<float> y, SoftmaxArgs a)
    {
        var sums = SharedMemory.Allocate<float>(MaxReduceGroup); // static: see StaticTiles
        var ties = SharedMemory.Allocate<float>(MaxReduceGroup);
        int row = Grid.IdxX, t = Group.IdxX, size = Group.DimX, src = a.Offset + row * a.N, dst = row * a.N;
        float m = float.NegativeInfinity;
        for (int j = t; j < a.N; j += size) m = default(MaxOp).Combine(m, x[src + j]);
        m = GroupFold<MaxOp>(sums, m);
        float below = 0f, tied = 0f;
        for (int j = t; j < a.N; j += size)
        {
            float d = x[src + j] - m;
            if (d == 0f) tied += 1f;
            else below += MathF.Exp(d);
        }
        sums[t] = below; ties[t] = tied;
        Group.Barrier();
        for (int s = size / 2; s > 0; s >>= 1)
        {
            if (t < s) { sums[t] += sums[t + s]; ties[t] += ties[t + s]; }
            Group.Barrier();
        }
        float scale = SoftmaxMath.Scale(SoftmaxMath.Rest(sums[0], ties[0]), a.Kind);
        for (int j = t; j < a.N; j += size) y[dst + j] = SoftmaxMath.Output(x[src + j], m, scale, a.Kind);
    }

    /// <summary>One group per row: s = Σ g·y (softmax) or Σ g (log-softmax), then dx.</summary>
    public static void SoftmaxBackRows(ArrayView<float> y, ArrayView<float> g, ArrayView<float> dx, SoftmaxArgs a)
    {
        var sums = SharedMemory.Allocate<float>(MaxReduceGroup);
        int row = Grid.IdxX, t = Group.IdxX, size = Group.DimX, gs = a.Offset + row * a.N, at = row * a.N;
        bool soft = a.Kind == SoftmaxKind.Softmax;
        float acc = 0f;
        for (int j = t; j < a.N; j += size) acc += soft ? g[gs + j] * y[at + j] : g[gs + j];
        float sum = GroupFold<SumOp>(sums, acc);
        for (int j = t; j < a.N; j += size) dx[at + j] = SoftmaxMath.Gradient(y[at + j], g[gs + j], sum, a.Kind);
    }

    /// <summary>The threads' values folded with TOp, returned to every thread (the shared array is free again after).</summary>
    private static float GroupFold<TOp>(ArrayView<float> shared, float value) where TOp : struct, IReduceOp
    {
        int t = Group.IdxX;
        shared[t] = value;
        Group.Barrier();
        for (int s = Group.DimX / 2; s > 0; s >>= 1)
        {
            if (t < s) shared[t] = default(TOp).Combine(shared[t], shared[t + s]);
            Group.Barrier();
        }
        float all = shared[0];
        Group.Barrier();
        return all;
    }

    /// <summary>One thread per row of [Outer, N, Inner] with Inner &gt; 1.</summary>
    public static void SoftmaxColumns(Index1D r, ArrayView<float> x, ArrayView<float> y, SoftmaxArgs a)
    {
        int o = r / a.Inner, i = r - o * a.Inner, start = o * a.N * a.Inner + i, src = a.Offset + start;
        float m = float.NegativeInfinity, below = 0f, tied = 0f;
        for (int k = 0; k < a.N; k++) m = default(MaxOp).Combine(m, x[src + k * a.Inner]);
        for (int k = 0; k < a.N; k++)
        {
            float d = x[src + k * a.Inner] - m;
            if (d == 0f) tied += 1f;
            else below += MathF.Exp(d);
        }
        float scale = SoftmaxMath.Scale(SoftmaxMath.Rest(below, tied), a.Kind);
        for (int k = 0; k < a.N; k++) y[start + k * a.Inner] = SoftmaxMath.Output(x[src + k * a.Inner], m, scale, a.Kind);
    }

    /// <summary>One thread per row of [Outer, N, Inner] with Inner &gt; 1, backward.</summary>
    public static void SoftmaxBackColumns(Index1D r, ArrayView<float> y, ArrayView<float> g, ArrayView<float> dx, SoftmaxArgs a)
    {
        int o = r / a.Inner, i = r - o * a.Inner, start = o * a.N * a.Inner + i, gs = a.Offset + start;
        bool soft = a.Kind == SoftmaxKind.Softmax;
        float sum = 0f;
        for (int k = 0; k < a.N; k++) sum += soft ? g[gs + k * a.Inner] * y[start + k * a.Inner] : g[gs + k * a.Inner];
        for (int k = 0; k < a.N; k++)
            dx[start + k * a.Inner] = SoftmaxMath.Gradient(y[start + k * a.Inner], g[gs + k * a.Inner], sum, a.Kind);
    }
}
