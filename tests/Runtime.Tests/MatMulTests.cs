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
            int x = i < rank - batchA.Length ? 1 : batchA[i - rank + batchA.Length],
                y = i < rank - batchB.Length ? 1 : batchB[i - rank + batchB.Length];
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

    /// <summary>
    /// The C# GEMM kernel itself (cuBLAS off on CUDA) for every operand layout (row-major or transposed A and B), with and
    /// without the fused bias, on sizes with ragged edge tiles, a K that is not a multiple of the k-tile, and a batch.
    /// </summary>
    [Theory, MemberData(nameof(TestDevices.All), MemberType = typeof(TestDevices))]
    public void LinearAndGemmKernelMatchReferenceForEveryLayout(string device)
    {
        var d = TestDevices.Use(device);
        var ilgpu = d.Kind == DeviceKind.Cpu ? null : DeepSharp.Backends.DeviceManager.Ilgpu(d);
        bool cublas = ilgpu?.UseCuBlas ?? false, bounds = ilgpu?.GemmLaunchBounds ?? true;
        if (ilgpu != null) ilgpu.UseCuBlas = false;
        // With and without launch bounds (they only change code generation on CUDA), then with cuBLAS allowed again (on
        // CUDA the larger sizes go to cuBLAS, with the bias added by a second launch).
        foreach (var (useBounds, useCuBlas) in ilgpu == null ? [(true, false)] : new[] { (true, false), (false, false), (true, true) })
            try
            {
                if (ilgpu != null) (ilgpu.GemmLaunchBounds, ilgpu.UseCuBlas) = (useBounds, useCuBlas);
                // The simulator's tiles are 32×32 (k-tile 2); CUDA's 128×128 (k-tile 8) or 64×64 for small grids.
                (int M, int K, int N)[] sizes = d.Kind == DeviceKind.IlgpuCpu ? [(37, 19, 45), (2, 3, 70)]
                    : [(37, 19, 45), (130, 67, 259), (300, 1000, 9), (2, 20, 256)];
                int seed = 0;
                foreach (var (m, k, n) in sizes)
                    foreach (bool ta in new[] { false, true })
                        foreach (bool tb in new[] { false, true })
                        {
                            var xa = Ref.Random(m * k, ++seed); var wa = Ref.Random(n * k, ++seed); var ba = Ref.Random(n, ++seed);
                            // x [m, k] (or a transposed view of [k, m]); w [n, k] (or a transposed view of [k, n]).
                            var x = ta ? Tensor.FromArray(Transpose(xa, m, k), [k, m], d).T : Tensor.FromArray(xa, [m, k], d);
                            var w = tb ? Tensor.FromArray(Transpose(wa, n, k), [k, n], d).T : Tensor.FromArray(wa, [n, k], d);
                            var bias = Tensor.FromArray(ba, [n], d);
                            var expected = new double[m * n];
                            for (int i = 0; i < m; i++)
                                for (int j = 0; j < n; j++)
                                {
                                    double acc = 0;
                                    for (int p = 0; p < k; p++) acc += (double)xa[i * k + p] * wa[j * k + p];
                                    expected[i * n + j] = acc;
                                }
                            string what = $"{m}x{k}x{n} ta={ta} tb={tb} bounds={useBounds} cublas={useCuBlas}";
                            Ref.Close(expected, Tensor.MatMul(x, w.T).ToArray<float>(), 1e-4, "matmul " + what);
                            Ref.Close(expected.Select((v, i) => v + ba[i % n]).ToArray(), Functional.Linear(x, w, bias).ToArray<float>(),
                                1e-4, "linear " + what);
                        }
                // A batched product goes through the same kernel (one launch for the whole batch).
                var a3 = Ref.Random(3 * 9 * 33, 91); var b3 = Ref.Random(3 * 33 * 40, 92);
                var y3 = Tensor.MatMul(Tensor.FromArray(a3, [3, 9, 33], d), Tensor.FromArray(b3, [3, 33, 40], d));
                var r3 = Reference(a3, [3, 9, 33], b3, [3, 33, 40], out _);
                Ref.Close(r3, y3.ToArray<float>(), 1e-4, "batched");
            }
            finally
            {
                if (ilgpu != null) (ilgpu.UseCuBlas, ilgpu.GemmLaunchBounds) = (cublas, bounds);
            }

        static float[] Transpose(float[] v, int rows, int cols)
        {
            var t = new float[v.Length];
            for (int i = 0; i < rows; i++) for (int j = 0; j < cols; j++) t[j * rows + i] = v[i * cols + j];
            return t;
        }
    }

    [Theory, MemberData(nameof(TestDevices.All), MemberType = typeof(TestDevices))]
    public void LinearGradientsMatchTheComposedOps(string device)
    {
        var d = TestDevices.Use(device);
        var x = Tensor.FromArray(Ref.Random(4 * 3 * 5, 1), [4, 3, 5], d).RequiresGradient();
        var w = Tensor.FromArray(Ref.Random(6 * 5, 2), [6, 5], d).RequiresGradient();
        var b = Tensor.FromArray(Ref.Random(6, 3), [6], d).RequiresGradient();
        var y = Functional.Linear(x, w, b);
        Assert.Equal([4, 3, 6], y.Shape);
        (y * y).Sum().Backward();
        var (gx, gw, gb) = (x.Grad!.ToArray<float>(), w.Grad!.ToArray<float>(), b.Grad!.ToArray<float>());
        x.Grad = null; w.Grad = null; b.Grad = null;
        var z = x.MatMul(w.T) + b;
        (z * z).Sum().Backward();
        Ref.Close(x.Grad!.ToArray<float>().Select(v => (double)v).ToArray(), gx, 1e-5, "dx");
        Ref.Close(w.Grad!.ToArray<float>().Select(v => (double)v).ToArray(), gw, 1e-5, "dw");
        Ref.Close(b.Grad!.ToArray<float>().Select(v => (double)v).ToArray(), gb, 1e-5, "db");
        // No input features: the product is empty and the output is the bias on every row.
        var empty = Functional.Linear(Tensor.Zeros([3, 0], device: d), Tensor.Zeros([2, 0], device: d),
            Tensor.FromArray(new float[] { 5f, -1f }, device: d));
        Assert.Equal(new float[] { 5f, -1f, 5f, -1f, 5f, -1f }, empty.ToArray<float>());
        var e = Assert.Throws<ArgumentException>(() => Functional.Linear(x, Tensor.Zeros([6, 4], device: d)));
        Assert.Contains("[6, 4]", e.Message);
        Assert.Throws<ArgumentException>(() => Functional.Linear(x, w, Tensor.Zeros([5], device: d)));
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
    /// <summary>
    /// A batched product with a grid of at least two blocks per multiprocessor, so CUDA runs the 128×128-block kernels:
    /// <see cref="DeepSharp.Backends.Ilgpu.Kernels.GemmVector{TA, TB}"/> for every staging pair (runs along k or along rows and columns),
    /// the general kernel where K is not a multiple of 4, and split-K on small grids (a single product; a
    /// batch of small products with a long K).
    /// Checked against the managed CPU GEMM.
    /// </summary>
    [Theory, InlineData("cuda:0"), InlineData("opencl:0")]
    public void LargeGridKernelsMatchTheCpuForEveryLayout(string device)
    {
        var d = TestDevices.Use(device);
        var ilgpu = DeepSharp.Backends.DeviceManager.Ilgpu(d);
        bool cublas = ilgpu.UseCuBlas;
        ilgpu.UseCuBlas = false;
        try
        {
            // Blocks of 128×128: 3 × 11 per product, times the batch, against 2 per multiprocessor. A CPU OpenCL runtime (CI's
            // PoCL) runs every kernel and staging pair with one product per layout: a batch of 9 took 86 s there.
            bool gpu = Device.TryAllGpus().Contains(d);
            int batch = gpu ? Math.Max(9, 2 * ilgpu.Accelerator.NumMultiprocessors / 33 + 1) : 1, m = 260, n = 1292;
            foreach (int k in new[] { 36, 38 }) // K = 38: the general kernel
                foreach (bool ta in new[] { false, true })
                    foreach (bool tb in new[] { false, true })
                    {
                        var a = Ref.Random(batch * m * k, k + 1); var b = Ref.Random(batch * k * n, k + 2);
                        Tensor On(float[] v, int rows, int cols, bool t, Device dev) =>
                            t ? Tensor.FromArray(v, [batch, cols, rows], dev).Transpose(1, 2)
                                : Tensor.FromArray(v, [batch, rows, cols], dev);
                        var expected = Tensor.MatMul(On(a, m, k, ta, Device.Cpu), On(b, k, n, tb, Device.Cpu)).ToArray<float>();
                        var actual = Tensor.MatMul(On(a, m, k, ta, d), On(b, k, n, tb, d)).ToArray<float>();
                        Ref.Close(expected.Select(x => (double)x).ToArray(), actual, 1e-4, $"k={k} ta={ta} tb={tb}");
                    }
            // A single product on a grid of 33 blocks: split-K (four slices of 256), then the slices' sum.
            var x = Ref.Random(260 * 1024, 3); var y = Ref.Random(1024 * 1292, 4);
            var single = Tensor.MatMul(Tensor.FromArray(x, [260, 1024], d), Tensor.FromArray(y, [1024, 1292], d)).ToArray<float>();
            var cpu = Tensor.MatMul(Tensor.FromArray(x, [260, 1024]), Tensor.FromArray(y, [1024, 1292])).ToArray<float>();
            Ref.Close(cpu.Select(v => (double)v).ToArray(), single, 1e-4, "split-K");
            Assert.Contains(ilgpu.CompiledKernels, name => name.StartsWith("gemmVector", StringComparison.Ordinal));
            // A convolution's weight gradient: 32 products of 32×27 with K = 1024, one block each: on a GPU with over 16
            // multiprocessors, four slices per product (B a transposed view), then each product's sum.
            var gy = Ref.Random(32 * 32 * 1024, 5); var cols = Ref.Random(32 * 27 * 1024, 6);
            float[] Dw(Device dev) =>
                Tensor.MatMul(Tensor.FromArray(gy, [32, 32, 1024], dev),
                    Tensor.FromArray(cols, [32, 27, 1024], dev).Transpose(1, 2)).ToArray<float>();
            Ref.Close(Dw(Device.Cpu).Select(v => (double)v).ToArray(), Dw(d), 1e-4, "batched split-K");
        }
        finally { ilgpu.UseCuBlas = cublas; }
    }
}
