using DeepSharp;

namespace DeepSharp.Tests;

public class MatMulTests
{
    private static double[] Reference(float[] a, int[] sa, float[] b, int[] sb, out int[] shape)
    {
        // Promote 1-D operands as torch.matmul does, broadcast batch dims, multiply in double.
        int[] A = sa.Length == 1 ? [1, sa[0]] : sa, B = sb.Length == 1 ? [sb[0], 1] : sb;
        int m = A[^2], k = A[^1], n = B[^1];
        var batchA = A[..^2]; var batchB = B[..^2];
        int rank = Math.Max(batchA.Length, batchB.Length);
        var batch = Enumerable.Range(0, rank).Select(i =>
        {
            int x = i < rank - batchA.Length ? 1 : batchA[i - rank + batchA.Length], y = i < rank - batchB.Length ? 1 : batchB[i - rank + batchB.Length];
            return x == 1 ? y : x;
        }).ToArray();
        var outShape = batch.Concat(new[] { m, n }).ToArray();
        var values = Ref.Indices(outShape).Select(idx =>
        {
            double s = 0;
            for (int p = 0; p < k; p++)
                s += Ref.At(a, A, [.. idx[..^2], idx[^2], p]) * Ref.At(b, B, [.. idx[..^2], p, idx[^1]]);
            return s;
        }).ToArray();
        var sh = batch.ToList();
        if (sa.Length > 1) sh.Add(m);
        if (sb.Length > 1) sh.Add(n);
        shape = sh.ToArray();
        return values;
    }

    public static readonly (int[] A, int[] B)[] Shapes =
    [
        ([3, 4], [4, 5]), ([1, 1], [1, 1]), ([17, 33], [33, 9]), ([4], [4]), ([4], [4, 3]), ([2, 4], [4]),
        ([2, 3, 4], [4, 5]), ([2, 1, 3, 4], [3, 4, 2]), ([5, 0], [0, 3]), ([70, 65], [65, 40]), ([6, 40], [40, 70]),
    ];

    public static TheoryData<string, int> Cases()
    {
        var d = new TheoryData<string, int>();
        foreach (var dev in TestDevices.Names) for (int i = 0; i < Shapes.Length; i++) d.Add(dev, i);
        return d;
    }

    [Theory, MemberData(nameof(Cases))]
    public void MatchesDoubleReference(string device, int c)
    {
        var d = TestDevices.Use(device);
        var (sa, sb) = Shapes[c];
        var a = Ref.Random(sa.Aggregate(1, (x, y) => x * y), 41 + c);
        var b = Ref.Random(sb.Aggregate(1, (x, y) => x * y), 51 + c);
        var expected = Reference(a, sa, b, sb, out var shape);
        var y = Tensor.MatMul(Tensor.FromArray(a, sa, d), Tensor.FromArray(b, sb, d));
        Assert.Equal(shape, y.Shape);
        Ref.Close(expected, y.ToArray<float>(), 1e-5, "matmul");
    }

    [Theory, MemberData(nameof(TestDevices.All), MemberType = typeof(TestDevices))]
    public void TransposedAndSlicedViewsNeedNoCopy(string device)
    {
        var d = TestDevices.Use(device);
        var a = Ref.Random(40 * 30, 1); var b = Ref.Random(40 * 20, 2);
        var ta = Tensor.FromArray(a, [40, 30], d); var tb = Tensor.FromArray(b, [40, 20], d);
        // aᵀ·b with aᵀ a stride view; compare with the product of explicit dense copies.
        var y = ta.T.MatMul(tb);
        var z = ta.T.Contiguous().MatMul(tb);
        Ref.Close(z.ToArray<float>().Select(v => (double)v).ToArray(), y.ToArray<float>(), 1e-5);
        var s = ta.Slice(1, 3, 29, 2).T.MatMul(tb.Slice(1, 0, 17)); // [13, 40]·[40, 17]
        var sRef = ta.Slice(1, 3, 29, 2).T.Contiguous().MatMul(tb.Slice(1, 0, 17).Contiguous());
        Ref.Close(sRef.ToArray<float>().Select(v => (double)v).ToArray(), s.ToArray<float>(), 1e-5);
    }

    [Theory, MemberData(nameof(TestDevices.All), MemberType = typeof(TestDevices))]
    public void MisalignedShapesThrowNamingBoth(string device)
    {
        var d = TestDevices.Use(device);
        var e = Assert.Throws<ArgumentException>(() => Tensor.MatMul(Tensor.Zeros([2, 3], device: d), Tensor.Zeros([4, 5], device: d)));
        Assert.Contains("MatMul", e.Message);
        Assert.Contains("[2, 3]", e.Message);
        Assert.Contains("[4, 5]", e.Message);
        Assert.Throws<ArgumentException>(() => Tensor.MatMul(Tensor.Zeros([2, 2, 3], device: d), Tensor.Zeros([3, 3, 4], device: d)));
    }

    [Fact]
    public void CpuBlockedPathMatchesReferenceOnLargeOddSizes()
    {
        // Sizes that cross the KC=256 and MC=96 block edges and leave ragged 6×16 tiles.
        int m = 203, k = 300, n = 131;
        var a = Ref.Random(m * k, 8); var b = Ref.Random(k * n, 9);
        var y = Tensor.MatMul(Tensor.FromArray(a, [m, k]), Tensor.FromArray(b, [k, n])).ToArray<float>();
        var rnd = new Random(3);
        for (int t = 0; t < 300; t++)
        {
            int i = rnd.Next(m), j = rnd.Next(n);
            double s = 0;
            for (int p = 0; p < k; p++) s += (double)a[i * k + p] * b[p * n + j];
            Assert.True(Math.Abs(s - y[i * n + j]) < 1e-4 * (1 + Math.Abs(s)), $"C[{i},{j}] = {y[i * n + j]}, expected {s}");
        }
    }
}
