using DeepSharp.Ops;
using ILGPU;
using ILGPU.Runtime;

namespace DeepSharp.Backends.Ilgpu;

/// <summary>GEMM dispatch: cuBLAS (CUDA, large products), the C# tiled kernels (split-K for small grids), or the direct
/// kernel when <see cref="UseTiledGemm"/> is off.</summary>
internal sealed partial class IlgpuBackend
{
    /// <summary>Whether GEMM uses the shared-memory tiled kernels (default) or the direct one (one thread per output).</summary>
    public bool UseTiledGemm { get; set; } = true;

    /// <summary>GEMM with 128×128 blocks: use <see cref="Kernels.GemmVector{TA, TB}"/> (16-byte staging, unrolled k-tile,
    /// 128 threads of 16×8 outputs) where both operands allow it (see <see cref="VectorStage"/>), else the general tiled
    /// kernel (256 threads of 8×8).</summary>
    public bool UseVectorGemm { get; set; } = true;

    /// <summary>GEMM on CUDA: compile with launch bounds (2 groups per multiprocessor of 256 threads, or of 128 for
    /// <see cref="Kernels.GemmVector{TA, TB}"/>), capping registers at 128 (255).</summary>
    public bool GemmLaunchBounds { get; set; } = true;

    /// <summary>Split K into slices run side by side when a product's (or a batch's) grid would not fill the device twice
    /// (see <see cref="TrySplitK"/>).</summary>
    public bool UseSplitK { get; set; } = true;

    /// <summary>Blocks of C a GEMM launch should have to keep the device busy: two groups per multiprocessor (as the launch
    /// bounds allow). Below it split-K or smaller groups are used (tests lower it on one-multiprocessor simulators).</summary>
    internal int FillTarget { get; set; }

    /// <summary>Shortest slice of K that split-K makes (32 k-tiles: the scratch's write and read stay small next to the product).</summary>
    public const int SplitKMinSlice = 256;

    /// <summary>Edge of the GEMM's square group (its C block is 8·Tile on a side; 16 → 128×128 blocks, 16.5 KB of shared memory).</summary>
    public int Tile { get; }

    public void MatMul(Storage a, Storage b, Storage c, GemmArgs g, Storage? bias = null)
    {
        using var scope = Enter(nameof(MatMul));
        try
        {
            if (g.Batch * g.M * g.N == 0) return;
            if (a.DType == DType.Float64)
            {
                // Float64 serves exact checks, not speed: one thread per element of C (K = 0 gives the bias alone).
                _launches++;
                GemmDirectK<double>()(g.Batch * g.M * g.N, V<double>(a), V<double>(b), V<double>(c), V<double>(bias ?? c), g);
                return;
            }
            var biasView = bias is null ? V<float>(c) : V<float>(bias); // unused without a bias
            if (g.K == 0)
            {
                Fill<float, FillOp<float>>(c, new FillOp<float>(0f));
                if (g.Bias != BiasMode.None) AddBiasRows(c, bias!, g);
                return;
            }
            if (TryCuBlas(a, b, c, g))
            {
                if (g.Bias != BiasMode.None) AddBiasRows(c, bias!, g);
                return;
            }
            if (!UseTiledGemm)
            {
                _launches++;
                GemmDirectK<float>()(g.Batch * g.M * g.N, V<float>(a), V<float>(b), V<float>(c), biasView, g);
                return;
            }
            // A T×T group computes an (8T)² block of C, 8×8 per thread. When the grid would not fill the device twice, split
            // K if it is long enough, else halve T.
            int t = Tile;
            long blocks = (long)Blocks(g.N, 8 * t) * Blocks(g.M, 8 * t) * g.Batch, target = FillTarget;
            if (t > 8 && blocks < target)
            {
                if (TrySplitK(a, b, c, g, bias, blocks, target)) return;
                t /= 2;
            }
            LaunchTiled(a, b, c, g, biasView, t);
        }
        catch (AcceleratorException e) when (IsDeviceFailure(e)) { throw Fault(e, nameof(MatMul)); }
    }

    /// <summary>How <see cref="Kernels.GemmVector{TA, TB}"/> can stage an operand (see <see cref="VectorStage"/>).</summary>
    internal enum Run { None, AlongK, AlongMn }

    /// <summary>
    /// How <see cref="Kernels.GemmVector{TA, TB}"/> can stage an operand whose element (mn, k) sits at
    /// off + batch·batchStride + mn·mnStride + k·kStride: in runs of four k (<see cref="KRun"/>), of four rows or columns
    /// (<see cref="MnRun"/>), or not at all. A run must be contiguous, start 16-byte aligned in every batch and lie wholly
    /// inside or wholly outside the operand, so its dimension must be a multiple of 4.
    /// </summary>
    internal static Run VectorStage(int off, int batchStride, int batch, int mnStride, int kStride, int mn, int k)
    {
        if (off % 4 != 0 || (batch > 1 && batchStride % 4 != 0)) return Run.None;
        if (kStride == 1 && mnStride % 4 == 0 && k % 4 == 0) return Run.AlongK;
        if (mnStride == 1 && kStride % 4 == 0 && mn % 4 == 0) return Run.AlongMn;
        return Run.None;
    }

    private static int Blocks(int n, int block) => (n + block - 1) / block;

    /// <summary>c += bias per column or per row, after a product without the fused epilogue (cuBLAS, K = 0,
    /// split-K).</summary>
    private void AddBiasRows(Storage c, Storage bias, GemmArgs g)
    {
        int[] shape = [g.Batch, g.M, g.N];
        var biasLayout = new Layout(shape, g.Bias == BiasMode.PerColumn ? [0, 0, 1] : [0, 1, 0], g.OffBias);
        var map = StridedMap.Create(shape, Layout.Contiguous(shape), biasLayout, Layout.Contiguous(shape));
        Binary(c, bias, c, map, g.Batch * g.M * g.N, new AddOp());
    }

    /// <summary>One launch of a tiled kernel computing (8T)² blocks: the vector-staged one (16×8 groups) where T = 16 and both
    /// operands allow it, else the general one (T×T groups).</summary>
    private void LaunchTiled(Storage a, Storage b, Storage c, GemmArgs g, ArrayView<float> biasView, int t)
    {
        int block = 8 * t;
        g.BlocksX = Blocks(g.N, block);
        g.BlocksY = Blocks(g.M, block);
        var grid = new Index3D(g.BlocksX * g.BlocksY * g.Batch, 1, 1);
        var config = new KernelConfig(grid, new Index3D(t, t, 1)); // for kernels with static shared memory
        _launches++;
        int products = g.Batch / Math.Max(g.Slices, 1); // a slice starts at a multiple of K: aligned where K % 4 == 0
        if (t == 16 && UseVectorGemm && VectorStage(g.OffA, g.BatchA, products, g.RowA, g.ColA, g.M, g.K) is var sa and not Run.None
            && VectorStage(g.OffB, g.BatchB, products, g.ColB, g.RowB, g.N, g.K) is var sb and not Run.None)
        {
            var kernel = (sa, sb) switch
            {
                (Run.AlongK, Run.AlongK) => GemmVectorK<KRun, KRun>(),
                (Run.AlongK, _) => GemmVectorK<KRun, MnRun>(),
                (_, Run.AlongK) => GemmVectorK<MnRun, KRun>(),
                _ => GemmVectorK<MnRun, MnRun>(),
            };
            kernel(new KernelConfig(grid, new Index3D(16, Kernels.GemmVectorThreads / 16, 1)), V<float>(a), V<float>(b), V<float>(c),
                biasView, g);
        }
        else if (StaticTilesOnly)
            GemmK<StaticTiles>()(config, V<float>(a), V<float>(b), V<float>(c), biasView, g);
        else
            GemmK<DynamicTiles>()(
                new KernelConfig(grid, new Index3D(t, t, 1), SharedMemoryConfig.RequestDynamic<float>(4 * (t / 2) * (block + 4))),
                V<float>(a), V<float>(b), V<float>(c), biasView, g);
    }

    /// <summary>Whether shared memory must be static (OpenCL; see <see cref="StaticTiles"/>).</summary>
    private bool StaticTilesOnly => Accelerator.AcceleratorType == AcceleratorType.OpenCL;

    /// <summary>
    /// Split-K for products whose 128×128 grid would leave multiprocessors idle (n = 1024 on an H100: 64 blocks for 132
    /// SMs; a convolution's weight gradient: one small block per sample, K = the output's pixels): each product's K is cut
    /// into s slices that run as s·batch entries of one launch (full-size groups, see <see cref="GemmArgs.Slices"/>) into a
    /// scratch [batch, s, M, N], then one reduction adds each product's slices in a fixed order, so results do not depend
    /// on scheduling. Used when every slice is a whole number of k-tiles and at least <see cref="SplitKMinSlice"/> long
    /// (at most 16 slices).
    /// </summary>
    private bool TrySplitK(Storage a, Storage b, Storage c, GemmArgs g, Storage? bias, long blocks, long target)
    {
        if (!UseSplitK) return false;
        // The fewest slices that fill the device twice, else the most there can be; every slice a whole number of k-tiles.
        int s = 1;
        for (int n = 2; n <= 16 && g.K / n >= SplitKMinSlice && blocks * s < target; n++)
            if (g.K % (8 * n) == 0) s = n;
        if (s == 1) return false;
        var split = g;
        (split.Batch, split.K, split.Slices, split.Bias) = (g.Batch * s, g.K / s, s, BiasMode.None);
        var scratch = Allocate(DType.Float32, split.Batch * g.M * g.N);
        scratch.AddRef();
        try
        {
            LaunchTiled(a, b, scratch, split, V<float>(scratch), Tile);
            Reduce<SumOp>(scratch, 0, c, g.Batch, s, g.M * g.N);
            if (g.Bias != BiasMode.None) AddBiasRows(c, bias!, g);
        }
        finally { scratch.Release(); }
        return true;
    }
}
