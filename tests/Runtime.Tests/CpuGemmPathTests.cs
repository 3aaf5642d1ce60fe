using DeepSharp.Backends.Cpu;

namespace DeepSharp.Tests;

/// <summary>
/// The managed CPU backend's special paths, each against direct loops in double: products of two K-contiguous operands
/// with a narrow side (4×3 blocks of dot products, with row, column and K remainders), batches run one product per
/// thread with the bias added per product, and convolutions whose windows start or end in the padding (im2col and its
/// fold, forward and every gradient).
/// It sets the process-wide vector width, so it runs in the vector-width tests' collection (never beside another test).
/// </summary>
[Collection(nameof(CpuVectorWidthTests))]
public class CpuGemmPathTests
{
    public static TheoryData<int, int, int, int> DotShapes() => new()
    {
        { 1, 37, 100, 11 },   // rows 37 = 9 blocks of 4 + 1, columns 11 = 3 blocks of 3 + 2, K 100 = 12·8 + 4
        { 1, 6, 64, 40 },     // 6 rows: one block of 4 and two rows by plain dots
        { 1, 33, 257, 32 },
        { 4, 37, 300, 30 },   // a batch: one product per thread
        { 3, 50, 70, 9 },
        { 2, 24, 16, 8 },     // at most 8 columns: dot products even for short rows
    };

    [Theory, MemberData(nameof(DotShapes))]
    public void ProductsOfKContiguousOperandsMatchReference(int batch, int m, int k, int n)
    {
        var a = Ref.Random(batch * m * k, 7 + m); var w = Ref.Random(batch * n * k, 11 + n);
        var x = Tensor.FromArray(a, [batch, m, k]);
        var wt = Tensor.FromArray(w, [batch, n, k]).Transpose(1, 2); // [batch, k, n], K-contiguous
        var expected = new double[batch * m * n];
        for (int b = 0; b < batch; b++)
            for (int i = 0; i < m; i++)
                for (int j = 0; j < n; j++)
                {
                    double s = 0;
                    for (int p = 0; p < k; p++) s += (double)a[(b * m + i) * k + p] * w[(b * n + j) * k + p];
                    expected[(b * m + i) * n + j] = s;
                }
        foreach (int threads in new[] { 1, Environment.ProcessorCount })
            foreach (int bits in CpuVectorWidths.Available)
            {
                (int threadsBefore, int bitsBefore) = (CpuParallel.Threads, CpuBackend.VectorBits);
                (CpuParallel.Threads, CpuBackend.VectorBits) = (threads, bits);
                try
                {
                    var y = batch == 1 ? x.Reshape(m, k).MatMul(wt.Reshape(k, n)) : x.MatMul(wt);
                    Ref.Close(expected, y.ToArray<float>(), 1e-4, $"{threads} thread(s), {bits}-bit vectors");
                }
                finally { (CpuParallel.Threads, CpuBackend.VectorBits) = (threadsBefore, bitsBefore); }
            }
    }

    /// <summary>The blocked GEMM with each micro-kernel (8×32 Vector512 where the CPU has it, 6×16 Vector256, 6×16 Vector128),
    /// on sizes with ragged row panels, column panels and K blocks, with A and B row-major or transposed views (and a B of 13
    /// columns, which runs as dot products against its transpose).</summary>
    [Theory, InlineData(128), InlineData(256), InlineData(512)]
    public void BlockedProductsMatchReferenceWithEveryMicroKernel(int bits)
    {
        CpuVectorWidths.SkipUnlessAccelerated(bits);
        int before = CpuBackend.VectorBits;
        CpuBackend.VectorBits = bits;
        try
        {
            int seed = 0;
            var shapes = new[] { (37, 300, 45), (100, 513, 70), (6, 40, 32), (13, 7, 100), (37, 300, 13), (32, 32, 32), (8, 8, 8) };
            foreach (var (m, k, n) in shapes)
                foreach (bool ta in new[] { false, true })
                    foreach (bool tb in new[] { false, true })
                    {
                        var av = Ref.Random(m * k, ++seed); var bv = Ref.Random(k * n, ++seed);
                        var a = ta ? Tensor.FromArray(av, [m, k]).T.Contiguous().T : Tensor.FromArray(av, [m, k]);
                        var b = tb ? Tensor.FromArray(bv, [k, n]).T.Contiguous().T : Tensor.FromArray(bv, [k, n]);
                        var expected = new double[m * n];
                        for (int i = 0; i < m; i++)
                            for (int j = 0; j < n; j++)
                            {
                                double sum = 0;
                                for (int p = 0; p < k; p++) sum += (double)av[i * k + p] * bv[p * n + j];
                                expected[i * n + j] = sum;
                            }
                        Ref.Close(expected, a.MatMul(b).ToArray<float>(), 1e-4, $"{m}x{k}x{n} ta={ta} tb={tb} {bits}-bit");
                    }
        }
        finally { CpuBackend.VectorBits = before; }
    }

    public static TheoryData<int, int, int, int, int> ConvCases() => new()
    {
        { 3, 1, 1, 16, 15 }, { 5, 1, 2, 16, 15 }, { 3, 2, 1, 16, 15 }, { 1, 1, 2, 16, 15 }, { 2, 3, 0, 16, 15 }, { 3, 1, 3, 16, 15 },
        { 3, 1, 1, 5, 4 }, { 2, 2, 0, 6, 7 }, // images with rows shorter than a vector
        { 3, 1, 1, 16, 16 }, { 3, 1, 1, 24, 24 }, { 3, 2, 1, 48, 48 }, // 128 or more output pixels: one product per image
        { 7, 1, 3, 10, 12 }, // under 128 output pixels but 49 window positions: the batch-inner columns copied row by row
    };

    /// <summary>[8, 3, H, W] through 6 filters: small images (under <see cref="Functional.BatchedConvMinPixels"/> output
    /// pixels) as one product for the whole batch, with rows shorter than a vector among them; larger ones as a batch of
    /// per-image products, large enough to run one per thread.</summary>
    [Theory, MemberData(nameof(ConvCases))]
    public void ConvolutionAndItsGradientsMatchDirectLoops(int kernel, int stride, int padding, int H, int W)
    {
        const int N = 8, C = 3, O = 6;
        var xs = Ref.Random(N * C * H * W, 3); var ws = Ref.Random(O * C * kernel * kernel, 4); var bs = Ref.Random(O, 5);
        var x = Tensor.FromArray(xs, [N, C, H, W]).RequiresGradient();
        var weight = Tensor.FromArray(ws, [O, C, kernel, kernel]).RequiresGradient();
        var bias = Tensor.FromArray(bs, [O]).RequiresGradient();
        var y = Functional.Conv2d(x, weight, bias, stride, padding);
        int oh = (H + 2 * padding - kernel) / stride + 1, ow = (W + 2 * padding - kernel) / stride + 1;
        Assert.Equal(new[] { N, O, oh, ow }, y.Shape);
        var gs = Ref.Random(N * O * oh * ow, 6);
        y.Backward(Tensor.FromArray(gs, [N, O, oh, ow]));

        var ey = new double[N * O * oh * ow]; var ex = new double[xs.Length]; var ew = new double[ws.Length]; var eb = new double[O];
        for (int n = 0; n < N; n++) for (int o = 0; o < O; o++) for (int r = 0; r < oh; r++) for (int q = 0; q < ow; q++)
        {
            int yi = ((n * O + o) * oh + r) * ow + q;
            double acc = bs[o], g = gs[yi];
            eb[o] += g;
            for (int c = 0; c < C; c++) for (int i = 0; i < kernel; i++) for (int j = 0; j < kernel; j++)
            {
                int h = r * stride + i - padding, v = q * stride + j - padding;
                if (h < 0 || h >= H || v < 0 || v >= W) continue;
                int xi = ((n * C + c) * H + h) * W + v, wi = ((o * C + c) * kernel + i) * kernel + j;
                acc += (double)xs[xi] * ws[wi];
                ex[xi] += g * ws[wi];
                ew[wi] += g * xs[xi];
            }
            ey[yi] = acc;
        }
        string what = $"k {kernel} s {stride} p {padding} on {H}×{W}";
        Ref.Close(ey, y.ToArray<float>(), 1e-4, "y " + what);
        Ref.Close(ex, x.Grad!.ToArray<float>(), 1e-4, "dx " + what);
        Ref.Close(ew, weight.Grad!.ToArray<float>(), 1e-3, "dw " + what);
        Ref.Close(eb, bias.Grad!.ToArray<float>(), 1e-3, "db " + what);
    }
}
