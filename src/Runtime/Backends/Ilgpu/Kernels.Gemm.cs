using System.Numerics;
using DeepSharp.Backends;
using ILGPU;
using ILGPU.Runtime;

namespace DeepSharp.Backends.Ilgpu;

/// <summary>Four floats loaded or stored as one 16-byte access (PTX <c>ld.v4.f32</c> on an aligned view).</summary>
internal struct Float4
{
    /// <summary>Components.</summary>
    public float X, Y, Z, W;
}

internal static partial class Kernels
{
    // GEMM notes. The kernels themselves are generated (Kernels.Gemm.g.cs and Kernels.GemmVector.g.cs, by
    // tools/gen_gemm.py); these helpers are shared. Gemm stages any layout element by element through the strides, for
    // any group edge; GemmVector (16×8 groups, 16×8 outputs per thread) stages aligned operands in 16-byte runs and
    // unrolls the k-tile. In Gemm, thread (tx, ty) of a T×T group owns
    // rows ty·4…+3 and 4T+ty·4…+3 of the block and the same split of columns, so its operands come from shared memory as
    // four 16-byte loads per k (LDS.128) feeding 64 FMAs. Tiles are double-buffered: the next k-tile is read from global
    // memory into registers (zeros past the operand) before the current one is multiplied and stored after it, one
    // barrier per tile, no branch in the loop. Strided operands (transposed views) are read through their strides, with the staging order
    // chosen so neighbouring threads read neighbouring addresses; shared rows are padded by 4 floats (no bank conflicts
    // on the transposed stores, 16-byte alignment kept).

    /// <summary>
    /// Which block of C this group computes: a 1-D grid decoded by hand (on PoCL's OpenCL the y/z grid indices gave wrong
    /// products), batch outermost, then block-rows, then blocks along a row.
    /// </summary>
    private static void GemmBlock(GemmArgs g, out int bx, out int by, out int batch)
    {
        int perBatch = g.BlocksX * g.BlocksY, block = Grid.IdxX;
        batch = block / perBatch;
        block -= batch * perBatch;
        by = block / g.BlocksX;
        bx = block - by * g.BlocksX;
    }

    /// <summary>Threads per group a tiled GEMM kernel is launched with on GPUs, and compiled for (launch bounds: two groups
    /// per multiprocessor): 128 for <see cref="GemmVector{TA, TB}"/>, 256 for the general one.</summary>
    public static int ThreadsPerGemmGroup(System.Reflection.MethodInfo kernel) =>
        kernel.Name switch { nameof(GemmVector) => GemmVectorThreads, nameof(GemmMma) or nameof(GemmMmaTf32) => MmaThreads, _ => 256 };

    /// <summary>Threads per group of <see cref="GemmVector{TA, TB}"/> (16 × 8; tools/gen_gemm.py generates it for this many).</summary>
    public const int GemmVectorThreads = 128;

    /// <summary>Where batch entry <paramref name="entry"/> of a launch reads A and B (see <see cref="GemmArgs.Slices"/>).</summary>
    private static void GemmBase(GemmArgs g, int entry, out int baseA, out int baseB)
    {
        int s = g.Slices > 1 ? g.Slices : 1, product = entry / s, kFrom = (entry - product * s) * g.K;
        baseA = g.OffA + product * g.BatchA + kFrom * g.ColA;
        baseB = g.OffB + product * g.BatchB + kFrom * g.RowB;
    }

    /// <summary>Tile coordinates of staged element e: (row, k) of an A tile or (column, k) of a B tile; k-fastest when
    /// <paramref name="kFastest"/> (BK consecutive elements per row), else row-fastest (BM per k).</summary>
    private static void StageIndex(int e, bool kFastest, int bk, int bm, out int m, out int k)
    {
        if (kFastest) { m = e / bk; k = e - m * bk; }
        else { k = e / bm; m = e - k * bm; }
    }

    /// <summary>
    /// GEMM without shared memory: one thread per element of C, k unrolled by four. Runs when
    /// <c>IlgpuBackend.UseTiledGemm</c> is off (a fallback and a reference for the tiled kernels).
    /// </summary>
    public static void GemmDirect<T>(Index1D t, ArrayView<T> a, ArrayView<T> b, ArrayView<T> c, ArrayView<T> bias, GemmArgs g)
        where T : unmanaged, INumberBase<T>
    {
        int col = t % g.N, rest = t / g.N, row = rest % g.M, batch = rest / g.M;
        GemmBase(g, batch, out int pa, out int pb);
        pa += row * g.RowA; pb += col * g.ColB;
        T acc = T.Zero;
        int k = 0;
        for (; k + 4 <= g.K; k += 4)
            acc += a[pa + k * g.ColA] * b[pb + k * g.RowB] + a[pa + (k + 1) * g.ColA] * b[pb + (k + 1) * g.RowB]
                 + a[pa + (k + 2) * g.ColA] * b[pb + (k + 2) * g.RowB] + a[pa + (k + 3) * g.ColA] * b[pb + (k + 3) * g.RowB];
        for (; k < g.K; k++) acc += a[pa + k * g.ColA] * b[pb + k * g.RowB];
        c[t] = g.Bias == BiasMode.PerColumn ? acc + bias[g.OffBias + col] : g.Bias == BiasMode.PerRow ? acc + bias[g.OffBias + row] : acc;
    }

    private static void StoreRow8(ArrayView<float> c, ArrayView<float> bias, GemmArgs g, int cBase, int row, int colLo, int colHi,
        float v0, float v1, float v2, float v3, float v4, float v5, float v6, float v7)
    {
        if (row >= g.M) return;
        if (g.Bias == BiasMode.PerRow)
        {
            float rb = bias[g.OffBias + row];
            v0 += rb; v1 += rb; v2 += rb; v3 += rb; v4 += rb; v5 += rb; v6 += rb; v7 += rb;
        }
        int at = cBase + row * g.N;
        Store4(c, bias, g, at, colLo, v0, v1, v2, v3);
        Store4(c, bias, g, at, colHi, v4, v5, v6, v7);
    }

    private static void Store4(ArrayView<float> c, ArrayView<float> bias, GemmArgs g, int at, int col, float v0, float v1, float v2,
        float v3)
    {
        if (g.Bias == BiasMode.PerColumn)
        {
            if (col < g.N) v0 += bias[g.OffBias + col];
            if (col + 1 < g.N) v1 += bias[g.OffBias + col + 1];
            if (col + 2 < g.N) v2 += bias[g.OffBias + col + 2];
            if (col + 3 < g.N) v3 += bias[g.OffBias + col + 3];
        }
        if (col < g.N) c[at + col] = v0;
        if (col + 1 < g.N) c[at + col + 1] = v1;
        if (col + 2 < g.N) c[at + col + 2] = v2;
        if (col + 3 < g.N) c[at + col + 3] = v3;
    }
}

/// <summary>Where a GEMM group keeps its four staged tiles ([A 0][A 1][B 0][B 1], double-buffered).</summary>
internal interface IGemmTiles
{
    /// <summary>The group's shared memory for the tiles.</summary>
    ArrayView<float> Allocate();
}

/// <summary>Dynamic shared memory, sized by the launch for its group edge (CUDA and the simulator).</summary>
internal struct DynamicTiles : IGemmTiles
{
    /// <inheritdoc/>
    public readonly ArrayView<float> Allocate() => SharedMemory.GetDynamic<float>();
}

/// <summary>
/// A static array for groups up to 16×16 (k-tiles of 8 rows of 128 + 4 floats). OpenCL needs it: ILGPU's OpenCL code
/// reaches dynamic shared memory through a program-scope pointer that every group overwrites with its own, a race where
/// groups' local memory has different addresses (PoCL on CPUs computed wrong products). Measured in benchmarks/NOTES.md.
/// </summary>
internal struct StaticTiles : IGemmTiles
{
    /// <summary>Floats in the array.</summary>
    public const int Floats = 4 * 8 * (128 + 4);

    /// <inheritdoc/>
    public readonly ArrayView<float> Allocate() => SharedMemory.Allocate<float>(Floats);
}

/// <summary>
/// How <see cref="Kernels.GemmVector{TA, TB}"/> stages an operand: four floats per 16-byte global load, either four
/// consecutive k (<see cref="KRun"/>) or four consecutive rows of A / columns of B (<see cref="MnRun"/>). Element (mn, k)
/// of the operand is x[at + mn·mnStride + k·kStride]; the host picks a run only where its loads are aligned and never
/// straddle an edge (see <c>IlgpuBackend.VectorStage</c>). Tiles in shared memory are [k][mn] with rows of s floats.
/// </summary>
internal interface IGemmStage
{
    /// <summary>Tile position (mn, k) of the e-th run of a bk × bm tile.</summary>
    void Place(int e, int bk, int bm, out int mn, out int k);

    /// <summary>Index of the run at (mn, k) in the operand seen as 16-byte runs.</summary>
    int Index(int at, int mnStride, int kStride, int mn, int k);

    /// <summary>Runs from one run to the same run bk further along k.</summary>
    int Step(int bk, int kStride);

    /// <summary>Writes the run whose first element goes to shared[at] (k·s + mn into its tile).</summary>
    void Store(ArrayView<float> shared, int at, int s, Float4 v);
}

/// <summary>Runs of four consecutive k (A row-major, B column-major): one 16-byte load, four shared stores (one per k row).</summary>
internal struct KRun : IGemmStage
{
    /// <inheritdoc/>
    public readonly void Place(int e, int bk, int bm, out int mn, out int k) { mn = e / (bk / 4); k = 4 * (e - mn * (bk / 4)); }

    /// <inheritdoc/>
    public readonly int Index(int at, int mnStride, int kStride, int mn, int k) => (at + mn * mnStride + k) >> 2;

    /// <inheritdoc/>
    public readonly int Step(int bk, int kStride) => bk >> 2;

    /// <inheritdoc/>
    public readonly void Store(ArrayView<float> shared, int at, int s, Float4 v)
    {
        shared[at] = v.X; shared[at + s] = v.Y; shared[at + 2 * s] = v.Z; shared[at + 3 * s] = v.W;
    }
}

/// <summary>Runs of four consecutive rows of A or columns of B (A column-major, B row-major): one 16-byte load and store.</summary>
internal struct MnRun : IGemmStage
{
    /// <inheritdoc/>
    public readonly void Place(int e, int bk, int bm, out int mn, out int k) { k = e / (bm / 4); mn = 4 * (e - k * (bm / 4)); }

    /// <inheritdoc/>
    public readonly int Index(int at, int mnStride, int kStride, int mn, int k) => (at + mn + k * kStride) >> 2;

    /// <inheritdoc/>
    public readonly int Step(int bk, int kStride) => (bk * kStride) >> 2;

    /// <inheritdoc/>
    public readonly void Store(ArrayView<float> shared, int at, int s, Float4 v) =>
        shared.Cast<Float4>().AsAligned(16)[at >> 2] = v;
}
