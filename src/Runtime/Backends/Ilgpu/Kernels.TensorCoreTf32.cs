using System.Runtime.CompilerServices;
using ILGPU;
using ILGPU.Runtime.Cuda;

namespace DeepSharp.Backends.Ilgpu;

/// <summary>TF32 operands (float32 bits, rounded to 10 fraction bits; sm_80 and later): m16n8k8, the same register counts as
/// the 16-bit kinds, each A and B register one element.</summary>
internal struct MmaTf32 : IMmaKind
{
    private const string Op = "mma.sync.aligned.m16n8k8.row.col.f32.tf32.tf32.f32 ", Ab = ", {%0,%1,%2,%3}, {%4,%5}, ";

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
    private const int Tf32StrideA = MmaK + 4, Tf32StrideB = MmaTile + 8; // padded: the fragment reads hit 32 banks

    /// <summary>
    /// C [m, n] = A [m, k] · B [k, n] for float32 A and B (dense, row-major) on TF32 tensor cores: each operand rounded to
    /// TF32 (10 fraction bits, to nearest with ties away, as cuBLAS's) while staged, products accumulated in float32. The
    /// same blocking as <see cref="GemmMma{TMma}"/>, with m16n8k8 steps: A fragments at rows g and g + 8, columns t and
    /// t + 4; B fragments at rows t and t + 4 of column g. Opt-in (<see cref="Device.AllowTf32"/>): it changes results.
    /// </summary>
    public static void GemmMmaTf32(ArrayView<float> a, ArrayView<float> b, ArrayView<float> c, int m, int n, int k)
    {
        var sa = SharedMemory.Allocate<uint>(MmaTile * Tf32StrideA);
        var sb = SharedMemory.Allocate<uint>(MmaK * Tf32StrideB);
        int blocksX = (n + MmaTile - 1) / MmaTile;
        int row0 = Grid.IdxX / blocksX * MmaTile, col0 = Grid.IdxX % blocksX * MmaTile;
        int tid = Group.IdxX, warp = tid / 32, lane = tid % 32, g = lane / 4, t = lane % 4;
        int wm = warp / 2 * 32, wn = warp % 2 * 32;
        CudaAsm.Emit(".reg .f32 dsacc<32>;");
        CudaAsm.Emit(ZeroAccumulators);
        for (int k0 = 0; k0 < k; k0 += MmaK)
        {
            for (int i = tid; i < MmaTile * MmaK; i += MmaThreads)
            {
                int r = i / MmaK, kk = i % MmaK;
                sa[r * Tf32StrideA + kk] = Tf32(row0 + r < m && k0 + kk < k ? a[(long)(row0 + r) * k + k0 + kk] : 0f);
                int kr = i / MmaTile, cc = i % MmaTile;
                sb[kr * Tf32StrideB + cc] = Tf32(k0 + kr < k && col0 + cc < n ? b[(long)(k0 + kr) * n + col0 + cc] : 0f);
            }
            Group.Barrier();
            for (int ks = 0; ks < MmaK; ks += 8)
            {
                int ra = (wm + g) * Tf32StrideA + ks + t, rb = (ks + t) * Tf32StrideB + wn + g, down = 8 * Tf32StrideA;
                int four = 4 * Tf32StrideB;
                WarpTiles<MmaTf32>(sa[ra], sa[ra + down], sa[ra + 4], sa[ra + down + 4],
                    sa[ra + 2 * down], sa[ra + 3 * down], sa[ra + 2 * down + 4], sa[ra + 3 * down + 4],
                    sb[rb], sb[rb + four], sb[rb + 8], sb[rb + 8 + four], sb[rb + 16], sb[rb + 16 + four], sb[rb + 24], sb[rb + 24 + four]);
            }
            Group.Barrier();
        }
        StoreWarpTiles(c, row0 + wm + g, col0 + wn + 2 * t, m, n);
    }

    /// <summary>A float32 rounded to TF32's 10 fraction bits, to nearest with ties away from zero (PTX's
    /// <c>cvt.rna.tf32.f32</c>); infinities and NaNs as they are. The low 13 bits come out zero.</summary>
    public static uint Tf32(float x)
    {
        uint u = Interop.FloatAsInt(x);
        return (u & 0x7F80_0000u) == 0x7F80_0000u ? u : (u + 0x1000u) & 0xFFFF_E000u;
    }
}
