using System.Runtime.CompilerServices;
using ILGPU;
using ILGPU.Runtime.Cuda;

namespace DeepSharp.Backends.Ilgpu;

/// <summary>One m16n8 tile of float32 accumulators read out of a thread's registers: c0, c1 at row g, columns 2t and
/// 2t + 1; c2, c3 at row g + 8 (g = lane / 4, t = lane % 4), as PTX's <c>mma</c> lays out its D fragment.</summary>
internal struct Acc4
{
    public float C0, C1, C2, C3;
}

/// <summary>
/// Warp-level tensor-core products (<c>mma.sync.aligned.m16n8k16</c>, float32 accumulation) into the eight m16n8
/// accumulator tiles of a <see cref="Kernels.GemmMma{TMma}"/> warp. The accumulators live in PTX registers the kernel
/// declares (<c>dsacc0</c>…<c>dsacc31</c>, tile i in 4i…4i + 3) and only the A and B fragments are operands: ILGPU stages
/// the operands of its multi-output form (<c>EmitRef</c>) through local memory around every instruction (measured with
/// ptxas: 320 bytes of stack, 96 STL.64 per loop), while plain inputs stay in registers. A's four registers and B's two
/// hold two 16-bit elements each, the lower index in the lower half; tile 4·mi + ni is the warp's rows 16·mi…, columns
/// 8·ni….
/// </summary>
internal interface IMmaKind
{
    void Tile0(uint a0, uint a1, uint a2, uint a3, uint b0, uint b1);
    void Tile1(uint a0, uint a1, uint a2, uint a3, uint b0, uint b1);
    void Tile2(uint a0, uint a1, uint a2, uint a3, uint b0, uint b1);
    void Tile3(uint a0, uint a1, uint a2, uint a3, uint b0, uint b1);
    void Tile4(uint a0, uint a1, uint a2, uint a3, uint b0, uint b1);
    void Tile5(uint a0, uint a1, uint a2, uint a3, uint b0, uint b1);
    void Tile6(uint a0, uint a1, uint a2, uint a3, uint b0, uint b1);
    void Tile7(uint a0, uint a1, uint a2, uint a3, uint b0, uint b1);
}

/// <summary>bfloat16 operands (sm_80 and later).</summary>
internal struct MmaBFloat16 : IMmaKind
{
    private const string Op = "mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 ", Ab = ", {%0,%1,%2,%3}, {%4,%5}, ";

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public readonly void Tile0(uint a0, uint a1, uint a2, uint a3, uint b0, uint b1) =>
        CudaAsm.Emit(Op + "{dsacc0,dsacc1,dsacc2,dsacc3}" + Ab + "{dsacc0,dsacc1,dsacc2,dsacc3};", a0, a1, a2, a3, b0, b1);
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public readonly void Tile1(uint a0, uint a1, uint a2, uint a3, uint b0, uint b1) =>
        CudaAsm.Emit(Op + "{dsacc4,dsacc5,dsacc6,dsacc7}" + Ab + "{dsacc4,dsacc5,dsacc6,dsacc7};", a0, a1, a2, a3, b0, b1);
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public readonly void Tile2(uint a0, uint a1, uint a2, uint a3, uint b0, uint b1) =>
        CudaAsm.Emit(Op + "{dsacc8,dsacc9,dsacc10,dsacc11}" + Ab + "{dsacc8,dsacc9,dsacc10,dsacc11};", a0, a1, a2, a3, b0, b1);
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public readonly void Tile3(uint a0, uint a1, uint a2, uint a3, uint b0, uint b1) =>
        CudaAsm.Emit(Op + "{dsacc12,dsacc13,dsacc14,dsacc15}" + Ab + "{dsacc12,dsacc13,dsacc14,dsacc15};", a0, a1, a2, a3, b0, b1);
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public readonly void Tile4(uint a0, uint a1, uint a2, uint a3, uint b0, uint b1) =>
        CudaAsm.Emit(Op + "{dsacc16,dsacc17,dsacc18,dsacc19}" + Ab + "{dsacc16,dsacc17,dsacc18,dsacc19};", a0, a1, a2, a3, b0, b1);
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public readonly void Tile5(uint a0, uint a1, uint a2, uint a3, uint b0, uint b1) =>
        CudaAsm.Emit(Op + "{dsacc20,dsacc21,dsacc22,dsacc23}" + Ab + "{dsacc20,dsacc21,dsacc22,dsacc23};", a0, a1, a2, a3, b0, b1);
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public readonly void Tile6(uint a0, uint a1, uint a2, uint a3, uint b0, uint b1) =>
        CudaAsm.Emit(Op + "{dsacc24,dsacc25,dsacc26,dsacc27}" + Ab + "{dsacc24,dsacc25,dsacc26,dsacc27};", a0, a1, a2, a3, b0, b1);
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public readonly void Tile7(uint a0, uint a1, uint a2, uint a3, uint b0, uint b1) =>
        CudaAsm.Emit(Op + "{dsacc28,dsacc29,dsacc30,dsacc31}" + Ab + "{dsacc28,dsacc29,dsacc30,dsacc31};", a0, a1, a2, a3, b0, b1);
}

/// <summary>float16 operands (sm_80 and later).</summary>
internal struct MmaHalf : IMmaKind
{
    private const string Op = "mma.sync.aligned.m16n8k16.row.col.f32.f16.f16.f32 ", Ab = ", {%0,%1,%2,%3}, {%4,%5}, ";

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public readonly void Tile0(uint a0, uint a1, uint a2, uint a3, uint b0, uint b1) =>
        CudaAsm.Emit(Op + "{dsacc0,dsacc1,dsacc2,dsacc3}" + Ab + "{dsacc0,dsacc1,dsacc2,dsacc3};", a0, a1, a2, a3, b0, b1);
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public readonly void Tile1(uint a0, uint a1, uint a2, uint a3, uint b0, uint b1) =>
        CudaAsm.Emit(Op + "{dsacc4,dsacc5,dsacc6,dsacc7}" + Ab + "{dsacc4,dsacc5,dsacc6,dsacc7};", a0, a1, a2, a3, b0, b1);
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public readonly void Tile2(uint a0, uint a1, uint a2, uint a3, uint b0, uint b1) =>
        CudaAsm.Emit(Op + "{dsacc8,dsacc9,dsacc10,dsacc11}" + Ab + "{dsacc8,dsacc9,dsacc10,dsacc11};", a0, a1, a2, a3, b0, b1);
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public readonly void Tile3(uint a0, uint a1, uint a2, uint a3, uint b0, uint b1) =>
        CudaAsm.Emit(Op + "{dsacc12,dsacc13,dsacc14,dsacc15}" + Ab + "{dsacc12,dsacc13,dsacc14,dsacc15};", a0, a1, a2, a3, b0, b1);
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public readonly void Tile4(uint a0, uint a1, uint a2, uint a3, uint b0, uint b1) =>
        CudaAsm.Emit(Op + "{dsacc16,dsacc17,dsacc18,dsacc19}" + Ab + "{dsacc16,dsacc17,dsacc18,dsacc19};", a0, a1, a2, a3, b0, b1);
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public readonly void Tile5(uint a0, uint a1, uint a2, uint a3, uint b0, uint b1) =>
        CudaAsm.Emit(Op + "{dsacc20,dsacc21,dsacc22,dsacc23}" + Ab + "{dsacc20,dsacc21,dsacc22,dsacc23};", a0, a1, a2, a3, b0, b1);
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public readonly void Tile6(uint a0, uint a1, uint a2, uint a3, uint b0, uint b1) =>
        CudaAsm.Emit(Op + "{dsacc24,dsacc25,dsacc26,dsacc27}" + Ab + "{dsacc24,dsacc25,dsacc26,dsacc27};", a0, a1, a2, a3, b0, b1);
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public readonly void Tile7(uint a0, uint a1, uint a2, uint a3, uint b0, uint b1) =>
        CudaAsm.Emit(Op + "{dsacc28,dsacc29,dsacc30,dsacc31}" + Ab + "{dsacc28,dsacc29,dsacc30,dsacc31};", a0, a1, a2, a3, b0, b1);
}

internal static partial class Kernels
{
    /// <summary>Threads per group of <see cref="GemmMma{TMma}"/>: four warps in a 2×2 grid.</summary>
    public const int MmaThreads = 128;

    /// <summary>The block of C a <see cref="GemmMma{TMma}"/> group computes (64×64), and the k-tile it stages (32).</summary>
    public const int MmaTile = 64, MmaK = 32;

    private const int MmaStrideA = MmaK + 8, MmaStrideB = MmaTile + 8; // padded shared rows: no bank conflicts on the reads

    /// <summary>
    /// C [m, n] (float32, dense) = A [m, k] · B [k, n] for 16-bit A and B (dense, row-major, their bits as ushort) on tensor
    /// cores, accumulated in float32: a group of four warps computes a 64×64 block, each warp 32×32 as 2×4 m16n8k16
    /// products per 16 of k. A and B tiles are staged through shared memory (zeros past the operands), then each warp
    /// builds its fragments from it. Launch: grid ⌈n/64⌉·⌈m/64⌉ groups of <see cref="MmaThreads"/> (explicitly grouped);
    /// CUDA only (inline PTX).
    /// </summary>
    public static void GemmMma<TMma>(ArrayView<ushort> a, ArrayView<ushort> b, ArrayView<float> c, int m, int n, int k)
        where TMma : struct, IMmaKind
    {
        var sa = SharedMemory.Allocate<ushort>(MmaTile * MmaStrideA);
        var sb = SharedMemory.Allocate<ushort>(MmaK * MmaStrideB);
        int blocksX = (n + MmaTile - 1) / MmaTile;
        int row0 = Grid.IdxX / blocksX * MmaTile, col0 = Grid.IdxX % blocksX * MmaTile;
        int tid = Group.IdxX, warp = tid / 32, lane = tid % 32, g = lane / 4, t = lane % 4;
        int wm = warp / 2 * 32, wn = warp % 2 * 32; // this warp's 32×32 of the block
        CudaAsm.Emit(".reg .f32 dsacc<32>;"); // function scope: the accumulators of the eight tiles, zeroed
        CudaAsm.Emit(ZeroAccumulators);
        for (int k0 = 0; k0 < k; k0 += MmaK)
        {
            for (int i = tid; i < MmaTile * MmaK; i += MmaThreads)
            {
                int r = i / MmaK, kk = i % MmaK;
                sa[r * MmaStrideA + kk] = row0 + r < m && k0 + kk < k ? a[(long)(row0 + r) * k + k0 + kk] : (ushort)0;
                int kr = i / MmaTile, cc = i % MmaTile;
                sb[kr * MmaStrideB + cc] = k0 + kr < k && col0 + cc < n ? b[(long)(k0 + kr) * n + col0 + cc] : (ushort)0;
            }
            Group.Barrier();
            for (int ks = 0; ks < MmaK; ks += 16)
            {
                int ra = (wm + g) * MmaStrideA + ks + 2 * t; // A fragments: rows g and g + 8, columns 2t… and 2t + 8…
                uint a00 = Pair(sa, ra), a01 = Pair(sa, ra + 8 * MmaStrideA);
                uint a02 = Pair(sa, ra + 8), a03 = Pair(sa, ra + 8 * MmaStrideA + 8);
                ra += 16 * MmaStrideA;
                uint a10 = Pair(sa, ra), a11 = Pair(sa, ra + 8 * MmaStrideA);
                uint a12 = Pair(sa, ra + 8), a13 = Pair(sa, ra + 8 * MmaStrideA + 8);
                int rb = (ks + 2 * t) * MmaStrideB + wn + g; // B fragments: rows 2t, 2t + 1 and 2t + 8, 2t + 9 of column g
                WarpTiles<TMma>(a00, a01, a02, a03, a10, a11, a12, a13,
                    PairB(sb, rb), PairB(sb, rb + 8 * MmaStrideB), PairB(sb, rb + 8), PairB(sb, rb + 8 + 8 * MmaStrideB),
                    PairB(sb, rb + 16), PairB(sb, rb + 16 + 8 * MmaStrideB), PairB(sb, rb + 24), PairB(sb, rb + 24 + 8 * MmaStrideB));
            }
            Group.Barrier();
        }
        StoreWarpTiles(c, row0 + wm + g, col0 + wn + 2 * t, m, n);
    }

    /// <summary>One k-step of a warp: its two m16 rows of A fragments times four n8 columns of B fragments, into the eight
    /// accumulator tiles (tile 4·mi + ni).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void WarpTiles<TMma>(uint a00, uint a01, uint a02, uint a03, uint a10, uint a11, uint a12, uint a13,
        uint b00, uint b01, uint b10, uint b11, uint b20, uint b21, uint b30, uint b31) where TMma : struct, IMmaKind
    {
        var mma = default(TMma);
        mma.Tile0(a00, a01, a02, a03, b00, b01); mma.Tile4(a10, a11, a12, a13, b00, b01);
        mma.Tile1(a00, a01, a02, a03, b10, b11); mma.Tile5(a10, a11, a12, a13, b10, b11);
        mma.Tile2(a00, a01, a02, a03, b20, b21); mma.Tile6(a10, a11, a12, a13, b20, b21);
        mma.Tile3(a00, a01, a02, a03, b30, b31); mma.Tile7(a10, a11, a12, a13, b30, b31);
    }

    /// <summary>Writes a warp's eight accumulator tiles: this thread's rows from <paramref name="r0"/> (the second m-tile 16
    /// further), columns from <paramref name="cn"/> (each n-tile 8 further), inside [m, n].</summary>
    private static void StoreWarpTiles(ArrayView<float> c, int r0, int cn, int m, int n)
    {
        StoreTile(c, Accumulators0(), r0, cn, m, n); StoreTile(c, Accumulators1(), r0, cn + 8, m, n);
        StoreTile(c, Accumulators2(), r0, cn + 16, m, n); StoreTile(c, Accumulators3(), r0, cn + 24, m, n);
        StoreTile(c, Accumulators4(), r0 + 16, cn, m, n); StoreTile(c, Accumulators5(), r0 + 16, cn + 8, m, n);
        StoreTile(c, Accumulators6(), r0 + 16, cn + 16, m, n); StoreTile(c, Accumulators7(), r0 + 16, cn + 24, m, n);
    }

    /// <summary>Two neighbouring 16-bit elements as one register, the first in the lower half.</summary>
    private static uint Pair(ArrayView<ushort> s, int i) => s[i] | (uint)s[i + 1] << 16;

    /// <summary>Two elements of one column of B, <see cref="MmaStrideB"/> apart, as one register (the upper row in the lower
    /// half).</summary>
    private static uint PairB(ArrayView<ushort> s, int i) => s[i] | (uint)s[i + MmaStrideB] << 16;

    /// <summary>Writes one m16n8 accumulator tile whose thread-owned rows start at <paramref name="r"/> (and r + 8) and
    /// columns at <paramref name="col"/>, col + 1, inside [m, n].</summary>
    private static void StoreTile(ArrayView<float> c, Acc4 acc, int r, int col, int m, int n)
    {
        if (r < m)
        {
            if (col < n) c[(long)r * n + col] = acc.C0;
            if (col + 1 < n) c[(long)r * n + col + 1] = acc.C1;
        }
        if (r + 8 < m)
        {
            if (col < n) c[(long)(r + 8) * n + col] = acc.C2;
            if (col + 1 < n) c[(long)(r + 8) * n + col + 1] = acc.C3;
        }
    }

    /// <summary>Zeroes the 32 accumulator registers.</summary>
    private const string ZeroAccumulators =
        "mov.b32 dsacc0, 0; mov.b32 dsacc1, 0; mov.b32 dsacc2, 0; mov.b32 dsacc3, 0; mov.b32 dsacc4, 0; mov.b32 dsacc5, 0; " +
        "mov.b32 dsacc6, 0; mov.b32 dsacc7, 0; mov.b32 dsacc8, 0; mov.b32 dsacc9, 0; mov.b32 dsacc10, 0; mov.b32 dsacc11, 0; " +
        "mov.b32 dsacc12, 0; mov.b32 dsacc13, 0; mov.b32 dsacc14, 0; mov.b32 dsacc15, 0; mov.b32 dsacc16, 0; mov.b32 dsacc17, 0; " +
        "mov.b32 dsacc18, 0; mov.b32 dsacc19, 0; mov.b32 dsacc20, 0; mov.b32 dsacc21, 0; mov.b32 dsacc22, 0; mov.b32 dsacc23, 0; " +
        "mov.b32 dsacc24, 0; mov.b32 dsacc25, 0; mov.b32 dsacc26, 0; mov.b32 dsacc27, 0; mov.b32 dsacc28, 0; mov.b32 dsacc29, 0; " +
        "mov.b32 dsacc30, 0; mov.b32 dsacc31, 0; ";

    /// <summary>Tile i's accumulators (registers dsacc4i…4i + 3), read once after the k loop.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Acc4 Accumulators0()
    {
        CudaAsm.Emit("mov.b32 %0, dsacc0;", out float c0);
        CudaAsm.Emit("mov.b32 %0, dsacc1;", out float c1);
        CudaAsm.Emit("mov.b32 %0, dsacc2;", out float c2);
        CudaAsm.Emit("mov.b32 %0, dsacc3;", out float c3);
        return new Acc4 { C0 = c0, C1 = c1, C2 = c2, C3 = c3 };
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Acc4 Accumulators1()
    {
        CudaAsm.Emit("mov.b32 %0, dsacc4;", out float c0);
        CudaAsm.Emit("mov.b32 %0, dsacc5;", out float c1);
        CudaAsm.Emit("mov.b32 %0, dsacc6;", out float c2);
        CudaAsm.Emit("mov.b32 %0, dsacc7;", out float c3);
        return new Acc4 { C0 = c0, C1 = c1, C2 = c2, C3 = c3 };
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Acc4 Accumulators2()
    {
        CudaAsm.Emit("mov.b32 %0, dsacc8;", out float c0);
        CudaAsm.Emit("mov.b32 %0, dsacc9;", out float c1);
        CudaAsm.Emit("mov.b32 %0, dsacc10;", out float c2);
        CudaAsm.Emit("mov.b32 %0, dsacc11;", out float c3);
        return new Acc4 { C0 = c0, C1 = c1, C2 = c2, C3 = c3 };
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Acc4 Accumulators3()
    {
        CudaAsm.Emit("mov.b32 %0, dsacc12;", out float c0);
        CudaAsm.Emit("mov.b32 %0, dsacc13;", out float c1);
        CudaAsm.Emit("mov.b32 %0, dsacc14;", out float c2);
        CudaAsm.Emit("mov.b32 %0, dsacc15;", out float c3);
        return new Acc4 { C0 = c0, C1 = c1, C2 = c2, C3 = c3 };
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Acc4 Accumulators4()
    {
        CudaAsm.Emit("mov.b32 %0, dsacc16;", out float c0);
        CudaAsm.Emit("mov.b32 %0, dsacc17;", out float c1);
        CudaAsm.Emit("mov.b32 %0, dsacc18;", out float c2);
        CudaAsm.Emit("mov.b32 %0, dsacc19;", out float c3);
        return new Acc4 { C0 = c0, C1 = c1, C2 = c2, C3 = c3 };
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Acc4 Accumulators5()
    {
        CudaAsm.Emit("mov.b32 %0, dsacc20;", out float c0);
        CudaAsm.Emit("mov.b32 %0, dsacc21;", out float c1);
        CudaAsm.Emit("mov.b32 %0, dsacc22;", out float c2);
        CudaAsm.Emit("mov.b32 %0, dsacc23;", out float c3);
        return new Acc4 { C0 = c0, C1 = c1, C2 = c2, C3 = c3 };
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Acc4 Accumulators6()
    {
        CudaAsm.Emit("mov.b32 %0, dsacc24;", out float c0);
        CudaAsm.Emit("mov.b32 %0, dsacc25;", out float c1);
        CudaAsm.Emit("mov.b32 %0, dsacc26;", out float c2);
        CudaAsm.Emit("mov.b32 %0, dsacc27;", out float c3);
        return new Acc4 { C0 = c0, C1 = c1, C2 = c2, C3 = c3 };
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Acc4 Accumulators7()
    {
        CudaAsm.Emit("mov.b32 %0, dsacc28;", out float c0);
        CudaAsm.Emit("mov.b32 %0, dsacc29;", out float c1);
        CudaAsm.Emit("mov.b32 %0, dsacc30;", out float c2);
        CudaAsm.Emit("mov.b32 %0, dsacc31;", out float c3);
        return new Acc4 { C0 = c0, C1 = c1, C2 = c2, C3 = c3 };
    }
}
