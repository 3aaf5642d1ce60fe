using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using DeepSharp.Ops;

namespace DeepSharp.Backends.Cpu;

/// <summary>
/// The managed host backend: SIMD loops (Vector256, or Vector128 where 256-bit vectors are not accelerated) over the same
/// op structs the ILGPU kernels use, split over cores for large tensors, and a packed SIMD GEMM. This — not ILGPU's
/// thread-per-lane CPU simulator — is what <c>Device.Cpu</c> runs.
/// </summary>
internal sealed partial class CpuBackend : IBackend
{
    public static readonly CpuBackend Instance = new();
    private CpuBackend() { }

    public Device Device => Device.Cpu;

    public Storage Allocate(DType dtype, int count) => new CpuStorage(dtype, count);

    private static Span<T> S<T>(Storage s) where T : unmanaged => ((CpuStorage)s).Span<T>();

    private static HostElements<float> E(Storage s) => ((CpuStorage)s).Elements<float>();

    public void Upload<T>(ReadOnlySpan<T> src, Storage dst) where T : unmanaged => src.CopyTo(S<T>(dst));

    public void Download<T>(Storage src, Span<T> dst) where T : unmanaged => S<T>(src)[..dst.Length].CopyTo(dst);

    public void Fill<T, TOp>(Storage dst, TOp op) where T : unmanaged where TOp : struct, IIndexOp<T>
    {
        var arr = ((CpuStorage)dst).Elements<T>();
        // A constant fill is a vectorised Span.Fill, far faster than a per-element loop
        // (see benchmarks/NOTES.md, "Moved from code comments"); index-dependent fills (arange, random) stay a loop, split over cores
        // only when there is enough of it.
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
            var x = Src.Elements<TIn>(); var y = Dst.Elements<TOut>(); var map = Map;
            bool same = typeof(EIn) == typeof(EOut); // float16 and bfloat16 share ushort: the trait tells the dtype
            Segments(map, Count, 1, (i, len, a, b, _) =>
            {
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

    // The inner loops index through refs without bounds checks: offsets come from validated layouts. Dense runs go through
    // the width-generic loops below, compiled once for Vector256 and once for Vector128 (see CpuBackend.Vectors.cs).
    public void Unary<TOp>(Storage x, Storage y, StridedMap map, int count, TOp op) where TOp : struct, IUnaryOp
    {
        if (x.DType == DType.Float64) { UnaryScalar<double, TOp>(x, y, map, count, op); return; }
        var xs = E(x); var ys = E(y);
        bool wide = Wide;
        Segments(map, count, 2, (i, len, a, o, _) =>
        {
            ref float xr = ref xs.Ref, yr = ref ys.Ref;
            var (sa, so, _) = map.InnerStrides;
            int k = 0;
            if (sa == 1 && so == 1 && len >= StreamMin && wide && Avx.IsSupported)
            {
                StreamUnary(ref Unsafe.Add(ref xr, a), ref Unsafe.Add(ref yr, o), len, op);
                return;
            }
            if (sa == 1 && so == 1 && len >= 8)
                k = wide ? DenseUnary<TOp, Simd256, Vector256<float>>(ref Unsafe.Add(ref xr, a), ref Unsafe.Add(ref yr, o), len, op)
                    : DenseUnary<TOp, Simd128, Vector128<float>>(ref Unsafe.Add(ref xr, a), ref Unsafe.Add(ref yr, o), len, op);
            for (; k < len; k++) Unsafe.Add(ref yr, o + k * so) = op.Apply(Unsafe.Add(ref xr, a + k * sa));
        });
    }

    /// <summary>y[0..) = op(x[0..)) in whole vectors, four per step (several loads in flight); returns where the tail
    /// starts.</summary>
    private static int DenseUnary<TOp, TS, TV>(ref float x, ref float y, int len, TOp op)
        where TOp : struct, IUnaryOp where TS : struct, ISimd<TV> where TV : struct
    {
        int n = TS.Count, k = 0;
        for (; k <= len - 4 * n; k += 4 * n)
        {
            nuint s = (nuint)k, u = (nuint)n;
            var v0 = TS.Load(ref x, s); var v1 = TS.Load(ref x, s + u);
            var v2 = TS.Load(ref x, s + 2 * u); var v3 = TS.Load(ref x, s + 3 * u);
            TS.Store(TS.Unary(op, v0), ref y, s); TS.Store(TS.Unary(op, v1), ref y, s + u);
            TS.Store(TS.Unary(op, v2), ref y, s + 2 * u); TS.Store(TS.Unary(op, v3), ref y, s + 3 * u);
        }
        for (; k <= len - n; k += n) TS.Store(TS.Unary(op, TS.Load(ref x, (nuint)k)), ref y, (nuint)k);
        return k;
    }

    public void Binary<TOp>(Storage a, Storage b, Storage y, StridedMap map, int count, TOp op) where TOp : struct, IBinaryOp
    {
        if (a.DType == DType.Float64) { BinaryScalar<double, TOp>(a, b, y, map, count, op); return; }
        var xa = E(a); var xb = E(b); var ys = E(y);
        bool wide = Wide;
        Segments(map, count, 2, (i, len, oa, ob, o) =>
        {
            ref float ar = ref xa.Ref, br = ref xb.Ref;
            ref float yr = ref ys.Ref;
            var (sa, sb, so) = map.InnerStrides;
            int k = 0;
            if (sa == 1 && sb == 1 && so == 1 && len >= StreamMin && wide && Avx.IsSupported)
            {
                StreamBinary(ref Unsafe.Add(ref ar, oa), ref Unsafe.Add(ref br, ob), ref Unsafe.Add(ref yr, o), len, op);
                return;
            }
            // Dense or broadcast-scalar inner runs: one of 1/1, 1/0, 0/1 (0/0 is a scalar splat).
            if ((sa | sb) is 0 or 1 && so == 1 && len >= 8)
            {
                ref float a0 = ref Unsafe.Add(ref ar, oa), b0 = ref Unsafe.Add(ref br, ob), y0 = ref Unsafe.Add(ref yr, o);
                k = wide ? DenseBinary<TOp, Simd256, Vector256<float>>(ref a0, sa, ref b0, sb, ref y0, len, op)
                    : DenseBinary<TOp, Simd128, Vector128<float>>(ref a0, sa, ref b0, sb, ref y0, len, op);
            }
            for (; k < len; k++)
                Unsafe.Add(ref yr, o + k * so) = op.Apply(Unsafe.Add(ref ar, oa + k * sa), Unsafe.Add(ref br, ob + k * sb));
        });
    }

    /// <summary>y[0..) = op(a, b) in whole vectors, where each of a and b is a dense run (stride 1) or one broadcast value
    /// (stride 0); returns where the tail starts.</summary>
    private static int DenseBinary<TOp, TS, TV>(ref float a, int sa, ref float b, int sb, ref float y, int len, TOp op)
        where TOp : struct, IBinaryOp where TS : struct, ISimd<TV> where TV : struct
    {
        int n = TS.Count, k = 0;
        var va = TS.Splat(a); var vb = TS.Splat(b);
        if (sa == 1 && sb == 1)
            for (; k <= len - 2 * n; k += 2 * n)
            {
                nuint p = (nuint)k, u = (nuint)n;
                var a0 = TS.Load(ref a, p); var a1 = TS.Load(ref a, p + u);
                var b0 = TS.Load(ref b, p); var b1 = TS.Load(ref b, p + u);
                TS.Store(TS.Binary(op, a0, b0), ref y, p); TS.Store(TS.Binary(op, a1, b1), ref y, p + u);
            }
        for (; k <= len - n; k += n)
        {
            if (sa == 1) va = TS.Load(ref a, (nuint)k);
            if (sb == 1) vb = TS.Load(ref b, (nuint)k);
            TS.Store(TS.Binary(op, va, vb), ref y, (nuint)k);
        }
        return k;
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
        if (a.DType == DType.Float64) { WhereScalar<double>(cond, a, b, y, map, count); return; }
        var c = E(cond); var xa = E(a); var xb = E(b); var ys = E(y);
        Segments(map, count, 2, (i, len, oc, oa, ob) =>
        {
            var (sc, sa, sb) = map.InnerStrides;
            for (int k = 0; k < len; k++) ys[i + k] = c[oc + k * sc] != 0f ? xa[oa + k * sa] : xb[ob + k * sb];
        });
    }

    public void Synchronize() { }

    /// <summary>body(linear index, run length, offsets of A, B and C at that index) for one run inside an innermost row.</summary>
    private delegate void SegmentBody(int i, int len, int a, int b, int c);

    /// <summary>
    /// Runs <paramref name="body"/> over runs that stay inside one innermost row, so the body can use the map's inner
    /// strides; chunks of the flat index space go to different cores. Each chunk decodes its first index once and then
    /// steps the row offsets like an odometer: a broadcast over short rows (a pooling window's 16 outputs) decoded every
    /// row with divisions before.
    /// </summary>
    private static void Segments(StridedMap map, int count, int cost, SegmentBody body)
    {
        int inner = Math.Max(map.Inner, 1), rank = map.Rank;
        var (ia, ib, ic) = map.InnerStrides;
        CpuParallel.For(count, cost, (lo, hi) =>
        {
            if (lo >= hi) return;
            int col = lo % inner, row = lo / inner;
            var (a, b, c) = map.Map(lo - col); // offsets at the start of lo's row
            Span<int> dims = stackalloc int[8], sa = stackalloc int[8], sb = stackalloc int[8], sc = stackalloc int[8];
            Span<int> digit = stackalloc int[8];
            (dims[0], dims[1], dims[2], dims[3], dims[4], dims[5], dims[6]) = (map.D0, map.D1, map.D2, map.D3, map.D4, map.D5, map.D6);
            (sa[0], sa[1], sa[2], sa[3], sa[4], sa[5], sa[6]) = (map.A0, map.A1, map.A2, map.A3, map.A4, map.A5, map.A6);
            (sb[0], sb[1], sb[2], sb[3], sb[4], sb[5], sb[6]) = (map.B0, map.B1, map.B2, map.B3, map.B4, map.B5, map.B6);
            (sc[0], sc[1], sc[2], sc[3], sc[4], sc[5], sc[6]) = (map.C0, map.C1, map.C2, map.C3, map.C4, map.C5, map.C6);
            for (int d = 6, r = row; d >= 8 - rank; d--) { digit[d] = r % dims[d]; r /= dims[d]; }
            for (int i = lo; ;)
            {
                int len = Math.Min(inner - col, hi - i);
                body(i, len, a + col * ia, b + col * ib, c + col * ic);
                if ((i += len) >= hi) return;
                col = 0;
                for (int d = 6; d >= 8 - rank; d--) // the next row: carry through the outer dims
                {
                    a += sa[d]; b += sb[d]; c += sc[d];
                    if (++digit[d] < dims[d]) break;
                    digit[d] = 0; a -= dims[d] * sa[d]; b -= dims[d] * sb[d]; c -= dims[d] * sc[d];
                }
            }
        });
    }
}
