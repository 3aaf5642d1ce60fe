using DeepSharp.Ops;
using ILGPU;
using ILGPU.Runtime;

namespace DeepSharp.Backends.Ilgpu;

/// <summary>
/// Runs the primitive ops as ILGPU kernels on one accelerator (CUDA, OpenCL or ILGPU's CPU simulator). Kernels are
/// compiled on first use and cached per accelerator and op type; all work goes to the accelerator's default stream.
/// </summary>
internal sealed partial class IlgpuBackend : IBackend
{
    // One caller at a time per accelerator: ILGPU's launchers and the CPU simulator's thread team are not re-entrant,
    // and all work shares one in-order stream anyway.
    private readonly Lock _sync = new();
    private MemoryBuffer1D<int, Stride1D.Dense>? _gatherError;

    public IlgpuBackend(Accelerator accelerator, Device device)
    {
        Accelerator = accelerator;
        Device = device;
        Pool = new DevicePool(accelerator, device);
        ReduceGroup = Math.Min(Kernels.MaxReduceGroup, 1 << (int)Math.Log2(accelerator.MaxNumThreadsPerGroup));
        Tile = ReduceGroup >= 256 ? 16 : ReduceGroup >= 64 ? 8 : 4;
        FillTarget = 2 * accelerator.NumMultiprocessors;
    }

    /// <summary>Threads per group of the row reduction (a power of two ≤ 256).</summary>
    public int ReduceGroup { get; }

    public Accelerator Accelerator { get; }
    public Device Device { get; }
    public DevicePool Pool { get; }

    private long _launches; // kernels launched (under _sync)

    /// <summary>Counters for <see cref="DeepSharp.Device.Stats"/>.</summary>
    public DeviceStats Stats()
    {
        lock (_sync)
            return new DeviceStats(_launches, CompiledCount, System.Diagnostics.Stopwatch.GetElapsedTime(0, _compileTicks),
                Pool.InUseBytes, Pool.PeakBytes, Pool.CachedBytes);
    }

    private static ArrayView<T> V<T>(Storage s) where T : unmanaged => ((IlgpuStorage)s).View<T>();

    public Storage Allocate(DType dtype, int count)
    {
        if (Volatile.Read(ref _fault) is { } f) throw new DeviceFaultException(f, nameof(Allocate));
        // The pool turns out-of-memory into its own exception.
        try { return new IlgpuStorage(Device, Pool, dtype, count); }
        catch (AcceleratorException e) when (IsDeviceFailure(e)) { throw Fault(e, nameof(Allocate)); }
    }

    public void Upload<T>(ReadOnlySpan<T> src, Storage dst) where T : unmanaged
    {
        using var scope = Enter(nameof(Upload));
        try
        {
            if (src.Length > 0) V<T>(dst).SubView(0, src.Length).CopyFromCPU(Accelerator.DefaultStream, src);
        }
        catch (AcceleratorException e) when (IsDeviceFailure(e)) { throw Fault(e, nameof(Upload)); }
    }

    public void Download<T>(Storage src, Span<T> dst) where T : unmanaged
    {
        using var scope = Enter(nameof(Download));
        try
        {
            if (dst.Length == 0) return;
            V<T>(src).SubView(0, dst.Length).CopyToCPU(Accelerator.DefaultStream, dst);
            Accelerator.DefaultStream.Synchronize();
        }
        catch (AcceleratorException e) when (IsDeviceFailure(e)) { throw Fault(e, nameof(Download)); }
    }

    public void Fill<T, TOp>(Storage dst, TOp op) where T : unmanaged where TOp : struct, IIndexOp<T>
    {
        using var scope = Enter(nameof(Fill));
        try
        {
            if (dst.Count == 0) return;
            _launches++;
            FillK<T, TOp>()(dst.Count, V<T>(dst), op);
        }
        catch (AcceleratorException e) when (IsDeviceFailure(e)) { throw Fault(e, nameof(Fill)); }
    }

    public void Copy(Storage src, Storage dst, StridedMap map, int count)
    {
        using var scope = Enter(nameof(Copy));
        try
        {
            if (count > 0) DTypeDispatch.Run(src.DType, dst.DType, new CopyVisitor(this, src, dst, map, count));
        }
        catch (AcceleratorException e) when (IsDeviceFailure(e)) { throw Fault(e, nameof(Copy)); }
    }

    private readonly record struct CopyVisitor(IlgpuBackend B, Storage Src, Storage Dst, StridedMap Map, int Count) : IConvertVisitor
    {
        public void Run<TIn, EIn, TOut, EOut>() where TIn : unmanaged where EIn : struct, IElement<TIn>
            where TOut : unmanaged where EOut : struct, IElement<TOut>
        {
            B._launches++;
            if (typeof(EIn) == typeof(EOut)) B.CopyK<TIn>()(Count, V<TIn>(Src), V<TIn>(Dst), Map);
            else B.ConvertK<TIn, EIn, TOut, EOut>()(Count, V<TIn>(Src), V<TOut>(Dst), Map);
        }
    }

    public void Unary<TOp>(Storage x, Storage y, StridedMap map, int count, TOp op) where TOp : struct, IUnaryOp
    {
        using var scope = Enter(nameof(Unary));
        try
        {
            if (count == 0) return;
            if (x.DType == DType.Float64)
            {
                _launches++;
                UnaryK<double, TOp>()(count, V<double>(x), V<double>(y), map, op);
                return;
            }
            if (Dense(map, count, binary: false))
            {
                _launches++;
                UnaryDenseK<TOp>()((count + 3) / 4, V<float>(x), V<float>(y),
                    new DenseArgs { OffA = map.OffA, OffC = map.OffB, Count = count }, op);
                return;
            }
            _launches++;
            UnaryK<float, TOp>()(count, V<float>(x), V<float>(y), map, op);
        }
        catch (AcceleratorException e) when (IsDeviceFailure(e)) { throw Fault(e, nameof(Unary)); }
    }

    public void Binary<TOp>(Storage a, Storage b, Storage y, StridedMap map, int count, TOp op) where TOp : struct, IBinaryOp
    {
        using var scope = Enter(nameof(Binary));
        try
        {
            if (count == 0) return;
            if (a.DType == DType.Float64)
            {
                _launches++;
                BinaryK<double, TOp>()(count, V<double>(a), V<double>(b), V<double>(y), map, op);
                return;
            }
            if (Dense(map, count, binary: true))
            {
                _launches++;
                BinaryDenseK<TOp>()((count + 3) / 4, V<float>(a), V<float>(b), V<float>(y),
                    new DenseArgs { OffA = map.OffA, OffB = map.OffB, OffC = map.OffC, Count = count }, op);
                return;
            }
            _launches++;
            BinaryK<float, TOp>()(count, V<float>(a), V<float>(b), V<float>(y), map, op);
        }
        catch (AcceleratorException e) when (IsDeviceFailure(e)) { throw Fault(e, nameof(Binary)); }
    }

    /// <summary>
    /// Whether an elementwise launch can use the four-per-thread kernels: every operand one dense run with unit stride
    /// (no broadcast), starting 16-byte aligned, and enough elements to matter (small ops are launch-bound anyway).
    /// </summary>
    private static bool Dense(StridedMap m, int count, bool binary) =>
        count >= 4096 && m.Rank == 1 && m.A7 == 1 && m.B7 == 1 && (!binary || m.C7 == 1) &&
        (m.OffA & 3) == 0 && (m.OffB & 3) == 0 && (!binary || (m.OffC & 3) == 0);

    public void Where(Storage cond, Storage a, Storage b, Storage y, StridedMap map, int count)
    {
        using var scope = Enter(nameof(Where));
        try
        {
            if (count == 0) return;
            _launches++;
            if (a.DType == DType.Float64) WhereK<double>()(count, V<double>(cond), V<double>(a), V<double>(b), V<double>(y), map);
            else WhereK<float>()(count, V<float>(cond), V<float>(a), V<float>(b), V<float>(y), map);
        }
        catch (AcceleratorException e) when (IsDeviceFailure(e)) { throw Fault(e, nameof(Where)); }
    }

    public void Reduce<TOp>(Storage x, int xOffset, Storage y, int outer, int n, int inner) where TOp : struct, IReduceOp
    {
        using var scope = Enter(nameof(Reduce));
        try
        {
            if (outer * inner == 0) return;
            var r = new ReduceArgs { Offset = xOffset, N = n, Inner = inner };
            // A group per row pays off for long rows; short rows (a loss over classes) fold one per thread, with no barriers.
            _launches++;
            if (x.DType == DType.Float64) Reduce<double, TOp>(x, y, outer, inner, r);
            else Reduce<float, TOp>(x, y, outer, inner, r);
        }
        catch (AcceleratorException e) when (IsDeviceFailure(e)) { throw Fault(e, nameof(Reduce)); }
    }

    private void Reduce<T, TOp>(Storage x, Storage y, int outer, int inner, ReduceArgs r)
        where T : unmanaged where TOp : struct, IReduceOp<T>
    {
        if (inner == 1 && r.N >= 256) ReduceRowsK<T, TOp>()(new KernelConfig(outer, ReduceGroup), V<T>(x), V<T>(y), r);
        else ReduceColumnsK<T, TOp>()(outer * inner, V<T>(x), V<T>(y), r);
    }

    public void ArgReduce(Storage x, int xOffset, Storage y, int outer, int n, int inner, bool max, Storage? values = null)
    {
        using var scope = Enter(nameof(ArgReduce));
        try
        {
            if (outer * inner == 0) return;
            var r = new ReduceArgs { Offset = xOffset, N = n, Inner = inner };
            var mode = new ArgMode
            {
                Find = max ? Extremum.Max : Extremum.Min, Outputs = values is null ? ArgOutputs.Indices : ArgOutputs.IndicesAndValues,
            };
            _launches++;
            if (x.DType == DType.Float64) ArgReduceK<double>()(outer * inner, V<double>(x), V<long>(y), V<double>(values ?? x), r, mode);
            else ArgReduceK<float>()(outer * inner, V<float>(x), V<long>(y), V<float>(values ?? x), r, mode); // x stands in, unwritten
        }
        catch (AcceleratorException e) when (IsDeviceFailure(e)) { throw Fault(e, nameof(ArgReduce)); }
    }

    public void ScatterAlong(Storage g, int gOffset, Storage index, Storage dx, int outer, int n, int inner)
    {
        using var scope = Enter(nameof(ScatterAlong));
        try
        {
            if (outer * n * inner == 0) return;
            var r = new ReduceArgs { Offset = gOffset, N = n, Inner = inner };
            _launches++;
            if (g.DType == DType.Float64) ScatterAlongK<double>()(outer * n * inner, V<double>(g), V<long>(index), V<double>(dx), r);
            else ScatterAlongK<float>()(outer * n * inner, V<float>(g), V<long>(index), V<float>(dx), r);
        }
        catch (AcceleratorException e) when (IsDeviceFailure(e)) { throw Fault(e, nameof(ScatterAlong)); }
    }

    public void Synchronize()
    {
        using var scope = Enter(nameof(Synchronize));
        try { Accelerator.Synchronize(); }
        catch (AcceleratorException e) when (IsDeviceFailure(e)) { throw Fault(e, nameof(Synchronize)); }
    }
}
