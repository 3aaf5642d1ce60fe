using System.Buffers;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using V = System.Runtime.Intrinsics.Vector256<float>;

namespace DeepSharp.Backends.Cpu;

// Winograd's tile transforms (CpuBackend.Winograd.cs): the input's 6×6 tiles Bᵀ d B, the output's 4×4 blocks Aᵀ m A and
// the output gradient's A dy Aᵀ, for eight consecutive tiles of a group at once in AVX2 registers (lane j is tile t0 + j,
// wherever it lies: a 4×4 image has one tile, so the lanes run across images), one direction into a small buffer of
// vectors, then the other.
internal sealed partial class CpuBackend
{
    /// <summary>
    /// v[ξ, c, t] = (Bᵀ d B)[ξ] for each 6×6 tile d of images [n0, n0 + count) (tile t = image·Tiles + ty·TilesX + tx starts
    /// at row 4ty − PH, column 4tx − PW; zeros outside the image). Each channel's planes are first copied into
    /// <paramref name="pad"/> (count padded planes, cleared by the caller once: every channel writes the same places).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static unsafe void InputTiles(float* x, Wino g, int n0, int count, float* v, float* pad)
    {
        int tiles = count * g.Tiles, wp = g.PaddedWidth, h = g.H, w = g.W;
        long plane = (long)g.C * tiles;
        var origins = TileOrigins(g, tiles, g.PaddedPlane, wp);
        V* e = stackalloc V[36];
        V* col = stackalloc V[6];
        fixed (int* at = origins)
            for (int c = 0; c < g.C; c++)
            {
                for (int i = 0; i < count; i++)
                {
                    float* img = x + ((long)(n0 + i) * g.C + c) * h * w, dst = pad + (long)i * g.PaddedPlane + g.PH * wp + g.PW;
                    for (int r = 0; r < h; r++) CopyShort(img + r * w, dst + r * wp, w);
                }
                float* o = v + (long)c * tiles;
                for (int t0 = 0; t0 < tiles; t0 += 8)
                {
                    int n = Math.Min(8, tiles - t0);
                    if (g.M == 4)
                    {
                        for (int r = 0; r < 6; r++) // Bᵀ along each of the tiles' six rows
                        {
                            Columns(pad + r * wp, at + t0, out var d0, out var d1, out var d2, out var d3, out var d4, out var d5);
                            Bt(d0, d1, d2, d3, d4, d5, e + 6 * r, 1);
                        }
                        for (int j = 0; j < 6; j++) // then down each column, into blocks 6i + j
                        {
                            Bt(e[j], e[6 + j], e[12 + j], e[18 + j], e[24 + j], e[30 + j], col, 1);
                            for (int k = 0; k < 6; k++) Put(o + (6 * k + j) * plane + t0, n, col[k]);
                        }
                        continue;
                    }
                    for (int r = 0; r < 4; r++) // F(2×2, 3×3): Bᵀ = (d0 − d2, d1 + d2, d2 − d1, d1 − d3) along the rows
                    {
                        Columns(pad + r * wp, at + t0, out var d0, out var d1, out var d2, out var d3);
                        Bt4(d0, d1, d2, d3, e + 4 * r, 1);
                    }
                    for (int j = 0; j < 4; j++) // then down each column, into blocks 4i + j
                    {
                        Bt4(e[j], e[4 + j], e[8 + j], e[12 + j], col, 1);
                        for (int k = 0; k < 4; k++) Put(o + (4 * k + j) * plane + t0, n, col[k]);
                    }
                }
            }
        ArrayPool<int>.Shared.Return(origins);
    }

    /// <summary>Where each tile of a group starts (image·<paramref name="planeSize"/> + M·ty·<paramref name="wp"/> + M·tx),
    /// padded to a multiple of 8 with the first tile's (a full vector's loads stay inside the planes).</summary>
    private static int[] TileOrigins(Wino g, int tiles, int planeSize, int wp)
    {
        var at = ArrayPool<int>.Shared.Rent((tiles + 7) / 8 * 8);
        for (int t = 0; t < tiles; t++)
        {
            int img = t / g.Tiles, local = t - img * g.Tiles, ty = local / g.TilesX;
            at[t] = img * planeSize + g.M * (ty * wp + local - ty * g.TilesX);
        }
        for (int t = tiles; t < (tiles + 7) / 8 * 8; t++) at[t] = 0;
        return at;
    }

    /// <summary>Bᵀ (d0 … d5) for Bᵀ's rows (4, 0, −5, 0, 1, 0), (0, −4, −4, 1, 1, 0), (0, 4, −4, −1, 1, 0),
    /// (0, −2, −1, 2, 1, 0), (0, 2, −1, −2, 1, 0), (0, 4, 0, −5, 0, 1), written <paramref name="stride"/> vectors
    /// apart.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static unsafe void Bt(V d0, V d1, V d2, V d3, V d4, V d5, V* o, int stride)
    {
        V four = Vector256.Create(4f), five = Vector256.Create(5f), two = Vector256.Create(2f);
        V s34 = d3 + d4, s12 = d1 + d2, e43 = d4 - d3, e12 = d1 - d2, e42 = d4 - d2, e31 = d3 - d1;
        o[0] = Fma3(four, d0, d4) - five * d2;
        o[stride] = s34 - four * s12;
        o[2 * stride] = Fma3(four, e12, e43);
        o[3 * stride] = Fma3(two, e31, e42);
        o[4 * stride] = e42 - two * e31;
        o[5 * stride] = Fma3(four, d1, d5) - five * d3;
    }

    /// <summary>F(2×2, 3×3)'s Bᵀ (d0 … d3) = (d0 − d2, d1 + d2, d2 − d1, d1 − d3), written <paramref name="stride"/> vectors
    /// apart.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static unsafe void Bt4(V d0, V d1, V d2, V d3, V* o, int stride)
    {
        o[0] = d0 - d2;
        o[stride] = d1 + d2;
        o[2 * stride] = d2 - d1;
        o[3 * stride] = d1 - d3;
    }

    /// <summary>Columns 0–5 of eight tiles' rows (tile j's row starts at b + at[j]): registers hold tiles (j, j + 4) as two
    /// 128-bit halves, so two rounds of unpacks give each column with the tiles in lane order.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static unsafe void Columns(float* b, int* at, out V c0, out V c1, out V c2, out V c3, out V c4, out V c5)
    {
        Columns(b, at, out c0, out c1, out c2, out c3);
        Columns(b + 4, at, out c4, out c5, out _, out _); // columns 4 and 5 are columns 0 and 1 four floats on
    }

    /// <summary>Columns 0–3 of eight tiles' rows (tile j's row starts at b + at[j]).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static unsafe void Columns(float* b, int* at, out V c0, out V c1, out V c2, out V c3)
    {
        V p = Halves(b + at[0], b + at[4]), q = Halves(b + at[2], b + at[6]), r = Halves(b + at[1], b + at[5]);
        V s = Halves(b + at[3], b + at[7]);
        V t0 = Avx.UnpackLow(p, q), t1 = Avx.UnpackHigh(p, q), t2 = Avx.UnpackLow(r, s), t3 = Avx.UnpackHigh(r, s);
        c0 = Avx.UnpackLow(t0, t2); c1 = Avx.UnpackHigh(t0, t2); c2 = Avx.UnpackLow(t1, t3); c3 = Avx.UnpackHigh(t1, t3);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static unsafe V Halves(float* lo, float* hi) => Vector256.Create(Vector128.Load(lo), Vector128.Load(hi));

    /// <summary>The first n ≤ 8 lanes of <paramref name="value"/> to p.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static unsafe void Put(float* p, int n, V value)
    {
        if (n == 8) Vector256.Store(value, p);
        else Avx.MaskStore(p, FirstLanes(n), value);
    }

    /// <summary>The first n ≤ 8 floats at p as a vector (zeros after them): m's last tiles end at its end.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static unsafe V Get(float* p, int n) =>
        n == 8 ? Vector256.Load(p) : Avx.MaskLoad(p, FirstLanes(n));

    /// <summary>A mask of the first n lanes.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static V FirstLanes(int n) => Vector256.LessThan(Vector256.Create(0, 1, 2, 3, 4, 5, 6, 7), Vector256.Create(n)).AsSingle();

    /// <summary>y's 4×4 output blocks Aᵀ m A from m [36, O, tiles] (+ bias), eight tiles at a time, the parts inside the
    /// output.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static unsafe void OutputTiles(float* m, Wino g, int n0, int count, float* y, float* bias)
    {
        int tiles = count * g.Tiles, oh = g.OH, ow = g.OW;
        long plane = (long)g.O * tiles;
        var origins = TileOrigins(g, tiles, oh * ow * g.O, ow);
        V* e = stackalloc V[24];
        float* block = stackalloc float[128];
        fixed (int* at = origins)
            for (int o = 0; o < g.O; o++)
            {
                float* src = m + (long)o * tiles, img = y + ((long)n0 * g.O + o) * oh * ow;
                var b = Vector256.Create(bias is null ? 0f : bias[o]);
                for (int t0 = 0; t0 < tiles; t0 += 8)
                {
                    int n = Math.Min(8, tiles - t0), mt = g.M;
                    if (mt == 4)
                    {
                        for (int r = 0; r < 6; r++) // Aᵀ along each row of the 6×6 blocks
                        {
                            float* q = src + 6 * r * plane + t0;
                            At(Get(q, n), Get(q + plane, n), Get(q + 2 * plane, n), Get(q + 3 * plane, n), Get(q + 4 * plane, n),
                                Get(q + 5 * plane, n), e + 4 * r, 1);
                        }
                        for (int k = 0; k < 4; k++) // then down each column: e[4r + k] = output row r, column k of each block
                            At(e[k], e[4 + k], e[8 + k], e[12 + k], e[16 + k], e[20 + k], e + k, 4);
                        for (int r = 0; r < 4; r++) // block + 32r + 4j: row r of tile j's outputs
                            Interleave(e[4 * r] + b, e[4 * r + 1] + b, e[4 * r + 2] + b, e[4 * r + 3] + b, block + 32 * r);
                    }
                    else
                    {
                        for (int r = 0; r < 4; r++) // F(2×2, 3×3): Aᵀ = (m0 + m1 + m2, m1 − m2 − m3) along each row
                        {
                            V m0 = Get(src + 4 * r * plane + t0, n), m1 = Get(src + (4 * r + 1) * plane + t0, n);
                            V m2 = Get(src + (4 * r + 2) * plane + t0, n), m3 = Get(src + (4 * r + 3) * plane + t0, n);
                            e[2 * r] = m0 + m1 + m2;
                            e[2 * r + 1] = m1 - m2 - m3;
                        }
                        for (int k = 0; k < 2; k++) // then down each column: row 0 into e[k], row 1 into e[2 + k]
                        {
                            V m0 = e[k], m1 = e[2 + k], m2 = e[4 + k], m3 = e[6 + k];
                            e[k] = m0 + m1 + m2;
                            e[2 + k] = m1 - m2 - m3;
                        }
                        for (int r = 0; r < 2; r++) // block + 32r + 2j: row r of tile j's outputs
                            Pairs(e[2 * r] + b, e[2 * r + 1] + b, block + 32 * r);
                    }
                    for (int j = 0; j < n; j++)
                    {
                        int t = t0 + j, local = t % g.Tiles, ty = local / g.TilesX, tx = local - ty * g.TilesX;
                        int rows = Math.Min(mt, oh - mt * ty), cols = Math.Min(mt, ow - mt * tx);
                        float* dst = img + at[t];
                        for (int r = 0; r < rows; r++)
                            if (cols == 4) Vector128.Store(Vector128.Load(block + 32 * r + 4 * j), dst + r * ow);
                            else for (int k = 0; k < cols; k++) dst[r * ow + k] = block[32 * r + mt * j + k];
                    }
                }
            }
        ArrayPool<int>.Shared.Return(origins);
    }

    /// <summary>Eight tiles' two values (o_k lane j = tile j's value k) as 16 floats in tile order (tile j at d + 2j).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static unsafe void Pairs(V o0, V o1, float* d)
    {
        V lo = Avx.UnpackLow(o0, o1), hi = Avx.UnpackHigh(o0, o1); // tiles (0, 1 | 4, 5) and (2, 3 | 6, 7)
        Vector256.Store(Avx.Permute2x128(lo, hi, 0x20), d);
        Vector256.Store(Avx.Permute2x128(lo, hi, 0x31), d + 8);
    }

    /// <summary>Eight tiles' four values (o_k lane j = tile j's value k) as 32 floats in tile order (tile j at d + 4j).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static unsafe void Interleave(V o0, V o1, V o2, V o3, float* d)
    {
        V t0 = Avx.UnpackLow(o0, o1), t1 = Avx.UnpackHigh(o0, o1), t2 = Avx.UnpackLow(o2, o3), t3 = Avx.UnpackHigh(o2, o3);
        V r0 = Avx.Shuffle(t0, t2, 0x44), r1 = Avx.Shuffle(t0, t2, 0xEE); // tiles (0 | 4) and (1 | 5)
        V r2 = Avx.Shuffle(t1, t3, 0x44), r3 = Avx.Shuffle(t1, t3, 0xEE); // tiles (2 | 6) and (3 | 7)
        Vector256.Store(Avx.Permute2x128(r0, r1, 0x20), d);
        Vector256.Store(Avx.Permute2x128(r2, r3, 0x20), d + 8);
        Vector256.Store(Avx.Permute2x128(r0, r1, 0x31), d + 16);
        Vector256.Store(Avx.Permute2x128(r2, r3, 0x31), d + 24);
    }

    /// <summary>Aᵀ (m0 … m5) for Aᵀ's rows (1, 1, 1, 1, 1, 0), (0, 1, −1, 2, −2, 0), (0, 1, 1, 4, 4, 0),
    /// (0, 1, −1, 8, −8, 1), written <paramref name="stride"/> vectors apart (reads all six first, so the output may overlap
    /// them).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static unsafe void At(V m0, V m1, V m2, V m3, V m4, V m5, V* o, int stride)
    {
        V s12 = m1 + m2, e12 = m1 - m2, s34 = m3 + m4, e34 = m3 - m4;
        o[0] = m0 + s12 + s34;
        o[stride] = Fma3(Vector256.Create(2f), e34, e12);
        o[2 * stride] = Fma3(Vector256.Create(4f), s34, s12);
        o[3 * stride] = Fma3(Vector256.Create(8f), e34, e12) + m5;
    }
}
