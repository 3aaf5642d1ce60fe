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
        ReduceGroup = Math.Min(256, 1 << (int)Math.Log2(accelerator.MaxNumThreadsPerGroup));
        Tile = ReduceGroup >= 256 ? 16 : ReduceGroup >= 64 ? 8 : 4;
        UseTiledGemm = accelerator.AcceleratorType != AcceleratorType.OpenCL;
    }

    /// <summary>Whether GEMM uses the shared-memory tiled kernel (default) or the direct one (default on OpenCL, where
    /// PoCL computed wrong tiled products).</summary>
    public bool UseTiledGemm { get; set; }

    /// <summary>GEMM with 16×16 groups: use <see cref="Kernels.GemmVector{TA, TB}"/> (16-byte staging, unrolled k-tile) where
    /// both operands allow it (see <see cref="VectorStage"/>), else the general tiled kernel.</summary>
    public bool UseVectorGemm { get; set; } = true;

    /// <summary>GEMM on CUDA: compile with launch bounds (256 threads, 2 groups per multiprocessor), capping registers at 128.</summary>
    public bool GemmLaunchBounds { get; set; } = true;

    /// <summary>Threads per group of the row reduction (a power of two ≤ 256).</summary>
    public int ReduceGroup { get; }
    /// <summary>Edge of the GEMM's square group (its C block is 8·Tile on a side; 16 → 128×128 blocks, 16.5 KB of shared memory).</summary>
    public int Tile { get; }

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

    public Storage Allocate(DType dtype, int count) => new IlgpuStorage(Device, Pool, dtype, count);

    public void Upload<T>(ReadOnlySpan<T> src, Storage dst) where T : unmanaged
    {
        lock (_sync)
        {
            if (src.Length > 0) V<T>(dst).SubView(0, src.Length).CopyFromCPU(Accelerator.DefaultStream, src);
        }
    }

    public void Download<T>(Storage src, Span<T> dst) where T : unmanaged
    {
        lock (_sync)
        {
            if (dst.Length == 0) return;
            V<T>(src).SubView(0, dst.Length).CopyToCPU(Accelerator.DefaultStream, dst);
            Accelerator.DefaultStream.Synchronize();
        }
    }

    public void Fill<T, TOp>(Storage dst, TOp op) where T : unmanaged where TOp : struct, IIndexOp<T>
    {
        lock (_sync)
        {
            if (dst.Count == 0) return;
            _launches++;
            FillK<T, TOp>()(dst.Count, V<T>(dst), op);
        }
    }

    public void Copy(Storage src, Storage dst, StridedMap map, int count)
    {
        lock (_sync)
        {
            if (count > 0) DTypeDispatch.Run(src.DType, dst.DType, new CopyVisitor(this, src, dst, map, count));
        }
    }

    private readonly record struct CopyVisitor(IlgpuBackend B, Storage Src, Storage Dst, StridedMap Map, int Count) : IConvertVisitor
    {
        public void Run<TIn, EIn, TOut, EOut>() where TIn : unmanaged where EIn : struct, IElement<TIn>
            where TOut : unmanaged where EOut : struct, IElement<TOut>
        {
            B._launches++;
            if (typeof(TIn) == typeof(TOut)) B.CopyK<TIn>()(Count, V<TIn>(Src), V<TIn>(Dst), Map);
            else B.ConvertK<TIn, EIn, TOut, EOut>()(Count, V<TIn>(Src), V<TOut>(Dst), Map);
        }
    }

    public void Unary<TOp>(Storage x, Storage y, StridedMap map, int count, TOp op) where TOp : struct, IUnaryOp
    {
        lock (_sync)
        {
            if (count == 0) return;
            if (Dense(map, count, binary: false))
            {
                _launches++;
                UnaryDenseK<TOp>()((count + 3) / 4, V<float>(x), V<float>(y), new DenseArgs { OffA = map.OffA, OffC = map.OffB, Count = count }, op);
                return;
            }
            _launches++;
            UnaryK<TOp>()(count, V<float>(x), V<float>(y), map, op);
        }
    }

    public void Binary<TOp>(Storage a, Storage b, Storage y, StridedMap map, int count, TOp op) where TOp : struct, IBinaryOp
    {
        lock (_sync)
        {
            if (count == 0) return;
            if (Dense(map, count, binary: true))
            {
                _launches++;
                BinaryDenseK<TOp>()((count + 3) / 4, V<float>(a), V<float>(b), V<float>(y),
                    new DenseArgs { OffA = map.OffA, OffB = map.OffB, OffC = map.OffC, Count = count }, op);
                return;
            }
            _launches++;
            BinaryK<TOp>()(count, V<float>(a), V<float>(b), V<float>(y), map, op);
        }
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
        lock (_sync)
        {
            if (count == 0) return;
            _launches++;
            WhereK()(count, V<float>(cond), V<float>(a), V<float>(b), V<float>(y), map);
        }
    }

    public void Reduce<TOp>(Storage x, int xOffset, Storage y, int outer, int n, int inner) where TOp : struct, IReduceOp
    {
        lock (_sync)
        {
            if (outer * inner == 0) return;
            var r = new ReduceArgs { Offset = xOffset, N = n, Inner = inner };
            // A group per row pays off for long rows; short rows (a loss over classes) fold one per thread, with no barriers.
            _launches++;
            if (inner == 1 && n >= 256 && Accelerator.AcceleratorType != AcceleratorType.OpenCL)
                ReduceRowsK<TOp>()(new KernelConfig(outer, ReduceGroup, SharedMemoryConfig.RequestDynamic<float>(ReduceGroup)), V<float>(x), V<float>(y), r);
            else
                ReduceColumnsK<TOp>()(outer * inner, V<float>(x), V<float>(y), r);
        }
    }

    public void ArgReduce(Storage x, int xOffset, Storage y, int outer, int n, int inner, bool max)
    {
        lock (_sync)
        {
            if (outer * inner == 0) return;
            var r = new ReduceArgs { Offset = xOffset, N = n, Inner = inner };
            _launches++;
            ArgReduceK()(outer * inner, V<float>(x), V<long>(y), r, max ? 1 : 0);
        }
    }

    public void MatMul(Storage a, Storage b, Storage c, GemmArgs g, Storage? bias = null)
    {
        lock (_sync)
        {
            if (g.Batch * g.M * g.N == 0) return;
            var biasView = bias is null ? V<float>(c) : V<float>(bias); // unused unless HasBias
            if (g.K == 0)
            {
                Fill<float, FillOp<float>>(c, new FillOp<float>(0f));
                if (g.HasBias != 0) AddBiasRows(c, bias!, g);
                return;
            }
            if (TryCuBlas(a, b, c, g))
            {
                if (g.HasBias != 0) AddBiasRows(c, bias!, g);
                return;
            }
            if (!UseTiledGemm)
            {
                _launches++;
                GemmDirectK()(g.Batch * g.M * g.N, V<float>(a), V<float>(b), V<float>(c), biasView, g);
                return;
            }
            // A T×T group computes an (8T)² block of C, 8×8 per thread. Halve T when the grid would not fill the device twice.
            int t = Tile;
            if (t > 8 && (long)Blocks(g.N, 8 * t) * Blocks(g.M, 8 * t) * g.Batch < 2L * Accelerator.NumMultiprocessors) t /= 2;
            int block = 8 * t;
            if (t == 16 && UseVectorGemm && VectorStage(g.OffA, g.BatchA, g.Batch, g.RowA, g.ColA, g.M, g.K) is var sa and not 0
                && VectorStage(g.OffB, g.BatchB, g.Batch, g.ColB, g.RowB, g.N, g.K) is var sb and not 0)
            {
                g.BlocksX = Blocks(g.N, block);
                g.BlocksY = Blocks(g.M, block);
                var vconfig = new KernelConfig(new Index3D(g.BlocksX * g.BlocksY * g.Batch, 1, 1), new Index3D(t, t, 1));
                var kernel = (sa, sb) switch
                {
                    (1, 1) => GemmVectorK<KRun, KRun>(),
                    (1, _) => GemmVectorK<KRun, MnRun>(),
                    (_, 1) => GemmVectorK<MnRun, KRun>(),
                    _ => GemmVectorK<MnRun, MnRun>(),
                };
                _launches++;
                kernel(vconfig, V<float>(a), V<float>(b), V<float>(c), biasView, g);
                return;
            }
            g.BlocksX = Blocks(g.N, block);
            g.BlocksY = Blocks(g.M, block);
            var grid = new Index3D(g.BlocksX * g.BlocksY * g.Batch, 1, 1);
            var config = new KernelConfig(grid, new Index3D(t, t, 1), SharedMemoryConfig.RequestDynamic<float>(4 * (t / 2) * (block + 4)));
            _launches++;
            GemmK()(config, V<float>(a), V<float>(b), V<float>(c), biasView, g);
        }
    }

    /// <summary>
    /// How <see cref="Kernels.GemmVector{TA, TB}"/> can stage an operand whose element (mn, k) sits at
    /// off + batch·batchStride + mn·mnStride + k·kStride: 1 in runs of four k (<see cref="KRun"/>), 2 in runs of four rows
    /// or columns (<see cref="MnRun"/>), 0 not at all. A run must be contiguous, start 16-byte aligned in every batch and
    /// lie wholly inside or wholly outside the operand, so its dimension must be a multiple of 4.
    /// </summary>
    internal static int VectorStage(int off, int batchStride, int batch, int mnStride, int kStride, int mn, int k)
    {
        if (off % 4 != 0 || (batch > 1 && batchStride % 4 != 0)) return 0;
        if (kStride == 1 && mnStride % 4 == 0 && k % 4 == 0) return 1;
        if (mnStride == 1 && kStride % 4 == 0 && mn % 4 == 0) return 2;
        return 0;
    }

    private static int Blocks(int n, int block) => (n + block - 1) / block;

    /// <summary>c += bias along columns (HasBias 1) or rows (2), after a product without the fused epilogue (cuBLAS, K = 0).</summary>
    private void AddBiasRows(Storage c, Storage bias, GemmArgs g)
    {
        int[] shape = [g.Batch, g.M, g.N];
        var biasLayout = new Layout(shape, g.HasBias == 1 ? [0, 0, 1] : [0, 1, 0], g.OffBias);
        var map = StridedMap.Create(shape, Layout.Contiguous(shape), biasLayout, Layout.Contiguous(shape));
        Binary(c, bias, c, map, g.Batch * g.M * g.N, new AddOp());
    }

    public void Synchronize() { lock (_sync) Accelerator.Synchronize(); }
}
