using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using V = System.Runtime.Intrinsics.Vector256<float>;

namespace DeepSharp.Backends.Cpu;

// Winograd's weight transforms (CpuBackend.Winograd.cs): U = G w Gᵀ for every filter, into plain blocks or straight into
// the blocked GEMM's panels, and the weight's gradient back, Gᵀ dU G; eight filters at a time in AVX2 registers.
internal sealed partial class CpuBackend
{
    /// <summary>U[ξ, o, c] = (G w[o, c] Gᵀ)[ξ] for w [O, C, 3, 3]; with <paramref name="flip"/>, U[ξ, c, o] = (G w'[c, o] Gᵀ)[ξ]
    /// for the flipped and transposed weight w'[c, o, i, j] = w[o, c, 2 − i, 2 − j] (the input's gradient). Eight pairs at a
    /// time (transposed in registers), blocks of 64 pairs through a small buffer and out as (m + 2)² runs of 64 floats.</summary>
    private static unsafe void TransformWeights(float* w, float* u, int o, int c, bool flip, int m)
    {
        const int Block = 64;
        int pairs = o * c, blocks = (pairs + Block - 1) / Block, cols = flip ? o : c;
        CpuParallel.For(blocks, Block * 64, (lo, hi) =>
        {
            float* f = stackalloc float[72]; // f[8i + l]: value i of lane l's filter (row-major 3×3)
            float* buf = stackalloc float[36 * Block];
            for (int bl = lo; bl < hi; bl++)
            {
                int k0 = bl * Block, count = Math.Min(Block, pairs - k0);
                int r = k0 / cols, q = k0 - r * cols; // U's row and column of pair k0 + k, stepped along
                for (int k = 0; k < count; k += 8)
                {
                    long step = flip ? c : 1; // source pairs of consecutive lanes within one row of U
                    if (count - k >= 8 && q + 8 <= cols)
                    {
                        float* src = w + (flip ? (long)q * c + r : (long)r * c + q) * 9;
                        Transpose8x8(src, 9 * step, f, 8);
                        for (int l = 0; l < 8; l++) f[64 + l] = src[9 * step * l + 8];
                        if ((q += 8) == cols) { q = 0; r++; }
                    }
                    else
                        for (int l = 0; l < 8; l++) // the last pair again past the end
                        {
                            float* src = w + (flip ? (long)q * c + r : (long)r * c + q) * 9;
                            for (int i = 0; i < 9; i++) f[8 * i + l] = src[i];
                            if (k + l + 1 < count && ++q == cols) { q = 0; r++; }
                        }
                    TransformEight(f, flip, m, buf + k, Block);
                }
                for (int xi = 0; xi < (m + 2) * (m + 2); xi++)
                    Buffer.MemoryCopy(buf + xi * Block, u + (long)xi * pairs + k0, 4L * count, 4L * count);
            }
        });
    }

    /// <summary>The transformed points of eight filters (f[8i + l]: value i of lane l's 3×3 filter, read flipped when
    /// <paramref name="flip"/>): t = G f down the columns, then t Gᵀ along the rows, point αi + j stored at d + (αi + j)·stride
    /// (α = m + 2).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static unsafe void TransformEight(float* f, bool flip, int m, float* d, long stride)
    {
        V F(int i) => Vector256.Load(f + 8 * (flip ? 8 - i : i));
        if (m == 4)
        {
            G6(F(0), F(3), F(6), out var t00, out var t10, out var t20, out var t30, out var t40, out var t50);
            G6(F(1), F(4), F(7), out var t01, out var t11, out var t21, out var t31, out var t41, out var t51);
            G6(F(2), F(5), F(8), out var t02, out var t12, out var t22, out var t32, out var t42, out var t52);
            G6(t00, t01, t02, d, stride);
            G6(t10, t11, t12, d + 6 * stride, stride);
            G6(t20, t21, t22, d + 12 * stride, stride);
            G6(t30, t31, t32, d + 18 * stride, stride);
            G6(t40, t41, t42, d + 24 * stride, stride);
            G6(t50, t51, t52, d + 30 * stride, stride);
            return;
        }
        G4(F(0), F(3), F(6), out var s00, out var s10, out var s20, out var s30);
        G4(F(1), F(4), F(7), out var s01, out var s11, out var s21, out var s31);
        G4(F(2), F(5), F(8), out var s02, out var s12, out var s22, out var s32);
        G4(s00, s01, s02, d, stride);
        G4(s10, s11, s12, d + 4 * stride, stride);
        G4(s20, s21, s22, d + 8 * stride, stride);
        G4(s30, s31, s32, d + 12 * stride, stride);
    }

    /// <summary>F(2×2, 3×3)'s G (f0, f1, f2) = (f0, (f0 + f1 + f2)/2, (f0 − f1 + f2)/2, f2).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void G4(V f0, V f1, V f2, out V d0, out V d1, out V d2, out V d3)
    {
        V even = f0 + f2, half = Vector256.Create(0.5f);
        d0 = f0;
        d1 = (even + f1) * half;
        d2 = (even - f1) * half;
        d3 = f2;
    }

    /// <summary><see cref="G4(V, V, V, out V, out V, out V, out V)"/> stored <paramref name="stride"/> floats apart.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static unsafe void G4(V f0, V f1, V f2, float* d, long stride)
    {
        G4(f0, f1, f2, out var d0, out var d1, out var d2, out var d3);
        Vector256.Store(d0, d);
        Vector256.Store(d1, d + stride);
        Vector256.Store(d2, d + 2 * stride);
        Vector256.Store(d3, d + 3 * stride);
    }

    /// <summary>G (f0, f1, f2) for G's rows (1/4, 0, 0), −(1, 1, 1)/6, −(1, −1, 1)/6, (1, 2, 4)/24, (1, −2, 4)/24,
    /// (0, 0, 1).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void G6(V f0, V f1, V f2, out V d0, out V d1, out V d2, out V d3, out V d4, out V d5)
    {
        V even = f0 + f2, near = Fma3(Vector256.Create(4f), f2, f0), sixth = Vector256.Create(-1f / 6), f12 = f1 + f1;
        V twentyFourth = Vector256.Create(1f / 24);
        d0 = Vector256.Create(0.25f) * f0;
        d1 = (even + f1) * sixth;
        d2 = (even - f1) * sixth;
        d3 = (near + f12) * twentyFourth;
        d4 = (near - f12) * twentyFourth;
        d5 = f2;
    }

    /// <summary><see cref="G6(V, V, V, out V, out V, out V, out V, out V, out V)"/> stored <paramref name="stride"/> floats
    /// apart.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static unsafe void G6(V f0, V f1, V f2, float* d, long stride)
    {
        G6(f0, f1, f2, out var d0, out var d1, out var d2, out var d3, out var d4, out var d5);
        Vector256.Store(d0, d);
        Vector256.Store(d1, d + stride);
        Vector256.Store(d2, d + 2 * stride);
        Vector256.Store(d3, d + 3 * stride);
        Vector256.Store(d4, d + 4 * stride);
        Vector256.Store(d5, d + 5 * stride);
    }

    /// <summary><see cref="TransformWeights"/> written straight into the blocked GEMM's 8-row panels (<see cref="PackAllA"/>'s
    /// layout, block ξ at ξ·<paramref name="size"/>): eight consecutive rows of U at one column per step, so each block
    /// gets one 8-float store; rows past the end are zeros.</summary>
    private static unsafe void TransformWeightsPacked(float* w, float* packed, long size, int o, int c, bool flip, int mTile)
    {
        int m = flip ? c : o, k = flip ? o : c, panels = (m + 7) / 8;
        var (blocks, height, _) = RowBlocks(m);
        long laneStride = flip ? 9 : 9L * c; // lanes are consecutive rows of U: c (flipped) or o
        CpuParallel.For(panels * k, 64 * (mTile + 2) * (mTile + 2) * 8, (lo, hi) =>
        {
            float* f = stackalloc float[72]; // f[8i + l]: value i of lane l's filter (row-major 3×3)
            for (int unit = lo; unit < hi; unit++)
            {
                int i0 = unit / k * 8, p = unit % k, rows = Math.Min(8, m - i0);
                float* src = w + (flip ? (long)p * c + i0 : (long)i0 * c + p) * 9;
                if (rows == 8)
                {
                    Transpose8x8(src, laneStride, f, 8);
                    for (int l = 0; l < 8; l++) f[64 + l] = src[laneStride * l + 8];
                }
                else
                    for (int l = 0; l < 8; l++)
                        for (int i = 0; i < 9; i++) f[8 * i + l] = l < rows ? src[laneStride * l + i] : 0f;
                int kb = p / KC, mb = i0 / height, kc = Math.Min(KC, k - kb * KC);
                float* d = packed + ((long)kb * blocks + mb) * height * KC + (long)(i0 - mb * height) * kc + (p - kb * KC) * 8;
                TransformEight(f, flip, mTile, d, size); // block ξ at ξ·size
            }
        });
    }

    /// <summary>dw[k] = Gᵀ du[·, k] G (3×3 from α×α, α = m + 2) for each of the <paramref name="pairs"/> (o, c) pairs of du
    /// [α², pairs], eight pairs at a time, 64 at a time through a small buffer (the α² planes of a large weight thrash the
    /// cache).</summary>
    private static unsafe void WeightsBack(float* du, float* dw, int pairs, int m)
    {
        const int Block = 64;
        int alpha = m + 2, points = alpha * alpha;
        V* t = stackalloc V[18];
        V* f = stackalloc V[9];
        float* buf = stackalloc float[36 * Block];
        for (int k0 = 0; k0 < pairs; k0 += Block)
        {
            int count = Math.Min(Block, pairs - k0);
            for (int xi = 0; xi < points; xi++) Buffer.MemoryCopy(du + (long)xi * pairs + k0, buf + xi * Block, 4L * count, 4L * count);
            for (int k = 0; k < count; k += 8)
            {
                V U(int i, int j) => Vector256.Load(buf + (alpha * i + j) * Block + k);
                for (int j = 0; j < alpha; j++) // Gᵀ down the columns: t [3, α]
                    if (m == 4) GT6(U(0, j), U(1, j), U(2, j), U(3, j), U(4, j), U(5, j), t + j, alpha);
                    else GT4(U(0, j), U(1, j), U(2, j), U(3, j), t + j, alpha);
                for (int i = 0; i < 3; i++) // then along the rows
                {
                    V* ti = t + alpha * i;
                    if (m == 4) GT6(ti[0], ti[1], ti[2], ti[3], ti[4], ti[5], f + 3 * i, 1);
                    else GT4(ti[0], ti[1], ti[2], ti[3], f + 3 * i, 1);
                }
                float* lanes = (float*)f; // f[i] lane l = dw of pair k0 + k + l, entry i
                for (int l = 0; l < Math.Min(8, count - k); l++)
                    for (int i = 0; i < 9; i++) dw[(long)(k0 + k + l) * 9 + i] = lanes[8 * i + l];
            }
        }
    }

    /// <summary>F(2×2, 3×3)'s Gᵀ (u0 … u3) = (u0 + (u1 + u2)/2, (u1 − u2)/2, (u1 + u2)/2 + u3), written
    /// <paramref name="stride"/> vectors apart.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static unsafe void GT4(V u0, V u1, V u2, V u3, V* d, int stride)
    {
        V half = Vector256.Create(0.5f), s12 = (u1 + u2) * half;
        d[0] = u0 + s12;
        d[stride] = (u1 - u2) * half;
        d[2 * stride] = s12 + u3;
    }

    /// <summary>Gᵀ (u0 … u5): (u0/4 − (u1 + u2)/6 + (u3 + u4)/24, (u2 − u1)/6 + (u3 − u4)/12,
    /// (u3 + u4 − u1 − u2)/6 + u5), written <paramref name="stride"/> vectors apart.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static unsafe void GT6(V u0, V u1, V u2, V u3, V u4, V u5, V* d, int stride)
    {
        V s12 = u1 + u2, s34 = u3 + u4, sixth = Vector256.Create(1f / 6);
        d[0] = Vector256.Create(0.25f) * u0 - s12 * sixth + s34 * Vector256.Create(1f / 24);
        d[stride] = (u2 - u1) * sixth + (u3 - u4) * Vector256.Create(1f / 12);
        d[2 * stride] = (s34 - s12) * sixth + u5;
    }
}
