using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using H = System.Runtime.Intrinsics.Vector128<float>;
using V = System.Runtime.Intrinsics.Vector256<float>;
using W = System.Runtime.Intrinsics.Vector512<float>;

namespace DeepSharp.Backends.Cpu;

// The blocked GEMM's micro-kernels: C[0..mr, 0..nr] (+)= Apanel(6×kc or 8×kc) · Bpanel(kc×w), the accumulators in
// registers, partial tiles written through the caller's tile t (rows × w floats). Not stackalloc: in a method with one
// the accumulators left the registers (see benchmarks/NOTES.md, "Moved from code comments").
internal sealed partial class CpuBackend
{
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static V Fma3(V a, V b, V c) => Fma.IsSupported ? Fma.MultiplyAdd(a, b, c) : a * b + c;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static W Fma512(W a, W b, W c) => Avx512F.IsSupported ? Avx512F.FusedMultiplyAdd(a, b, c) : a * b + c;

    /// <summary>6×16 on Vector256 (w = 16).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)] // SIMD loops: tier-0 code runs them several times slower
    private static unsafe void Micro(int kc, float* a, float* b, float* c, int ldc, int mr, int nr, bool accumulate, float* t)
    {
        V c00 = default, c01 = default, c10 = default, c11 = default, c20 = default, c21 = default;
        V c30 = default, c31 = default, c40 = default, c41 = default, c50 = default, c51 = default;
        for (int p = 0; p < kc; p++, a += MR, b += NR)
        {
            V b0 = Vector256.Load(b), b1 = Vector256.Load(b + 8);
            V x = Vector256.Create(a[0]); c00 = Fma3(x, b0, c00); c01 = Fma3(x, b1, c01);
            x = Vector256.Create(a[1]); c10 = Fma3(x, b0, c10); c11 = Fma3(x, b1, c11);
            x = Vector256.Create(a[2]); c20 = Fma3(x, b0, c20); c21 = Fma3(x, b1, c21);
            x = Vector256.Create(a[3]); c30 = Fma3(x, b0, c30); c31 = Fma3(x, b1, c31);
            x = Vector256.Create(a[4]); c40 = Fma3(x, b0, c40); c41 = Fma3(x, b1, c41);
            x = Vector256.Create(a[5]); c50 = Fma3(x, b0, c50); c51 = Fma3(x, b1, c51);
        }
        Vector256.Store(c00, t); Vector256.Store(c01, t + 8); Vector256.Store(c10, t + 16); Vector256.Store(c11, t + 24);
        Vector256.Store(c20, t + 32); Vector256.Store(c21, t + 40); Vector256.Store(c30, t + 48); Vector256.Store(c31, t + 56);
        Vector256.Store(c40, t + 64); Vector256.Store(c41, t + 72); Vector256.Store(c50, t + 80); Vector256.Store(c51, t + 88);
        Epilogue(t, NR, c, ldc, mr, nr, accumulate);
    }

    /// <summary>6×16 on Vector128 (w = 16, the same panels as <see cref="Micro"/>): twenty-four accumulators, four B vectors
    /// and a broadcast, 29 of Arm64's 32 registers. Each C entry is the same chain of fused multiply-adds as in
    /// <see cref="Micro"/>, so both give the same bits.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)] // SIMD loops: tier-0 code runs them several times slower
    private static unsafe void Micro128(int kc, float* a, float* b, float* c, int ldc, int mr, int nr, bool accumulate, float* t)
    {
        H c00 = default, c01 = default, c02 = default, c03 = default, c10 = default, c11 = default, c12 = default, c13 = default;
        H c20 = default, c21 = default, c22 = default, c23 = default, c30 = default, c31 = default, c32 = default, c33 = default;
        H c40 = default, c41 = default, c42 = default, c43 = default, c50 = default, c51 = default, c52 = default, c53 = default;
        for (int p = 0; p < kc; p++, a += MR, b += NR)
        {
            H b0 = Vector128.Load(b), b1 = Vector128.Load(b + 4), b2 = Vector128.Load(b + 8), b3 = Vector128.Load(b + 12);
            H x = Vector128.Create(a[0]);
            c00 = Simd128.Fma(x, b0, c00); c01 = Simd128.Fma(x, b1, c01); c02 = Simd128.Fma(x, b2, c02); c03 = Simd128.Fma(x, b3, c03);
            x = Vector128.Create(a[1]);
            c10 = Simd128.Fma(x, b0, c10); c11 = Simd128.Fma(x, b1, c11); c12 = Simd128.Fma(x, b2, c12); c13 = Simd128.Fma(x, b3, c13);
            x = Vector128.Create(a[2]);
            c20 = Simd128.Fma(x, b0, c20); c21 = Simd128.Fma(x, b1, c21); c22 = Simd128.Fma(x, b2, c22); c23 = Simd128.Fma(x, b3, c23);
            x = Vector128.Create(a[3]);
            c30 = Simd128.Fma(x, b0, c30); c31 = Simd128.Fma(x, b1, c31); c32 = Simd128.Fma(x, b2, c32); c33 = Simd128.Fma(x, b3, c33);
            x = Vector128.Create(a[4]);
            c40 = Simd128.Fma(x, b0, c40); c41 = Simd128.Fma(x, b1, c41); c42 = Simd128.Fma(x, b2, c42); c43 = Simd128.Fma(x, b3, c43);
            x = Vector128.Create(a[5]);
            c50 = Simd128.Fma(x, b0, c50); c51 = Simd128.Fma(x, b1, c51); c52 = Simd128.Fma(x, b2, c52); c53 = Simd128.Fma(x, b3, c53);
        }
        Row128(t, c00, c01, c02, c03); Row128(t + 16, c10, c11, c12, c13); Row128(t + 32, c20, c21, c22, c23);
        Row128(t + 48, c30, c31, c32, c33); Row128(t + 64, c40, c41, c42, c43); Row128(t + 80, c50, c51, c52, c53);
        Epilogue(t, NR, c, ldc, mr, nr, accumulate);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static unsafe void Row128(float* t, H v0, H v1, H v2, H v3)
    {
        Vector128.Store(v0, t); Vector128.Store(v1, t + 4); Vector128.Store(v2, t + 8); Vector128.Store(v3, t + 12);
    }

    /// <summary>8×32 on Vector512 (w = 32): sixteen accumulators, two B vectors and a broadcast of the 32 registers.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)] // SIMD loops: tier-0 code runs them several times slower
    private static unsafe void Micro512(int kc, float* a, float* b, float* c, int ldc, int mr, int nr, bool accumulate, float* t)
    {
        W c00 = default, c01 = default, c10 = default, c11 = default, c20 = default, c21 = default, c30 = default, c31 = default;
        W c40 = default, c41 = default, c50 = default, c51 = default, c60 = default, c61 = default, c70 = default, c71 = default;
        for (int p = 0; p < kc; p++, a += MR512, b += 2 * NR)
        {
            W b0 = Vector512.Load(b), b1 = Vector512.Load(b + 16);
            W x = Vector512.Create(a[0]); c00 = Fma512(x, b0, c00); c01 = Fma512(x, b1, c01);
            x = Vector512.Create(a[1]); c10 = Fma512(x, b0, c10); c11 = Fma512(x, b1, c11);
            x = Vector512.Create(a[2]); c20 = Fma512(x, b0, c20); c21 = Fma512(x, b1, c21);
            x = Vector512.Create(a[3]); c30 = Fma512(x, b0, c30); c31 = Fma512(x, b1, c31);
            x = Vector512.Create(a[4]); c40 = Fma512(x, b0, c40); c41 = Fma512(x, b1, c41);
            x = Vector512.Create(a[5]); c50 = Fma512(x, b0, c50); c51 = Fma512(x, b1, c51);
            x = Vector512.Create(a[6]); c60 = Fma512(x, b0, c60); c61 = Fma512(x, b1, c61);
            x = Vector512.Create(a[7]); c70 = Fma512(x, b0, c70); c71 = Fma512(x, b1, c71);
        }
        if (mr == MR512 && nr == 2 * NR)
        {
            // A whole tile straight into C (no round trip through t; see benchmarks/NOTES.md, "Moved from code comments").
            Put(c00, c, accumulate); Put(c01, c + 16, accumulate); Put(c10, c + ldc, accumulate); Put(c11, c + ldc + 16, accumulate);
            c += 2 * ldc;
            Put(c20, c, accumulate); Put(c21, c + 16, accumulate); Put(c30, c + ldc, accumulate); Put(c31, c + ldc + 16, accumulate);
            c += 2 * ldc;
            Put(c40, c, accumulate); Put(c41, c + 16, accumulate); Put(c50, c + ldc, accumulate); Put(c51, c + ldc + 16, accumulate);
            c += 2 * ldc;
            Put(c60, c, accumulate); Put(c61, c + 16, accumulate); Put(c70, c + ldc, accumulate); Put(c71, c + ldc + 16, accumulate);
            return;
        }
        Vector512.Store(c00, t); Vector512.Store(c01, t + 16); Vector512.Store(c10, t + 32); Vector512.Store(c11, t + 48);
        Vector512.Store(c20, t + 64); Vector512.Store(c21, t + 80); Vector512.Store(c30, t + 96); Vector512.Store(c31, t + 112);
        Vector512.Store(c40, t + 128); Vector512.Store(c41, t + 144); Vector512.Store(c50, t + 160); Vector512.Store(c51, t + 176);
        Vector512.Store(c60, t + 192); Vector512.Store(c61, t + 208); Vector512.Store(c70, t + 224); Vector512.Store(c71, t + 240);
        Epilogue(t, 2 * NR, c, ldc, mr, nr, accumulate);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static unsafe void Put(W v, float* dst, bool accumulate)
    {
        if (accumulate) v += Vector512.Load(dst);
        Vector512.Store(v, dst);
    }

    /// <summary>The tile t (rows w apart) into C: rows 0..mr, columns 0..nr, added to C's values when accumulating.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)] // SIMD loops: tier-0 code runs them several times slower
    private static unsafe void Epilogue(float* t, int w, float* c, int ldc, int mr, int nr, bool accumulate)
    {
        for (int r = 0; r < mr; r++)
        {
            float* crow = c + (long)r * ldc, trow = t + r * w;
            int j = 0;
            if (Wide)
                for (; j <= nr - 8; j += 8)
                {
                    V v = Vector256.Load(trow + j);
                    if (accumulate) v += Vector256.Load(crow + j);
                    Vector256.Store(v, crow + j);
                }
            for (; j <= nr - 4; j += 4)
            {
                H v = Vector128.Load(trow + j);
                if (accumulate) v += Vector128.Load(crow + j);
                Vector128.Store(v, crow + j);
            }
            for (; j < nr; j++) crow[j] = accumulate ? crow[j] + trow[j] : trow[j];
        }
    }

    /// <summary>c[r, s] = Σ_p a[r·lda + p]·b[s·ldb + p] for r &lt; 4, s &lt; 3: twelve accumulators, seven loads per twelve FMAs.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)] // SIMD loops: tier-0 code runs them several times slower
    private static unsafe void Dot4x3(float* a, int lda, float* b, int ldb, int k, float* c, int ldc)
    {
        V s00 = default, s01 = default, s02 = default, s10 = default, s11 = default, s12 = default;
        V s20 = default, s21 = default, s22 = default, s30 = default, s31 = default, s32 = default;
        float* a1 = a + lda, a2 = a1 + lda, a3 = a2 + lda, b1 = b + ldb, b2 = b1 + ldb;
        int p = 0;
        for (; p <= k - 8; p += 8)
        {
            V y0 = Vector256.Load(b + p), y1 = Vector256.Load(b1 + p), y2 = Vector256.Load(b2 + p);
            V x = Vector256.Load(a + p); s00 = Fma3(x, y0, s00); s01 = Fma3(x, y1, s01); s02 = Fma3(x, y2, s02);
            x = Vector256.Load(a1 + p); s10 = Fma3(x, y0, s10); s11 = Fma3(x, y1, s11); s12 = Fma3(x, y2, s12);
            x = Vector256.Load(a2 + p); s20 = Fma3(x, y0, s20); s21 = Fma3(x, y1, s21); s22 = Fma3(x, y2, s22);
            x = Vector256.Load(a3 + p); s30 = Fma3(x, y0, s30); s31 = Fma3(x, y1, s31); s32 = Fma3(x, y2, s32);
        }
        float* r0 = c, r1 = c + ldc, r2 = r1 + ldc, r3 = r2 + ldc;
        r0[0] = Vector256.Sum(s00); r0[1] = Vector256.Sum(s01); r0[2] = Vector256.Sum(s02);
        r1[0] = Vector256.Sum(s10); r1[1] = Vector256.Sum(s11); r1[2] = Vector256.Sum(s12);
        r2[0] = Vector256.Sum(s20); r2[1] = Vector256.Sum(s21); r2[2] = Vector256.Sum(s22);
        r3[0] = Vector256.Sum(s30); r3[1] = Vector256.Sum(s31); r3[2] = Vector256.Sum(s32);
        AddTail4x3(a, lda, b, ldb, p, k, c, ldc);
    }

    /// <summary><see cref="Dot4x3"/> on Vector512.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)] // SIMD loops: tier-0 code runs them several times slower
    private static unsafe void Dot4x3W(float* a, int lda, float* b, int ldb, int k, float* c, int ldc)
    {
        W s00 = default, s01 = default, s02 = default, s10 = default, s11 = default, s12 = default;
        W s20 = default, s21 = default, s22 = default, s30 = default, s31 = default, s32 = default;
        float* a1 = a + lda, a2 = a1 + lda, a3 = a2 + lda, b1 = b + ldb, b2 = b1 + ldb;
        int p = 0;
        for (; p <= k - 16; p += 16)
        {
            W y0 = Vector512.Load(b + p), y1 = Vector512.Load(b1 + p), y2 = Vector512.Load(b2 + p);
            W x = Vector512.Load(a + p); s00 = Fma512(x, y0, s00); s01 = Fma512(x, y1, s01); s02 = Fma512(x, y2, s02);
            x = Vector512.Load(a1 + p); s10 = Fma512(x, y0, s10); s11 = Fma512(x, y1, s11); s12 = Fma512(x, y2, s12);
            x = Vector512.Load(a2 + p); s20 = Fma512(x, y0, s20); s21 = Fma512(x, y1, s21); s22 = Fma512(x, y2, s22);
            x = Vector512.Load(a3 + p); s30 = Fma512(x, y0, s30); s31 = Fma512(x, y1, s31); s32 = Fma512(x, y2, s32);
        }
        float* r0 = c, r1 = c + ldc, r2 = r1 + ldc, r3 = r2 + ldc;
        r0[0] = Vector512.Sum(s00); r0[1] = Vector512.Sum(s01); r0[2] = Vector512.Sum(s02);
        r1[0] = Vector512.Sum(s10); r1[1] = Vector512.Sum(s11); r1[2] = Vector512.Sum(s12);
        r2[0] = Vector512.Sum(s20); r2[1] = Vector512.Sum(s21); r2[2] = Vector512.Sum(s22);
        r3[0] = Vector512.Sum(s30); r3[1] = Vector512.Sum(s31); r3[2] = Vector512.Sum(s32);
        AddTail4x3(a, lda, b, ldb, p, k, c, ldc);
    }

    /// <summary><see cref="Dot4x3"/> on Vector128.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)] // SIMD loops: tier-0 code runs them several times slower
    private static unsafe void Dot4x3H(float* a, int lda, float* b, int ldb, int k, float* c, int ldc)
    {
        H s00 = default, s01 = default, s02 = default, s10 = default, s11 = default, s12 = default;
        H s20 = default, s21 = default, s22 = default, s30 = default, s31 = default, s32 = default;
        float* a1 = a + lda, a2 = a1 + lda, a3 = a2 + lda, b1 = b + ldb, b2 = b1 + ldb;
        int p = 0;
        for (; p <= k - 4; p += 4)
        {
            H y0 = Vector128.Load(b + p), y1 = Vector128.Load(b1 + p), y2 = Vector128.Load(b2 + p);
            H x = Vector128.Load(a + p);
            s00 = Simd128.Fma(x, y0, s00); s01 = Simd128.Fma(x, y1, s01); s02 = Simd128.Fma(x, y2, s02);
            x = Vector128.Load(a1 + p);
            s10 = Simd128.Fma(x, y0, s10); s11 = Simd128.Fma(x, y1, s11); s12 = Simd128.Fma(x, y2, s12);
            x = Vector128.Load(a2 + p);
            s20 = Simd128.Fma(x, y0, s20); s21 = Simd128.Fma(x, y1, s21); s22 = Simd128.Fma(x, y2, s22);
            x = Vector128.Load(a3 + p);
            s30 = Simd128.Fma(x, y0, s30); s31 = Simd128.Fma(x, y1, s31); s32 = Simd128.Fma(x, y2, s32);
        }
        float* r0 = c, r1 = c + ldc, r2 = r1 + ldc, r3 = r2 + ldc;
        r0[0] = Vector128.Sum(s00); r0[1] = Vector128.Sum(s01); r0[2] = Vector128.Sum(s02);
        r1[0] = Vector128.Sum(s10); r1[1] = Vector128.Sum(s11); r1[2] = Vector128.Sum(s12);
        r2[0] = Vector128.Sum(s20); r2[1] = Vector128.Sum(s21); r2[2] = Vector128.Sum(s22);
        r3[0] = Vector128.Sum(s30); r3[1] = Vector128.Sum(s31); r3[2] = Vector128.Sum(s32);
        AddTail4x3(a, lda, b, ldb, p, k, c, ldc);
    }

    /// <summary>The K remainder [from, k) of a 4×3 block of dot products (fewer than one vector), added into c.</summary>
    private static unsafe void AddTail4x3(float* a, int lda, float* b, int ldb, int from, int k, float* c, int ldc)
    {
        if (from == k) return; // K a multiple of the vector width: twelve empty sums per block skipped
        for (int r = 0; r < 4; r++)
            for (int s = 0; s < 3; s++)
            {
                float sum = 0f;
                for (int p = from; p < k; p++) sum += a[r * lda + p] * b[s * ldb + p];
                c[r * ldc + s] += sum;
            }
    }
}
