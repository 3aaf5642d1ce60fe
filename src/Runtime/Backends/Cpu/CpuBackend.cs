using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using DeepSharp.Ops;

namespace DeepSharp.Backends.Cpu;

/// <summary>
/// The managed host backend: Vector256 loops over the same op structs the ILGPU kernels use, split over cores for large
/// tensors, and a packed SIMD GEMM. This — not ILGPU's thread-per-lane CPU simulator — is what <c>Device.Cpu</c> runs.
/// </summary>
internal sealed partial class CpuBackend : IBackend
{
    public static readonly CpuBackend Instance = new();
    private CpuBackend() { }

    public Device Device => Device.Cpu;

    public Storage Allocate(DType dtype, int count) => new CpuStorage(dtype, count);

    private static Span<T> S<T>(Storage s) where T : unmanaged => ((CpuStorage)s).Span<T>();

    public void Upload<T>(ReadOnlySpan<T> src, Storage dst) where T : unmanaged => src.CopyTo(S<T>(dst));

    public void Download<T>(Storage src, Span<T> dst) where T : unmanaged => S<T>(src)[..dst.Length].CopyTo(dst);

    public void Fill<T, TOp>(Storage dst, TOp op) where T : unmanaged where TOp : struct, IIndexOp<T>
    {
        var arr = (T[])((CpuStorage)dst).Data;
        // A constant fill is a vectorised Span.Fill (64 K floats: ~11 µs as a per-element loop split over threads, measured);
        // index-dependent fills (arange, random) stay a loop, split over cores only when there is enough of it.
        if (typeof(TOp) == typeof(FillOp<T>))
        {
            var value = Unsafe.As<TOp, FillOp<T>>(ref op).Value;
            CpuParallel.For(dst.Count, 1, (lo, hi) => arr.AsSpan(lo, hi - lo).Fill(value));
            return;
        }
        CpuParallel.For(dst.Count, 4, (lo, hi) => { for (int i = lo; i < hi; i++) arr[i] = op.At(i); });
    }

    public void Copy(Storage src, Storage dst, StridedMap map, int count) =>
        DTypeDispatch.Run(src.DType, dst.DType, new CopyVisitor((CpuStorage)src, (CpuStorage)dst, map, count));

    private readonly record struct CopyVisitor(CpuStorage Src, CpuStorage Dst, StridedMap Map, int Count) : IConvertVisitor
    {
        public void Run<TIn, EIn, TOut, EOut>() where TIn : unmanaged where EIn : struct, IElement<TIn>
            where TOut : unmanaged where EOut : struct, IElement<TOut>
        {
            var x = (TIn[])Src.Data; var y = (TOut[])Dst.Data; var map = Map;
            bool same = typeof(TIn) == typeof(TOut);
            Segments(map, Count, 1, (i, len) =>
            {
                var (a, b, _) = map.Map(i);
                var (sa, sb, _) = map.InnerStrides;
                if (same && sa == 1 && sb == 1)
                    MemoryMarshal.Cast<TIn, TOut>(x.AsSpan(a, len)).CopyTo(y.AsSpan(b, len));
                else if (same)
                    for (int k = 0; k < len; k++) y[b + k * sb] = Unsafe.As<TIn, TOut>(ref x[a + k * sa]);
                else
                    for (int k = 0; k < len; k++) y[b + k * sb] = default(EOut).FromDouble(default(EIn).ToDouble(x[a + k * sa]));
            });
        }
    }

    // The inner loops index through refs without bounds checks: offsets come from validated layouts.
    public void Unary<TOp>(Storage x, Storage y, StridedMap map, int count, TOp op) where TOp : struct, IUnaryOp
    {
        var xs = (float[])((CpuStorage)x).Data; var ys = (float[])((CpuStorage)y).Data;
        Segments(map, count, 2, (i, len) =>
        {
            ref float xr = ref MemoryMarshal.GetArrayDataReference(xs), yr = ref MemoryMarshal.GetArrayDataReference(ys);
            var (a, o, _) = map.Map(i);
            var (sa, so, _) = map.InnerStrides;
            int k = 0;
            if (sa == 1 && so == 1 && len >= StreamMin && Avx.IsSupported)
            {
                StreamUnary(ref Unsafe.Add(ref xr, a), ref Unsafe.Add(ref yr, o), len, op);
                return;
            }
            if (sa == 1 && so == 1)
            {
                // Four vectors per step keep several loads in flight.
                for (; k <= len - 32; k += 32)
                {
                    nuint s = (nuint)(a + k), d = (nuint)(o + k);
                    var v0 = Vector256.LoadUnsafe(ref xr, s); var v1 = Vector256.LoadUnsafe(ref xr, s + 8);
                    var v2 = Vector256.LoadUnsafe(ref xr, s + 16); var v3 = Vector256.LoadUnsafe(ref xr, s + 24);
                    op.Apply(v0).StoreUnsafe(ref yr, d); op.Apply(v1).StoreUnsafe(ref yr, d + 8);
                    op.Apply(v2).StoreUnsafe(ref yr, d + 16); op.Apply(v3).StoreUnsafe(ref yr, d + 24);
                }
                for (; k <= len - 8; k += 8)
                    op.Apply(Vector256.LoadUnsafe(ref xr, (nuint)(a + k))).StoreUnsafe(ref yr, (nuint)(o + k));
            }
            for (; k < len; k++) Unsafe.Add(ref yr, o + k * so) = op.Apply(Unsafe.Add(ref xr, a + k * sa));
        });
    }

    public void Binary<TOp>(Storage a, Storage b, Storage y, StridedMap map, int count, TOp op) where TOp : struct, IBinaryOp
    {
        var xa = (float[])((CpuStorage)a).Data; var xb = (float[])((CpuStorage)b).Data; var ys = (float[])((CpuStorage)y).Data;
        Segments(map, count, 2, (i, len) =>
        {
            ref float ar = ref MemoryMarshal.GetArrayDataReference(xa), br = ref MemoryMarshal.GetArrayDataReference(xb);
            ref float yr = ref MemoryMarshal.GetArrayDataReference(ys);
            var (oa, ob, o) = map.Map(i);
            var (sa, sb, so) = map.InnerStrides;
            int k = 0;
            if (sa == 1 && sb == 1 && so == 1 && len >= StreamMin && Avx.IsSupported)
            {
                StreamBinary(ref Unsafe.Add(ref ar, oa), ref Unsafe.Add(ref br, ob), ref Unsafe.Add(ref yr, o), len, op);
                return;
            }
            if ((sa | sb) is 0 or 1 && so == 1 && len >= 8)
            {
                // Dense or broadcast-scalar inner runs: one of 1/1, 1/0, 0/1 (0/0 is a scalar splat).
                var va = Vector256.Create(Unsafe.Add(ref ar, oa)); var vb = Vector256.Create(Unsafe.Add(ref br, ob));
                if (sa == 1 && sb == 1)
                    for (; k <= len - 16; k += 16)
                    {
                        nuint pa = (nuint)(oa + k), pb = (nuint)(ob + k), d = (nuint)(o + k);
                        var a0 = Vector256.LoadUnsafe(ref ar, pa); var a1 = Vector256.LoadUnsafe(ref ar, pa + 8);
                        var b0 = Vector256.LoadUnsafe(ref br, pb); var b1 = Vector256.LoadUnsafe(ref br, pb + 8);
                        op.Apply(a0, b0).StoreUnsafe(ref yr, d); op.Apply(a1, b1).StoreUnsafe(ref yr, d + 8);
                    }
                for (; k <= len - 8; k += 8)
                {
                    if (sa == 1) va = Vector256.LoadUnsafe(ref ar, (nuint)(oa + k));
                    if (sb == 1) vb = Vector256.LoadUnsafe(ref br, (nuint)(ob + k));
                    op.Apply(va, vb).StoreUnsafe(ref yr, (nuint)(o + k));
                }
            }
            for (; k < len; k++)
                Unsafe.Add(ref yr, o + k * so) = op.Apply(Unsafe.Add(ref ar, oa + k * sa), Unsafe.Add(ref br, ob + k * sb));
        });
    }

    /// <summary>Runs at least this long (2 MB of floats, past the caches) write with non-temporal stores.</summary>
    private const int StreamMin = 1 << 19;

    /// <summary>
    /// y = op(x) over a long dense run with non-temporal stores: the output's cache lines are not read first (8 bytes of
    /// memory traffic per element instead of 12). The destination is pinned and peeled to 32-byte alignment; a store fence
    /// makes the streamed data visible before the run returns.
    /// </summary>
    private static unsafe void StreamUnary<TOp>(ref float x, ref float y, int len, TOp op) where TOp : struct, IUnaryOp
    {
        fixed (float* px = &x, py = &y)
        {
            int k = 0;
            for (; k < len && ((nuint)(py + k) & 31) != 0; k++) py[k] = op.Apply(px[k]);
            for (; k <= len - 32; k += 32)
            {
                Avx.StoreAlignedNonTemporal(py + k, op.Apply(Vector256.Load(px + k)));
                Avx.StoreAlignedNonTemporal(py + k + 8, op.Apply(Vector256.Load(px + k + 8)));
                Avx.StoreAlignedNonTemporal(py + k + 16, op.Apply(Vector256.Load(px + k + 16)));
                Avx.StoreAlignedNonTemporal(py + k + 24, op.Apply(Vector256.Load(px + k + 24)));
            }
            for (; k < len; k++) py[k] = op.Apply(px[k]);
            Sse.StoreFence();
        }
    }

    /// <summary>y = op(a, b) over a long dense run with non-temporal stores (see <see cref="StreamUnary{TOp}"/>).</summary>
    private static unsafe void StreamBinary<TOp>(ref float a, ref float b, ref float y, int len, TOp op) where TOp : struct, IBinaryOp
    {
        fixed (float* pa = &a, pb = &b, py = &y)
        {
            int k = 0;
            for (; k < len && ((nuint)(py + k) & 31) != 0; k++) py[k] = op.Apply(pa[k], pb[k]);
            for (; k <= len - 16; k += 16)
            {
                Avx.StoreAlignedNonTemporal(py + k, op.Apply(Vector256.Load(pa + k), Vector256.Load(pb + k)));
                Avx.StoreAlignedNonTemporal(py + k + 8, op.Apply(Vector256.Load(pa + k + 8), Vector256.Load(pb + k + 8)));
            }
            for (; k < len; k++) py[k] = op.Apply(pa[k], pb[k]);
            Sse.StoreFence();
        }
    }

    public void Where(Storage cond, Storage a, Storage b, Storage y, StridedMap map, int count)
    {
        var c = (float[])((CpuStorage)cond).Data; var xa = (float[])((CpuStorage)a).Data;
        var xb = (float[])((CpuStorage)b).Data; var ys = (float[])((CpuStorage)y).Data;
        Segments(map, count, 2, (i, len) =>
        {
            var (oc, oa, ob) = map.Map(i);
            var (sc, sa, sb) = map.InnerStrides;
            for (int k = 0; k < len; k++) ys[i + k] = c[oc + k * sc] != 0f ? xa[oa + k * sa] : xb[ob + k * sb];
        });
    }

    public void GatherRows(Storage x, int xOffset, int rows, int cols, Storage index, int indexOffset, Storage y, int count)
    {
        var xs = (float[])((CpuStorage)x).Data; var ys = (float[])((CpuStorage)y).Data;
        for (int r = 0; r < count; r++)
        {
            long ix = index.DType == DType.Int32 ? S<int>(index)[indexOffset + r] : S<long>(index)[indexOffset + r];
            if (ix < -rows || ix >= rows)
                throw new IndexOutOfRangeException($"GatherRows: index {ix} at position {r} is out of range for {rows} rows (expected {-rows}..{rows - 1}).");
            if (ix < 0) ix += rows;
            Array.Copy(xs, xOffset + ix * cols, ys, (long)r * cols, cols);
        }
    }

    public void IndexAddRows(Storage y, int rows, int cols, Storage index, int indexOffset, Storage src, int srcOffset, int count)
    {
        var ys = ((CpuStorage)y).Span<float>(); var xs = (float[])((CpuStorage)src).Data;
        for (int r = 0; r < count; r++)
        {
            long ix = index.DType == DType.Int32 ? S<int>(index)[indexOffset + r] : S<long>(index)[indexOffset + r];
            if (ix < 0) ix += rows; // validated by the forward GatherRows
            var dst = ys.Slice((int)ix * cols, cols);
            var row = xs.AsSpan(srcOffset + r * cols, cols);
            for (int c = 0; c < cols; c++) dst[c] += row[c];
        }
    }

    public void Update<TOp>(IReadOnlyList<UpdateItem> items, TOp op) where TOp : struct, IUpdateOp
    {
        foreach (var u in items) Update(u.P, u.POffset, u.G, u.GOffset, u.M, u.V, u.Count, op);
    }

    private static void Update<TOp>(Storage p, int pOffset, Storage g, int gOffset, Storage m, Storage v, int count, TOp op) where TOp : struct, IUpdateOp
    {
        var ps = (float[])((CpuStorage)p).Data; var gs = (float[])((CpuStorage)g).Data;
        var ms = (float[])((CpuStorage)m).Data; var vs = (float[])((CpuStorage)v).Data;
        CpuParallel.For(count, 8, (lo, hi) =>
        {
            for (int i = lo; i < hi; i++)
            {
                var (np, nm, nv) = op.Apply(ps[pOffset + i], gs[gOffset + i], ms[i], vs[i]);
                ms[i] = nm; vs[i] = nv; ps[pOffset + i] = np; // parameter last: m and v may alias g
            }
        });
    }

    public void CrossEntropy(Storage logits, int offset, int n, int c, Storage labels, int labelsOffset, Storage loss, Storage probs, bool reduce, float scale)
    {
        var x = (float[])((CpuStorage)logits).Data; var l = (float[])((CpuStorage)loss).Data; var p = (float[])((CpuStorage)probs).Data;
        double total = 0;
        for (int r = 0; r < n; r++)
        {
            long label = Label(labels, labelsOffset + r);
            if (label < 0 || label >= c)
                throw new IndexOutOfRangeException($"CrossEntropy: labels must lie in [0, {c}); row {r} has {label}.");
            var row = x.AsSpan(offset + r * c, c);
            float m = float.NegativeInfinity, s = 0f;
            foreach (var v in row) m = default(MaximumOp).Apply(m, v);
            foreach (var v in row) s += MathF.Exp(v - m);
            float lse = m + MathF.Log(s);
            float rowLoss = lse - row[(int)label];
            if (reduce) total += rowLoss;
            else l[r] = rowLoss;
            for (int j = 0; j < c; j++) p[r * c + j] = MathF.Exp(row[j] - lse);
        }
        if (reduce) l[0] = (float)total * scale;
    }

    public void CrossEntropyBackward(Storage probs, int n, int c, Storage labels, int labelsOffset, Storage g, int gOffset, int gStride, float scale, Storage dx)
    {
        var p = (float[])((CpuStorage)probs).Data; var gs = (float[])((CpuStorage)g).Data; var d = (float[])((CpuStorage)dx).Data;
        for (int r = 0; r < n; r++)
        {
            long label = Label(labels, labelsOffset + r);
            float gr = gs[gOffset + r * gStride] * scale;
            for (int j = 0; j < c; j++) d[r * c + j] = (p[r * c + j] - (label == j ? 1f : 0f)) * gr;
        }
    }

    private static long Label(Storage labels, int i) => labels.DType == DType.Int32 ? S<int>(labels)[i] : S<long>(labels)[i];

    public void Unfold(Storage x, Storage cols, WindowArgs a)
    {
        var xs = (float[])((CpuStorage)x).Data; var cs = (float[])((CpuStorage)cols).Data;
        int kk = a.K * a.K, plane = a.OH * a.OW;
        CpuParallel.For(a.N * a.C, kk * plane, (lo, hi) =>
        {
            for (int nc = lo; nc < hi; nc++)
                for (int ij = 0; ij < kk; ij++)
                {
                    int i = ij / a.K, j = ij % a.K, dst = (nc * kk + ij) * plane;
                    for (int oh = 0; oh < a.OH; oh++)
                    {
                        int h = oh * a.S - a.P + i;
                        for (int ow = 0; ow < a.OW; ow++)
                        {
                            int w = ow * a.S - a.P + j;
                            cs[dst + oh * a.OW + ow] = h >= 0 && h < a.H && w >= 0 && w < a.W ? xs[a.Offset + (nc * a.H + h) * a.W + w] : a.Pad;
                        }
                    }
                }
        });
    }

    public void Fold(Storage cols, Storage dx, WindowArgs a)
    {
        var cs = (float[])((CpuStorage)cols).Data; var ds = (float[])((CpuStorage)dx).Data;
        int kk = a.K * a.K, plane = a.OH * a.OW;
        CpuParallel.For(a.N * a.C, kk * plane, (lo, hi) =>
        {
            for (int nc = lo; nc < hi; nc++)
            {
                var img = ds.AsSpan(nc * a.H * a.W, a.H * a.W);
                img.Clear();
                for (int ij = 0; ij < kk; ij++)
                {
                    int i = ij / a.K, j = ij % a.K, src = a.Offset + (nc * kk + ij) * plane;
                    for (int oh = 0; oh < a.OH; oh++)
                    {
                        int h = oh * a.S - a.P + i;
                        if (h < 0 || h >= a.H) continue;
                        for (int ow = 0; ow < a.OW; ow++)
                        {
                            int w = ow * a.S - a.P + j;
                            if (w >= 0 && w < a.W) img[h * a.W + w] += cs[src + oh * a.OW + ow];
                        }
                    }
                }
            }
        });
    }

    public void Synchronize() { }

    /// <summary>
    /// Runs <paramref name="body"/>(linear index, run length) over runs that stay inside one innermost row, so the body
    /// can use the map's inner strides; chunks of the flat index space go to different cores.
    /// </summary>
    private static void Segments(StridedMap map, int count, int cost, Action<int, int> body)
    {
        int inner = Math.Max(map.Inner, 1);
        CpuParallel.For(count, cost, (lo, hi) =>
        {
            for (int i = lo; i < hi;)
            {
                int len = Math.Min(inner - i % inner, hi - i);
                body(i, len);
                i += len;
            }
        });
    }
}
