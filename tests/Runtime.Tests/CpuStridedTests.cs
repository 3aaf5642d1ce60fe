namespace DeepSharp.Tests;

/// <summary>
/// Broadcast and strided elementwise ops on the CPU over tensors large enough to be split between cores, with rows short
/// and odd-sized so that chunks start in the middle of rows and carry through several outer dims: every element against
/// an index-by-index reference.
/// </summary>
public class CpuStridedTests
{
    private const int N0 = 7, N1 = 33, N2 = 5, N3 = 29; // 33,495 elements

    private static int Flat(int i, int j, int k, int l) => ((i * N1 + j) * N2 + k) * N3 + l;

    [Fact]
    public void BroadcastAndPermutedOperandsMatchAnElementwiseReference()
    {
        var xv = Ref.Random(N0 * N1 * N2 * N3, 1); var yv = Ref.Random(N0 * N2, 2); var zv = Ref.Random(N3 * N1 * N2 * N0, 3);
        var x = Tensor.FromArray(xv, [N0, N1, N2, N3]);
        var y = Tensor.FromArray(yv, [N0, 1, N2, 1]);                      // broadcast over dims 1 and 3
        var z = Tensor.FromArray(zv, [N3, N1, N2, N0]).Permute(3, 1, 2, 0); // a strided view of shape [N0, N1, N2, N3]
        float[] sum = (x + y).ToArray<float>(), prod = (z * y).ToArray<float>(), copy = z.Contiguous().ToArray<float>();
        float[] picked = Tensor.Where(x.Gt(0f), z, y).ToArray<float>();
        for (int i = 0; i < N0; i++)
            for (int j = 0; j < N1; j++)
                for (int k = 0; k < N2; k++)
                    for (int l = 0; l < N3; l++)
                    {
                        int f = Flat(i, j, k, l);
                        float xe = xv[f], ye = yv[i * N2 + k], ze = zv[((l * N1 + j) * N2 + k) * N0 + i];
                        Assert.Equal(xe + ye, sum[f]);
                        Assert.Equal(ze * ye, prod[f]);
                        Assert.Equal(ze, copy[f]);
                        Assert.Equal(xe > 0f ? ze : ye, picked[f]);
                    }
    }
}
