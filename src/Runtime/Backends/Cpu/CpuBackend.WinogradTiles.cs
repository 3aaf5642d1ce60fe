using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using V = System.Runtime.Intrinsics.Vector256<float>;

namespace DeepSharp.Backends.Cpu;

// Winograd's tile transforms (CpuBackend.Winograd.cs): the input's 4×4 tiles Bᵀ d B, the output's 2×2 blocks Aᵀ m A and
// the output gradient's A dy Aᵀ, each for eight tiles of a row at once in AVX2 registers.
internal sealed partial class CpuBackend
{
    /// <summary>
    /// v[ξ, c, t] = (Bᵀ d B)[ξ] for each 4×4 tile d of images [n0, n0 + count) (tile t = image·Tiles + ty·TilesX + tx starts
    /// at row 2ty − PH, column 2tx − PW; zeros outside the image). Each plane is first copied into <paramref name="pad"/>
    /// with its zeros around it (cleared by the caller once: every plane writes the same place), then eight tiles of a row
    /// are transformed at once: a tile's columns 0 and 1 are the even and odd elements of 16 floats of its rows, columns 2
    /// and 3 those of the 16 floats two further on.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static unsafe void InputTiles(float* x, Wino g, int n0, int count, float* v, float* pad)
    {
        int tiles = count * g.Tiles, tx = g.TilesX, wp = g.PaddedWidth, h = g.H, w = g.W;
        long plane = (long)g.C * tiles;
        for (int i = 0; i < count; i++)
            for (int c = 0; c < g.C; c++)
            {
                float* img = x + ((long)(n0 + i) * g.C + c) * h * w;
                for (int r = 0; r < h; r++) Buffer.MemoryCopy(img + r * w, pad + (r + g.PH) * wp + g.PW, 4L * w, 4L * w);
                float* dst = v + (long)c * tiles + i * g.Tiles;
                for (int ty = 0; ty < g.TilesY; ty++)
                    for (int t0 = 0; t0 < tx; t0 += 8)
                    {
                        float* row = pad + 2 * ty * wp + 2 * t0;
                        Columns(row, out var d00, out var d01, out var d02, out var d03);
                        Columns(row + wp, out var d10, out var d11, out var d12, out var d13);
                        Columns(row + 2 * wp, out var d20, out var d21, out var d22, out var d23);
                        Columns(row + 3 * wp, out var d30, out var d31, out var d32, out var d33);
                        float* o = dst + ty * tx + t0;
                        int n = Math.Min(8, tx - t0);
                        // Bᵀ d down the columns (d0 − d2, d1 + d2, d2 − d1, d1 − d3), then the same along each row.
                        InputRow(o, plane, n, d00 - d20, d01 - d21, d02 - d22, d03 - d23);
                        InputRow(o + 4 * plane, plane, n, d10 + d20, d11 + d21, d12 + d22, d13 + d23);
                        InputRow(o + 8 * plane, plane, n, d20 - d10, d21 - d11, d22 - d12, d23 - d13);
                        InputRow(o + 12 * plane, plane, n, d10 - d30, d11 - d31, d12 - d32, d13 - d33);
                    }
            }
    }

    /// <summary>Columns 0–3 of eight consecutive tiles of one row (tile j's column k is row[2j + k]).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static unsafe void Columns(float* row, out V c0, out V c1, out V c2, out V c3)
    {
        (c0, c1) = Deinterleave(Vector256.Load(row), Vector256.Load(row + 8));
        (c2, c3) = Deinterleave(Vector256.Load(row + 2), Vector256.Load(row + 10));
    }

    /// <summary>(a0 a2 … a6 b0 b2 … b6, a1 a3 … a7 b1 b3 … b7).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static (V Even, V Odd) Deinterleave(V a, V b)
    {
        var even = Avx.Shuffle(a, b, 0b10_00_10_00); // a0 a2 b0 b2 | a4 a6 b4 b6
        var odd = Avx.Shuffle(a, b, 0b11_01_11_01);
        return (Avx2.Permute4x64(even.AsDouble(), 0b11_01_10_00).AsSingle(), Avx2.Permute4x64(odd.AsDouble(), 0b11_01_10_00).AsSingle());
    }

    /// <summary>One row of the 4×4 transform (r0 − r2, r1 + r2, r2 − r1, r1 − r3) stored for n ≤ 8 tiles.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static unsafe void InputRow(float* o, long plane, int n, V r0, V r1, V r2, V r3)
    {
        Put(o, n, r0 - r2);
        Put(o + plane, n, r1 + r2);
        Put(o + 2 * plane, n, r2 - r1);
        Put(o + 3 * plane, n, r1 - r3);
    }

    /// <summary>The first n ≤ 8 lanes of <paramref name="value"/> to p.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static unsafe void Put(float* p, int n, V value)
    {
        if (n == 8) Vector256.Store(value, p);
        else Avx.MaskStore(p, Vector256.LessThan(Vector256.Create(0, 1, 2, 3, 4, 5, 6, 7), Vector256.Create(n)).AsSingle(), value);
    }

    /// <summary>y's 2×2 output blocks Aᵀ m A from m [16, O, tiles] (+ bias), eight tiles of a row at a time, the parts inside
    /// the output (m has 8 floats of slack past its end: the last tiles' vectors read past them).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static unsafe void OutputTiles(float* m, Wino g, int n0, int count, float* y, float* bias)
    {
        int tiles = count * g.Tiles, tx = g.TilesX, oh = g.OH, ow = g.OW;
        long plane = (long)g.O * tiles;
        for (int i = 0; i < count; i++)
            for (int o = 0; o < g.O; o++)
            {
                float* img = y + ((long)(n0 + i) * g.O + o) * oh * ow;
                float* src = m + (long)o * tiles + i * g.Tiles;
                var b = Vector256.Create(bias is null ? 0f : bias[o]);
                for (int ty = 0; ty < g.TilesY; ty++)
                    for (int t0 = 0; t0 < tx; t0 += 8)
                    {
                        float* q = src + ty * tx + t0;
                        // Aᵀ m down the columns (m0 + m1 + m2, m1 − m2 − m3) for each of the 4 columns, then along the rows.
                        V s0 = Sum3(q, 0, plane), s1 = Sum3(q, 1, plane), s2 = Sum3(q, 2, plane), s3 = Sum3(q, 3, plane);
                        V e0 = Diff3(q, 0, plane), e1 = Diff3(q, 1, plane), e2 = Diff3(q, 2, plane), e3 = Diff3(q, 3, plane);
                        int r0 = 2 * ty, c0 = 2 * t0, n = Math.Min(16, ow - c0);
                        OutputRow(img + r0 * ow + c0, n, s0 + s1 + s2 + b, s1 - s2 - s3 + b);
                        if (r0 + 1 < oh) OutputRow(img + (r0 + 1) * ow + c0, n, e0 + e1 + e2 + b, e1 - e2 - e3 + b);
                    }
            }
    }

    /// <summary>m0k + m1k + m2k for column k of eight tiles (m_rk is block 4r + k).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static unsafe V Sum3(float* q, int k, long plane) =>
        Vector256.Load(q + k * plane) + Vector256.Load(q + (4 + k) * plane) + Vector256.Load(q + (8 + k) * plane);

    /// <summary>m1k − m2k − m3k for column k of eight tiles.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static unsafe V Diff3(float* q, int k, long plane) =>
        Vector256.Load(q + (4 + k) * plane) - Vector256.Load(q + (8 + k) * plane) - Vector256.Load(q + (12 + k) * plane);

    /// <summary>Eight tiles' two outputs (left, right) interleaved into one row: its first n ≤ 16 floats.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static unsafe void OutputRow(float* row, int n, V left, V right)
    {
        V lo = Avx.UnpackLow(left, right), hi = Avx.UnpackHigh(left, right); // tiles 0 1 | 4 5 and 2 3 | 6 7
        V first = Avx.Permute2x128(lo, hi, 0x20), second = Avx.Permute2x128(lo, hi, 0x31);
        if (n >= 16)
        {
            Vector256.Store(first, row);
            Vector256.Store(second, row + 8);
            return;
        }
        Put(row, Math.Min(n, 8), first);
        if (n > 8) Put(row + 8, n - 8, second);
    }

    /// <summary>dm[ξ, o, t] = (A dy Aᵀ)[ξ] for each 2×2 block of the output gradient (zeros past the output's edge), eight
    /// tiles at a time from a padded copy of each plane (<paramref name="pad"/>, cleared by the caller once).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static unsafe void GradTiles(float* dy, Wino g, int n0, int count, float* dm, float* pad)
    {
        int tiles = count * g.Tiles, tx = g.TilesX, oh = g.OH, ow = g.OW, wp = g.PaddedWidth;
        long plane = (long)g.O * tiles;
        for (int i = 0; i < count; i++)
            for (int o = 0; o < g.O; o++)
            {
                float* img = dy + ((long)(n0 + i) * g.O + o) * oh * ow;
                for (int r = 0; r < oh; r++) Buffer.MemoryCopy(img + r * ow, pad + r * wp, 4L * ow, 4L * ow);
                float* dst = dm + (long)o * tiles + i * g.Tiles;
                for (int ty = 0; ty < g.TilesY; ty++)
                    for (int t0 = 0; t0 < tx; t0 += 8)
                    {
                        float* row = pad + 2 * ty * wp + 2 * t0;
                        var (y00, y01) = Deinterleave(Vector256.Load(row), Vector256.Load(row + 8));
                        var (y10, y11) = Deinterleave(Vector256.Load(row + wp), Vector256.Load(row + wp + 8));
                        float* q = dst + ty * tx + t0;
                        int n = Math.Min(8, tx - t0);
                        // A y down the columns (y0, y0 + y1, y0 − y1, −y1), then along the rows.
                        GradRow(q, plane, n, y00, y01);
                        GradRow(q + 4 * plane, plane, n, y00 + y10, y01 + y11);
                        GradRow(q + 8 * plane, plane, n, y00 - y10, y01 - y11);
                        GradRow(q + 12 * plane, plane, n, -y10, -y11);
                    }
            }
    }

    /// <summary>(a, a + b, a − b, −b) for n ≤ 8 tiles.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static unsafe void GradRow(float* o, long plane, int n, V a, V b)
    {
        Put(o, n, a);
        Put(o + plane, n, a + b);
        Put(o + 2 * plane, n, a - b);
        Put(o + 3 * plane, n, -b);
    }
}
