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
            bool same = typeof(TIn) == typeof(TOut);
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

    // The inner loops index through refs without bounds checks: offsets come from validated layouts.
    public void Unary<TOp>(Storage x, Storage y, StridedMap map, int count, TOp op) where TOp : struct, IUnaryOp
    {
        var xs = E(x); var ys = E(y);
        Segments(map, count, 2, (i, len, a, o, _) =>
        {
            ref float xr = ref xs.Ref, yr = ref ys.Ref;
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
        var xa = E(a); var xb = E(b); var ys = E(y);
        Segments(map, count, 2, (i, len, oa, ob, o) =>
        {
            ref float ar = ref xa.Ref, br = ref xb.Ref;
            ref float yr = ref ys.Ref;
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
            Span<int> dims = stackalloc int[8], sa = stackalloc int[8], sb = stackalloc int[8], sc = stackalloc int[8], digit = stackalloc int[8];
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
