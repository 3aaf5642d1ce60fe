using System.Buffers;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using V = System.Runtime.Intrinsics.Vector256<float>;

namespace DeepSharp.Backends.Cpu;

// Winograd's output-gradient tiles (CpuBackend.Winograd.cs): A dy Aᵀ for each block of dy, eight blocks at a time, the
// weight gradient's other operand.
internal sealed partial class CpuBackend
{
    /// <summary>dm[ξ, o, t] = (A dy Aᵀ)[ξ] for each 4×4 block of the output gradient (zeros past the output's edge), eight
    /// tiles at a time from padded copies of each channel's planes (<paramref name="pad"/>, cleared by the caller once).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static unsafe void GradTiles(float* dy, Wino g, int n0, int count, float* dm, float* pad)
    {
        int tiles = count * g.Tiles, oh = g.OH, ow = g.OW, wp = g.PaddedWidth;
        long plane = (long)g.O * tiles;
        var origins = TileOrigins(g, tiles, g.GradPlane, wp);
        V* e = stackalloc V[24];
        V* col = stackalloc V[6];
        fixed (int* at = origins)
            for (int o = 0; o < g.O; o++)
            {
                for (int i = 0; i < count; i++)
                {
                    float* img = dy + ((long)(n0 + i) * g.O + o) * oh * ow, dst = pad + (long)i * g.GradPlane;
                    for (int r = 0; r < oh; r++) CopyShort(img + r * ow, dst + r * wp, ow);
                }
                float* q = dm + (long)o * tiles;
                for (int t0 = 0; t0 < tiles; t0 += 8)
                {
                    int n = Math.Min(8, tiles - t0);
                    if (g.M == 4)
                    {
                        for (int r = 0; r < 4; r++) // A along each of the blocks' four rows
                        {
                            Columns(pad + r * wp, at + t0, out var y0, out var y1, out var y2, out var y3);
                            A6(y0, y1, y2, y3, e + 6 * r, 1);
                        }
                        for (int j = 0; j < 6; j++) // then down each column, into blocks 6i + j
                        {
                            A6(e[j], e[6 + j], e[12 + j], e[18 + j], col, 1);
                            for (int k = 0; k < 6; k++) Put(q + (6 * k + j) * plane + t0, n, col[k]);
                        }
                        continue;
                    }
                    for (int r = 0; r < 2; r++) // F(2×2, 3×3): A (y0, y1) = (y0, y0 + y1, y0 − y1, −y1) along the rows
                    {
                        Columns(pad + r * wp, at + t0, out var y0, out var y1, out _, out _);
                        A4(y0, y1, e + 4 * r, 1);
                    }
                    for (int j = 0; j < 4; j++) // then down each column, into blocks 4i + j
                    {
                        A4(e[j], e[4 + j], col, 1);
                        for (int k = 0; k < 4; k++) Put(q + (4 * k + j) * plane + t0, n, col[k]);
                    }
                }
            }
        ArrayPool<int>.Shared.Return(origins);
    }

    /// <summary>A (y0 … y3) = (y0, y0 + y1 + y2 + y3, y0 − y1 + y2 − y3, y0 + 2y1 + 4y2 + 8y3, y0 − 2y1 + 4y2 − 8y3,
    /// y3).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static unsafe void A6(V y0, V y1, V y2, V y3, V* o, int stride)
    {
        V s = y0 + y2, t = y1 + y3, u = Fma3(Vector256.Create(4f), y2, y0), w = Fma3(Vector256.Create(8f), y3, y1 + y1);
        o[0] = y0;
        o[stride] = s + t;
        o[2 * stride] = s - t;
        o[3 * stride] = u + w;
        o[4 * stride] = u - w;
        o[5 * stride] = y3;
    }

    /// <summary>F(2×2, 3×3)'s A (y0, y1) = (y0, y0 + y1, y0 − y1, −y1).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static unsafe void A4(V y0, V y1, V* o, int stride)
    {
        o[0] = y0;
        o[stride] = y0 + y1;
        o[2 * stride] = y0 - y1;
        o[3 * stride] = -y1;
    }
}
