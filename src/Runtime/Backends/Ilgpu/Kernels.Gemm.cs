using DeepSharp.Backends;
using ILGPU;
using ILGPU.Runtime;

namespace DeepSharp.Backends.Ilgpu;

/// <summary>Four floats loaded or stored as one 16-byte access (PTX <c>ld.v4.f32</c> on an aligned view).</summary>
public struct Float4
{
    /// <summary>Components.</summary>
    public float X, Y, Z, W;
}

public static partial class Kernels
{
    /// <summary>
    /// Shared-memory GEMM, C[batch] = A[batch]·B[batch] (+ bias[col] or bias[row], see <see cref="GemmArgs.HasBias"/>), 8×8 outputs per
    /// thread. A T×T group computes an 8T×8T block of C: thread (tx, ty) owns rows ty·4…+3 and 4T+ty·4…+3 and the same split of
    /// columns, so its operands come from shared memory as four 16-byte loads per k (LDS.128) feeding 64 FMAs. Each k-tile
    /// is T/2 deep, so every thread stages exactly four elements of A and four of B per tile whatever T is (16 on CUDA:
    /// 128×128×8 tiles; 4 on the CPU simulator). Tiles are double-buffered: the next tile is read from global memory into
    /// registers before the current one is multiplied and stored after it, one barrier per tile. Strided operands
    /// (transposed views) are read through their strides, with the staging order chosen so neighbouring threads read
    /// neighbouring addresses. The 8×8 body is unrolled by hand (generated; ILGPU does not unroll loops).
    /// </summary>
    public static void Gemm(ArrayView<float> a, ArrayView<float> b, ArrayView<float> c, ArrayView<float> bias, GemmArgs g)
    {
        int T = Group.DimX, BM = 8 * T, BK = T / 2, S = BM + 4; // S: padded row of a shared tile (kills bank conflicts, keeps 16-byte alignment)
        int tile = BK * S;                                       // floats per staged tile
        var shared = SharedMemory.GetDynamic<float>();           // [A buf 0][A buf 1][B buf 0][B buf 1]
        var shared4 = shared.Cast<Float4>().AsAligned(16);
        int block = Grid.IdxX, bx = block % g.BlocksX, rest = block / g.BlocksX, by = rest % g.BlocksY, batch = rest / g.BlocksY;
        int tx = Group.IdxX, ty = Group.IdxY, tid = ty * T + tx, threads = T * T;
        int row0 = by * BM, col0 = bx * BM;
        int baseA = g.OffA + batch * g.BatchA, baseB = g.OffB + batch * g.BatchB;

        // Staging: element e = tid + p·T² (p < 4) of each tile. For A (BM×BK) neighbours walk k when k is contiguous
        // (ColA == 1) and m otherwise; for B (BK×BN) they walk n when n is contiguous (ColB == 1) and k otherwise.
        bool aRowMajor = g.ColA == 1, bRowMajor = g.ColB == 1;
        int am0 = 0, ak0 = 0, am1 = 0, ak1 = 0, am2 = 0, ak2 = 0, am3 = 0, ak3 = 0;
        int bk0 = 0, bn0 = 0, bk1 = 0, bn1 = 0, bk2 = 0, bn2 = 0, bk3 = 0, bn3 = 0;
        StageIndex(tid, aRowMajor, BK, BM, out am0, out ak0); StageIndex(tid + threads, aRowMajor, BK, BM, out am1, out ak1);
        StageIndex(tid + 2 * threads, aRowMajor, BK, BM, out am2, out ak2); StageIndex(tid + 3 * threads, aRowMajor, BK, BM, out am3, out ak3);
        StageIndex(tid, !bRowMajor, BK, BM, out bn0, out bk0); StageIndex(tid + threads, !bRowMajor, BK, BM, out bn1, out bk1);
        StageIndex(tid + 2 * threads, !bRowMajor, BK, BM, out bn2, out bk2); StageIndex(tid + 3 * threads, !bRowMajor, BK, BM, out bn3, out bk3);

        float ra0 = LoadA(a, g, baseA, row0 + am0, ak0), ra1 = LoadA(a, g, baseA, row0 + am1, ak1);
        float ra2 = LoadA(a, g, baseA, row0 + am2, ak2), ra3 = LoadA(a, g, baseA, row0 + am3, ak3);
        float rb0 = LoadB(b, g, baseB, bk0, col0 + bn0), rb1 = LoadB(b, g, baseB, bk1, col0 + bn1);
        float rb2 = LoadB(b, g, baseB, bk2, col0 + bn2), rb3 = LoadB(b, g, baseB, bk3, col0 + bn3);
        int sB = 2 * tile;
        shared[ak0 * S + am0] = ra0; shared[ak1 * S + am1] = ra1; shared[ak2 * S + am2] = ra2; shared[ak3 * S + am3] = ra3;
        shared[sB + bk0 * S + bn0] = rb0; shared[sB + bk1 * S + bn1] = rb1; shared[sB + bk2 * S + bn2] = rb2; shared[sB + bk3 * S + bn3] = rb3;
        Group.Barrier();

        float c00 = 0, c01 = 0, c02 = 0, c03 = 0, c04 = 0, c05 = 0, c06 = 0, c07 = 0;
        float c10 = 0, c11 = 0, c12 = 0, c13 = 0, c14 = 0, c15 = 0, c16 = 0, c17 = 0;
        float c20 = 0, c21 = 0, c22 = 0, c23 = 0, c24 = 0, c25 = 0, c26 = 0, c27 = 0;
        float c30 = 0, c31 = 0, c32 = 0, c33 = 0, c34 = 0, c35 = 0, c36 = 0, c37 = 0;
        float c40 = 0, c41 = 0, c42 = 0, c43 = 0, c44 = 0, c45 = 0, c46 = 0, c47 = 0;
        float c50 = 0, c51 = 0, c52 = 0, c53 = 0, c54 = 0, c55 = 0, c56 = 0, c57 = 0;
        float c60 = 0, c61 = 0, c62 = 0, c63 = 0, c64 = 0, c65 = 0, c66 = 0, c67 = 0;
        float c70 = 0, c71 = 0, c72 = 0, c73 = 0, c74 = 0, c75 = 0, c76 = 0, c77 = 0;
        int aLo = ty, aHi = T + ty, bLo = tx, bHi = T + tx; // in Float4 units within a shared row
        int S4 = S / 4, cur = 0;
        for (int k0 = 0; k0 < g.K; k0 += BK)
        {
            bool more = k0 + BK < g.K;
            if (more)
            {
                int kn = k0 + BK;
                ra0 = LoadA(a, g, baseA, row0 + am0, kn + ak0); ra1 = LoadA(a, g, baseA, row0 + am1, kn + ak1);
                ra2 = LoadA(a, g, baseA, row0 + am2, kn + ak2); ra3 = LoadA(a, g, baseA, row0 + am3, kn + ak3);
                rb0 = LoadB(b, g, baseB, kn + bk0, col0 + bn0); rb1 = LoadB(b, g, baseB, kn + bk1, col0 + bn1);
                rb2 = LoadB(b, g, baseB, kn + bk2, col0 + bn2); rb3 = LoadB(b, g, baseB, kn + bk3, col0 + bn3);
            }
            int pa = cur * tile / 4, pb = (2 + cur) * tile / 4;
            for (int k = 0; k < BK; k++)
            {
                var a0 = shared4[pa + aLo]; var a1 = shared4[pa + aHi];
                var b0 = shared4[pb + bLo]; var b1 = shared4[pb + bHi];
                c00 += a0.X * b0.X; c01 += a0.X * b0.Y; c02 += a0.X * b0.Z; c03 += a0.X * b0.W; c04 += a0.X * b1.X; c05 += a0.X * b1.Y; c06 += a0.X * b1.Z; c07 += a0.X * b1.W;
                c10 += a0.Y * b0.X; c11 += a0.Y * b0.Y; c12 += a0.Y * b0.Z; c13 += a0.Y * b0.W; c14 += a0.Y * b1.X; c15 += a0.Y * b1.Y; c16 += a0.Y * b1.Z; c17 += a0.Y * b1.W;
                c20 += a0.Z * b0.X; c21 += a0.Z * b0.Y; c22 += a0.Z * b0.Z; c23 += a0.Z * b0.W; c24 += a0.Z * b1.X; c25 += a0.Z * b1.Y; c26 += a0.Z * b1.Z; c27 += a0.Z * b1.W;
                c30 += a0.W * b0.X; c31 += a0.W * b0.Y; c32 += a0.W * b0.Z; c33 += a0.W * b0.W; c34 += a0.W * b1.X; c35 += a0.W * b1.Y; c36 += a0.W * b1.Z; c37 += a0.W * b1.W;
                c40 += a1.X * b0.X; c41 += a1.X * b0.Y; c42 += a1.X * b0.Z; c43 += a1.X * b0.W; c44 += a1.X * b1.X; c45 += a1.X * b1.Y; c46 += a1.X * b1.Z; c47 += a1.X * b1.W;
                c50 += a1.Y * b0.X; c51 += a1.Y * b0.Y; c52 += a1.Y * b0.Z; c53 += a1.Y * b0.W; c54 += a1.Y * b1.X; c55 += a1.Y * b1.Y; c56 += a1.Y * b1.Z; c57 += a1.Y * b1.W;
                c60 += a1.Z * b0.X; c61 += a1.Z * b0.Y; c62 += a1.Z * b0.Z; c63 += a1.Z * b0.W; c64 += a1.Z * b1.X; c65 += a1.Z * b1.Y; c66 += a1.Z * b1.Z; c67 += a1.Z * b1.W;
                c70 += a1.W * b0.X; c71 += a1.W * b0.Y; c72 += a1.W * b0.Z; c73 += a1.W * b0.W; c74 += a1.W * b1.X; c75 += a1.W * b1.Y; c76 += a1.W * b1.Z; c77 += a1.W * b1.W;
                pa += S4; pb += S4;
            }
            if (more)
            {
                int nxt = (1 - cur) * tile, nb = sB + nxt;
                shared[nxt + ak0 * S + am0] = ra0; shared[nxt + ak1 * S + am1] = ra1; shared[nxt + ak2 * S + am2] = ra2; shared[nxt + ak3 * S + am3] = ra3;
                shared[nb + bk0 * S + bn0] = rb0; shared[nb + bk1 * S + bn1] = rb1; shared[nb + bk2 * S + bn2] = rb2; shared[nb + bk3 * S + bn3] = rb3;
                cur = 1 - cur;
            }
            Group.Barrier();
        }

        int rowLo = row0 + 4 * ty, rowHi = row0 + 4 * T + 4 * ty, colLo = col0 + 4 * tx, colHi = col0 + 4 * T + 4 * tx;
        int cBase = batch * g.M * g.N;
        StoreRow8(c, bias, g, cBase, rowLo + 0, colLo, colHi, c00, c01, c02, c03, c04, c05, c06, c07);
        StoreRow8(c, bias, g, cBase, rowLo + 1, colLo, colHi, c10, c11, c12, c13, c14, c15, c16, c17);
        StoreRow8(c, bias, g, cBase, rowLo + 2, colLo, colHi, c20, c21, c22, c23, c24, c25, c26, c27);
        StoreRow8(c, bias, g, cBase, rowLo + 3, colLo, colHi, c30, c31, c32, c33, c34, c35, c36, c37);
        StoreRow8(c, bias, g, cBase, rowHi + 0, colLo, colHi, c40, c41, c42, c43, c44, c45, c46, c47);
        StoreRow8(c, bias, g, cBase, rowHi + 1, colLo, colHi, c50, c51, c52, c53, c54, c55, c56, c57);
        StoreRow8(c, bias, g, cBase, rowHi + 2, colLo, colHi, c60, c61, c62, c63, c64, c65, c66, c67);
        StoreRow8(c, bias, g, cBase, rowHi + 3, colLo, colHi, c70, c71, c72, c73, c74, c75, c76, c77);
    }

    /// <summary>Tile coordinates of staged element e: (row, k) of an A tile or (column, k) of a B tile; k-fastest when
    /// <paramref name="kFastest"/> (BK consecutive elements per row), else row-fastest (BM per k).</summary>
    private static void StageIndex(int e, bool kFastest, int bk, int bm, out int m, out int k)
    {
        if (kFastest) { m = e / bk; k = e - m * bk; }
        else { k = e / bm; m = e - k * bm; }
    }

    private static float LoadA(ArrayView<float> a, GemmArgs g, int baseA, int row, int k) =>
        row < g.M && k < g.K ? a[baseA + row * g.RowA + k * g.ColA] : 0f;

    private static float LoadB(ArrayView<float> b, GemmArgs g, int baseB, int k, int col) =>
        k < g.K && col < g.N ? b[baseB + k * g.RowB + col * g.ColB] : 0f;

    private static void StoreRow8(ArrayView<float> c, ArrayView<float> bias, GemmArgs g, int cBase, int row, int colLo, int colHi,
        float v0, float v1, float v2, float v3, float v4, float v5, float v6, float v7)
    {
        if (row >= g.M) return;
        if (g.HasBias == 2)
        {
            float rb = bias[g.OffBias + row];
            v0 += rb; v1 += rb; v2 += rb; v3 += rb; v4 += rb; v5 += rb; v6 += rb; v7 += rb;
        }
        int at = cBase + row * g.N;
        Store4(c, bias, g, at, colLo, v0, v1, v2, v3);
        Store4(c, bias, g, at, colHi, v4, v5, v6, v7);
    }

    private static void Store4(ArrayView<float> c, ArrayView<float> bias, GemmArgs g, int at, int col, float v0, float v1, float v2, float v3)
    {
        if (g.HasBias == 1)
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
