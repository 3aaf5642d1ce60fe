using System.Collections.Concurrent;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace DeepSharp.Backends.Cpu;

/// <summary>
/// im2col and col2im for small images through index tables: which input element each window element reads (-1: padding),
/// and for each input element the window elements that read it. One image plane's worth of table serves every (sample,
/// channel) plane, and each plane is then one gather loop (eight elements per AVX2 gather). A row-by-row copy pays its
/// per-row cost for rows of a few floats: the digits CNN's second convolution (4×4 images) copies 18,432 rows of ≤ 4.
/// </summary>
internal sealed partial class CpuBackend
{
    /// <summary>Window shapes whose tables stay this small use them (a 16×16 image with 3×3 windows: 2,304 entries).</summary>
    private const int WindowTableMax = 4096;

    private sealed class WindowTable(int[] reads, int[] readers, int hits)
    {
        /// <summary>[kH·kW·OH·OW]: the plane offset h·W + w that window element (ij, oh, ow) reads, or -1 outside the input.</summary>
        public readonly int[] Reads = reads;
        /// <summary>[Hits][H·W]: for input element p, the window elements that read it in increasing order, then -1s; as
        /// offsets ij·stride + oh·OW + ow from the image's first column plane, stride the distance between its planes.</summary>
        public readonly int[] Readers = readers;
        public readonly int Hits = hits;
    }

    /// <summary>A table's key: the image and the windows (input sizes, kernel, strides, paddings, dilations) and the distance
    /// between an image's column planes.</summary>
    private readonly record struct TableKey(int H, int W, int KH, int KW, int SH, int SW, int PH, int PW, int DH, int DW, int Stride);

    private static readonly ConcurrentDictionary<TableKey, WindowTable> Tables = new();

    /// <summary>The tables for these windows, or null when they would be large (big images copy whole rows instead).</summary>
    private static WindowTable? TableFor(WindowArgs a)
    {
        // Windows that can cover one input element: along an axis, at most k window rows, each in one window, and at most
        // the windows whose starts lie within one window's span (k − 1)·d + 1 of each other.
        int hits = Math.Min(a.KH, (a.KH - 1) * a.DH / a.SH + 1) * Math.Min(a.KW, (a.KW - 1) * a.DW / a.SW + 1);
        if (a.KK * a.OH * a.OW > WindowTableMax || hits * a.H * a.W > WindowTableMax) return null;
        int window = a.OH * a.OW, stride = a.Columns == ColumnLayout.PerImage ? window : a.N * window; // between an image's column planes
        var key = new TableKey(a.H, a.W, a.KH, a.KW, a.SH, a.SW, a.PH, a.PW, a.DH, a.DW, stride);
        if (Tables.TryGetValue(key, out var table)) return table;
        if (Tables.Count >= 64) Tables.Clear(); // a model has a handful of window shapes
        var reads = new int[a.KK * a.OH * a.OW];
        var readers = new int[hits * a.H * a.W];
        var count = new int[a.H * a.W];
        Array.Fill(readers, -1);
        for (int t = 0; t < reads.Length; t++)
        {
            int ij = t / window, o = t % window;
            int h = o / a.OW * a.SH - a.PH + ij / a.KW * a.DH, w = o % a.OW * a.SW - a.PW + ij % a.KW * a.DW;
            bool inside = a.Inside(h, w);
            reads[t] = inside ? h * a.W + w : -1;
            if (inside) readers[count[reads[t]]++ * a.H * a.W + reads[t]] = ij * stride + o;
        }
        return Tables[key] = new WindowTable(reads, readers, hits);
    }

    /// <summary>cols[nc] = the window elements of plane nc of x, by <see cref="WindowTable.Reads"/>.</summary>
    private static unsafe void UnfoldByTable(HostElements<float> x, HostElements<float> cols, WindowArgs a, WindowTable table)
    {
        int plane = a.H * a.W, length = table.Reads.Length, kk = a.KK, window = length / kk;
        CpuParallel.For(a.N * a.C, length, (lo, hi) =>
        {
            fixed (float* xp = x, cp = cols)
            fixed (int* reads = table.Reads)
                for (int nc = lo; nc < hi; nc++)
                {
                    float* src = xp + a.Offset + (long)nc * plane;
                    if (a.Columns == ColumnLayout.PerImage) // the image's planes are adjacent
                        GatherPlane(src, reads, cp + (long)nc * length, length, a.Pad);
                    else
                        for (int ij = 0; ij < kk; ij++)
                            GatherPlane(src, reads + ij * window, cp + (long)a.Plane(nc, ij) * window, window, a.Pad);
                }
        });
    }

    /// <summary>dx[nc] = for each input element, the sum of the window elements that read it (in increasing order, from
    /// +0: the same additions as a row-by-row col2im), by <see cref="WindowTable.Readers"/>.</summary>
    private static unsafe void FoldByTable(HostElements<float> cols, HostElements<float> dx, WindowArgs a, WindowTable table)
    {
        int plane = a.H * a.W, window = a.OH * a.OW;
        CpuParallel.For(a.N * a.C, table.Hits * plane, (lo, hi) =>
        {
            fixed (float* cp = cols, dp = dx)
            fixed (int* readers = table.Readers)
                for (int nc = lo; nc < hi; nc++)
                {
                    float* src = cp + a.Offset + (long)a.Plane(nc, 0) * window, dst = dp + (long)nc * plane;
                    for (int q = 0; q < table.Hits; q++) GatherAddPlane(src, readers + q * plane, dst, plane, first: q == 0);
                }
        });
    }

    /// <summary>dst[t] = src[index[t]], or <paramref name="pad"/> where the index is negative.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)] // SIMD loops: tier-0 code runs them several times slower
    private static unsafe void GatherPlane(float* src, int* index, float* dst, int n, float pad)
    {
        int t = 0;
        if (Avx2.IsSupported)
        {
            var none = Vector256.Create(-1); var padding = Vector256.Create(pad);
            for (; t <= n - 8; t += 8)
            {
                var i = Avx.LoadVector256(index + t);
                Avx.Store(dst + t, Avx2.GatherMaskVector256(padding, src, i, Avx2.CompareGreaterThan(i, none).AsSingle(), 4));
            }
        }
        for (; t < n; t++) dst[t] = index[t] >= 0 ? src[index[t]] : pad;
    }

    /// <summary>dst[t] = (<paramref name="first"/> ? +0 : dst[t]) + src[index[t]], adding +0 where the index is negative (a
    /// sum that starts from +0 is unchanged by it).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static unsafe void GatherAddPlane(float* src, int* index, float* dst, int n, bool first)
    {
        int t = 0;
        if (Avx2.IsSupported)
        {
            var none = Vector256.Create(-1);
            for (; t <= n - 8; t += 8)
            {
                var i = Avx.LoadVector256(index + t);
                var v = Avx2.GatherMaskVector256(Vector256<float>.Zero, src, i, Avx2.CompareGreaterThan(i, none).AsSingle(), 4);
                Avx.Store(dst + t, (first ? Vector256<float>.Zero : Avx.LoadVector256(dst + t)) + v);
            }
        }
        for (; t < n; t++) dst[t] = (first ? 0f : dst[t]) + (index[t] >= 0 ? src[index[t]] : 0f);
    }
}
