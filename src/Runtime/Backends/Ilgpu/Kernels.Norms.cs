using ILGPU;
using ILGPU.Runtime;

namespace DeepSharp.Backends.Ilgpu;

// Batch, layer and group norm over the NormArgs view: one group per slot for the statistics and the gradient sums (a
// shared-memory tree), one thread per element to normalize and for the input gradient.
internal static partial class Kernels
{
    /// <summary>
    /// One group per slot: its mean and biased variance in two passes. The first pass sums x − x₀ (x₀ the slot's first
    /// element), so a large common offset costs no precision; the second sums (x − mean)².
    /// </summary>
    public static void NormStats(ArrayView<float> x, ArrayView<float> mean, ArrayView<float> var, NormArgs a)
    {
        var shared = SharedMemory.Allocate<float>(MaxReduceGroup); // one float per thread; the group size is a power of two
        int s = Grid.IdxX, t = Group.IdxX, size = Group.DimX, m = a.PerSlot;
        float x0 = m > 0 ? x[a.XOffset + NormAt(a, s, 0)] : 0f, acc = 0f;
        for (int k = t; k < m; k += size) acc += x[a.XOffset + NormAt(a, s, k)] - x0;
        float mu = x0 + GroupSum(shared, acc, t, size) / m;
        acc = 0f;
        for (int k = t; k < m; k += size)
        {
            float d = x[a.XOffset + NormAt(a, s, k)] - mu;
            acc += d * d;
        }
        float v = GroupSum(shared, acc, t, size) / m;
        if (t == 0)
        {
            mean[s] = mu;
            var[s] = v;
        }
    }

    /// <summary>Element k (of Outer·Inner) of slot s, relative to x's offset.</summary>
    private static int NormAt(NormArgs a, int s, int k)
    {
        int o = k / a.Inner;
        return (o * a.Slots + s) * a.Inner + k - o * a.Inner;
    }

    /// <summary>The sum of every thread's <paramref name="value"/>, returned to all of them (shared is free again after).</summary>
    private static float GroupSum(ArrayView<float> shared, float value, int t, int size)
    {
        shared[t] = value;
        Group.Barrier();
        for (int h = size / 2; h > 0; h >>= 1)
        {
            if (t < h) shared[t] += shared[t + h];
            Group.Barrier();
        }
        float total = shared[0];
        Group.Barrier(); // every thread has read the total before the next use overwrites it
        return total;
    }

    /// <summary>y = (x − mean[t])·r·w[f] + b[f] per element (w, b where the flags say).</summary>
    public static void NormForward(Index1D e, ArrayView<float> x, ArrayView<float> mean, ArrayView<float> var, ArrayView<float> w,
        ArrayView<float> b, ArrayView<float> y, NormArgs a)
    {
        int row = e / a.Inner, i = e - row * a.Inner, o = row / a.Slots, s = row - o * a.Slots, t = a.Stat(o, s);
        float v = (x[a.XOffset + e] - mean[t]) * (1f / MathF.Sqrt(var[t] + a.Eps));
        if (a.HasWeight) v *= w[a.AffineIndex(s, i)];
        if (a.HasBias) v += b[a.AffineIndex(s, i)];
        y[e] = v;
    }

    /// <summary>One group per slot: sumG = Σ g·w and sumGX = Σ g·w·x̂ over its elements.</summary>
    public static void NormGradSums(ArrayView<float> x, ArrayView<float> mean, ArrayView<float> var, ArrayView<float> w,
        ArrayView<float> g, ArrayView<float> sumG, ArrayView<float> sumGX, NormArgs a)
    {
        var shared = SharedMemory.Allocate<float>(MaxReduceGroup);
        int s = Grid.IdxX, t = Group.IdxX, size = Group.DimX, m = a.PerSlot;
        float accG = 0f, accX = 0f;
        for (int k = t; k < m; k += size)
        {
            int o = k / a.Inner, i = k - o * a.Inner, st = a.Stat(o, s), at = (o * a.Slots + s) * a.Inner + i;
            float gw = a.HasWeight ? g[a.GOffset + at] * w[a.AffineIndex(s, i)] : g[a.GOffset + at];
            accG += gw;
            accX += gw * (x[a.XOffset + at] - mean[st]) * (1f / MathF.Sqrt(var[st] + a.Eps));
        }
        float totalG = GroupSum(shared, accG, t, size), totalX = GroupSum(shared, accX, t, size);
        if (t == 0)
        {
            sumG[s] = totalG;
            sumGX[s] = totalX;
        }
    }

    /// <summary>dx = r·(g·w − sumG[t]/m − x̂·sumGX[t]/m) per element, or r·g·w for fixed statistics.</summary>
    public static void NormBackward(Index1D e, ArrayView<float> x, ArrayView<float> mean, ArrayView<float> var, ArrayView<float> w,
        ArrayView<float> g, ArrayView<float> sumG, ArrayView<float> sumGX, ArrayView<float> dx, NormArgs a)
    {
        int row = e / a.Inner, i = e - row * a.Inner, o = row / a.Slots, s = row - o * a.Slots, t = a.Stat(o, s);
        float r = 1f / MathF.Sqrt(var[t] + a.Eps);
        float gw = a.HasWeight ? g[a.GOffset + e] * w[a.AffineIndex(s, i)] : g[a.GOffset + e];
        if (a.Statistics == NormStatistics.Batch)
        {
            float invM = 1f / a.PerSlot, xh = (x[a.XOffset + e] - mean[t]) * r;
            gw = gw - sumG[t] * invM - xh * (sumGX[t] * invM);
        }
        dx[e] = r * gw;
    }
}
