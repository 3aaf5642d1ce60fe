using DeepSharp.Backends.Cpu;

namespace DeepSharp.Tests;

/// <summary>
/// <see cref="Functional.LstmSequence"/> on every device, forwards and in reverse: the output and final states against
/// PyTorch's LSTM equations in double precision, and every input's gradient against central differences of that double
/// reference. H = 32 takes the CPU's fused path (a multiple of its unit block at every vector width), H = 5 the per-step
/// ops; B = 3 leaves a partial tile of rows. On the CPU the fused path gives the same bits on one thread and on two, with
/// every micro-kernel; then the error messages.
/// </summary>
public class LstmSequenceTests
{
    private const int T = 3, B = 3;

    private static double Sig(double x) => 1 / (1 + Math.Exp(-x));

    /// <summary>The recurrence in double: (output [T, B, H], hn, cn).</summary>
    private static (double[] Y, double[] H, double[] C) Reference(double[] xg, double[] w, double[] h0, double[] c0, int n, bool reverse)
    {
        var y = new double[T * B * n];
        var (h, c) = ((double[])h0.Clone(), (double[])c0.Clone());
        for (int s = 0; s < T; s++)
        {
            int t = reverse ? T - 1 - s : s;
            double[] nh = new double[B * n], nc = new double[B * n];
            for (int b = 0; b < B; b++)
                for (int u = 0; u < n; u++)
                {
                    double G(int k)
                    {
                        int row = k * n + u;
                        double a = xg[(t * B + b) * 4 * n + row];
                        for (int j = 0; j < n; j++) a += w[row * n + j] * h[b * n + j];
                        return a;
                    }
                    int i = b * n + u;
                    nc[i] = Sig(G(1)) * c[i] + Sig(G(0)) * Math.Tanh(G(2));
                    nh[i] = Sig(G(3)) * Math.Tanh(nc[i]);
                }
            (h, c) = (nh, nc);
            Array.Copy(h, 0, y, t * B * n, B * n);
        }
        return (y, h, c);
    }

    private sealed record Case(double[][] Inputs, float[][] Weights, double[] Y, double[] H, double[] C, double[][] Grads);

    private static readonly Dictionary<(int, bool), Case> Cases = [];

    /// <summary>Inputs, loss weights, the reference outputs and the loss's gradients by central differences (computed once
    /// per size and direction).</summary>
    private static Case Get(int n, bool reverse)
    {
        lock (Cases)
        {
            if (Cases.TryGetValue((n, reverse), out var hit)) return hit;
            double[] D(float[] v, double scale) => v.Select(x => x * scale).ToArray();
            double[][] inputs = [D(Ref.Random(T * B * 4 * n, 1), 2), D(Ref.Random(4 * n * n, 2), 0.3), D(Ref.Random(B * n, 3), 1),
                D(Ref.Random(B * n, 4), 1)];
            float[][] weights = [Ref.Random(T * B * n, 5), Ref.Random(B * n, 6), Ref.Random(B * n, 7)];
            double Loss(double[][] x)
            {
                var (y, h, c) = Reference(x[0], x[1], x[2], x[3], n, reverse);
                return Dot(y, weights[0]) + Dot(h, weights[1]) + Dot(c, weights[2]);
            }
            var grads = Ref.CentralDifferences(inputs, Loss);
            var (ry, rh, rc) = Reference(inputs[0], inputs[1], inputs[2], inputs[3], n, reverse);
            return Cases[(n, reverse)] = new Case(inputs, weights, ry, rh, rc, grads);
        }
    }

    private static double Dot(double[] a, float[] w) => a.Select((v, i) => v * w[i]).Sum();

    /// <summary>Runs the op on <paramref name="d"/>: the output, hn, cn and the four inputs' gradients, as floats;
    /// <paramref name="shifted"/>: every input is passed as a view that starts 7 elements into a larger tensor.</summary>
    internal static float[][] Run(int n, bool reverse, Device d, bool h0Grad = true, bool shifted = false)
    {
        var k = Get(n, reverse);
        int[][] shapes = [[T, B, 4 * n], [4 * n, n], [B, n], [B, n]];
        var x = k.Inputs.Select((v, i) => Tensor.FromArray(v.Select(e => (float)e).ToArray(), shapes[i], d)
            .RequiresGradient(i != 2 || h0Grad)).ToArray();
        var a = shifted ? x.Select(Ref.ShiftedView).ToArray() : x;
        var (y, h, c) = Functional.LstmSequence(a[0], a[1], a[2], a[3], reverse);
        ((y * Tensor.FromArray(k.Weights[0], [T, B, n], d)).Sum() + (h * Tensor.FromArray(k.Weights[1], [B, n], d)).Sum() +
            (c * Tensor.FromArray(k.Weights[2], [B, n], d)).Sum()).Backward();
        return [y.ToArray<float>(), h.ToArray<float>(), c.ToArray<float>(), .. x.Select(t => t.Grad?.ToArray<float>() ?? [])];
    }

    public static TheoryData<string, int, bool> All()
    {
        var d = new TheoryData<string, int, bool>();
        foreach (var dev in TestDevices.Names)
            foreach (int n in new[] { 32, 5 })
                foreach (bool r in new[] { false, true }) d.Add(dev, n, r);
        return d;
    }

    [Theory, MemberData(nameof(All))]
    public void MatchesReferenceWithGradients(string device, int n, bool reverse)
    {
        var d = TestDevices.Use(device);
        Check(n, reverse, Run(n, reverse, d), TestDevices.Tol(d, 1e-5) * 10);
    }

    /// <summary>What <see cref="Run"/> returned against the reference.</summary>
    internal static void Check(int n, bool reverse, float[][] got, double tol, bool h0Grad = true)
    {
        Assert.Equal(h0Grad, got[5].Length > 0); // h0's gradient exactly when h0 asked for one
        var k = Get(n, reverse);
        Ref.Close(k.Y, got[0], tol, "output");
        Ref.Close(k.H, got[1], tol, "hn");
        Ref.Close(k.C, got[2], tol, "cn");
        string[] names = ["dxGates", "dweightHh", "dh0", "dc0"];
        for (int i = 0; i < 4; i++)
            if (i != 2 || h0Grad) Ref.Close(k.Grads[i], got[3 + i], tol * 10, names[i]);
    }

    /// <summary>Inputs that are views starting inside their storage give the same values and gradients.</summary>
    [Theory, MemberData(nameof(All))]
    public void ViewsWithOffsetsMatchReference(string device, int n, bool reverse)
    {
        var d = TestDevices.Use(device);
        Check(n, reverse, Run(n, reverse, d, shifted: true), TestDevices.Tol(d, 1e-5) * 10);
    }

    /// <summary>h0 without a gradient (a layer's zero state): its product is skipped, and the other gradients still match.</summary>
    [Theory, MemberData(nameof(All))]
    public void WithoutH0sGradientTheOthersStillMatch(string device, int n, bool reverse)
    {
        var d = TestDevices.Use(device);
        Check(n, reverse, Run(n, reverse, d, h0Grad: false), TestDevices.Tol(d, 1e-5) * 10, h0Grad: false);
    }

    /// <summary>An empty batch gives empty outputs and gradients of the right shapes (the weight's gradient zero).</summary>
    [Theory, MemberData(nameof(TestDevices.All), MemberType = typeof(TestDevices))]
    public void AnEmptyBatchGivesEmptyResults(string device)
    {
        var d = TestDevices.Use(device);
        var xg = Tensor.Zeros([3, 0, 128], DType.Float32, d).RequiresGradient();
        var w = Tensor.Ones([128, 32], DType.Float32, d).RequiresGradient();
        var h0 = Tensor.Zeros([0, 32], DType.Float32, d);
        var (y, h, c) = Functional.LstmSequence(xg, w, h0, h0);
        Assert.Equal([3, 0, 32], y.Shape);
        Assert.Equal([0, 32], h.Shape);
        Assert.Equal([0, 32], c.Shape);
        (y.Sum() + c.Sum()).Backward();
        Assert.Equal([3, 0, 128], xg.Grad!.Shape);
        Assert.All(w.Grad!.ToArray<float>(), v => Assert.Equal(0f, v));
    }

    [Fact]
    public void ChecksItsArguments()
    {
        var h = Tensor.Zeros([2, 3]);
        var e = Assert.Throws<ArgumentException>(() => Functional.LstmSequence(Tensor.Zeros([4, 2, 11]), Tensor.Zeros([12, 3]), h, h));
        Assert.Contains("xGates must be [steps, batch, 4·hidden] = [steps, 2, 12]", e.Message);
        e = Assert.Throws<ArgumentException>(() => Functional.LstmSequence(Tensor.Zeros([4, 2, 12]), Tensor.Zeros([3, 12]), h, h));
        Assert.Contains("weightHh must be [4·hidden, hidden] = [12, 3]", e.Message);
        e = Assert.Throws<ArgumentException>(() => Functional.LstmSequence(Tensor.Zeros([4, 2, 12]), Tensor.Zeros([12, 3]), h,
            Tensor.Zeros([3, 2])));
        Assert.Contains("c0 must have h0's shape [2, 3], got [3, 2]", e.Message);
        Assert.Throws<ArgumentNullException>(() => Functional.LstmSequence(null!, Tensor.Zeros([12, 3]), h, h));
    }

    [Fact]
    public void NoStepsGiveAnEmptyOutputAndTheInitialStates()
    {
        var h0 = Tensor.Ones([2, 32]); var c0 = Tensor.Full([2, 32], 2f);
        var (y, h, c) = Functional.LstmSequence(Tensor.Zeros([0, 2, 128]), Tensor.Zeros([128, 32]), h0, c0);
        Assert.Equal([0, 2, 32], y.Shape);
        Assert.Equal(h0.ToArray<float>(), h.ToArray<float>());
        Assert.Equal(c0.ToArray<float>(), c.ToArray<float>());
    }
}

/// <summary>The CPU's fused sequence with each micro-kernel (512-, 256- and 128-bit): the reference's values, and the same
/// bits on one thread and on two.</summary>
[Collection(nameof(CpuVectorWidthTests))]
public class LstmSequenceCpuPathTests
{
    [Theory]
    [InlineData(512)]
    [InlineData(256)]
    [InlineData(128)]
    public void SameBitsOnOneThreadAndTwoWithEveryMicroKernel(int bits)
    {
        (int threadsBefore, int bitsBefore) = (CpuParallel.Threads, CpuBackend.VectorBits);
        try
        {
            CpuBackend.VectorBits = bits;
            Assert.Equal(0, 32 % CpuBackend.LstmUnitBlock);
            foreach (bool reverse in new[] { false, true })
            {
                var runs = new[] { 1, 2 }.Select(threads =>
                {
                    CpuParallel.Threads = threads;
                    return LstmSequenceTests.Run(32, reverse, Device.Cpu);
                }).ToArray();
                for (int i = 0; i < runs[0].Length; i++) Assert.Equal(runs[0][i], runs[1][i]);
                LstmSequenceTests.Check(32, reverse, runs[0], 1e-4);
            }
        }
        finally { (CpuParallel.Threads, CpuBackend.VectorBits) = (threadsBefore, bitsBefore); }
    }
}
