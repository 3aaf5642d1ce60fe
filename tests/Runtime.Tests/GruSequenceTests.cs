using DeepSharp.Backends.Cpu;

namespace DeepSharp.Tests;

/// <summary>
/// <see cref="Functional.GruSequence"/> on every device, forwards and in reverse, with and without the hidden bias: the
/// output and final state against PyTorch's GRU equations in double precision, and every input's gradient against central
/// differences of that double reference. H = 32 takes the fused path (on the CPU a multiple of its unit block at every
/// vector width), H = 5 the per-step ops on the CPU; B = 3 leaves a partial tile of rows. Then the same bits on one CPU
/// thread and on two, the launches per step on accelerators, and the error messages.
/// </summary>
public class GruSequenceTests
{
    private const int T = 3, B = 3;

    private static double Sig(double x) => 1 / (1 + Math.Exp(-x));

    /// <summary>The recurrence in double: (output [T, B, H], hn). bias null: none.</summary>
    private static (double[] Y, double[] H) Reference(double[] xg, double[] w, double[]? bias, double[] h0, int n, bool reverse)
    {
        var y = new double[T * B * n];
        var h = (double[])h0.Clone();
        for (int s = 0; s < T; s++)
        {
            int t = reverse ? T - 1 - s : s;
            var nh = new double[B * n];
            for (int b = 0; b < B; b++)
                for (int u = 0; u < n; u++)
                {
                    double X(int k) => xg[(t * B + b) * 3 * n + k * n + u];
                    double H(int k)
                    {
                        int row = k * n + u;
                        double a = bias?[row] ?? 0;
                        for (int j = 0; j < n; j++) a += w[row * n + j] * h[b * n + j];
                        return a;
                    }
                    double r = Sig(X(0) + H(0)), z = Sig(X(1) + H(1)), g = Math.Tanh(X(2) + r * H(2));
                    nh[b * n + u] = (1 - z) * g + z * h[b * n + u];
                }
            h = nh;
            Array.Copy(h, 0, y, t * B * n, B * n);
        }
        return (y, h);
    }

    private sealed record Case(double[][] Inputs, float[][] Weights, double[] Y, double[] H, double[][] Grads);

    private static readonly Dictionary<(int, bool, bool), Case> Cases = [];

    /// <summary>Inputs (xGates, W_hh, h0, b_hh), loss weights, the reference and the loss's gradients by central differences.</summary>
    private static Case Get(int n, bool reverse, bool bias)
    {
        lock (Cases)
        {
            if (Cases.TryGetValue((n, reverse, bias), out var hit)) return hit;
            double[] D(float[] v, double scale) => v.Select(x => x * scale).ToArray();
            double[][] inputs = [D(Ref.Random(T * B * 3 * n, 1), 2), D(Ref.Random(3 * n * n, 2), 0.3), D(Ref.Random(B * n, 3), 1),
                D(Ref.Random(3 * n, 4), bias ? 1 : 0)];
            float[][] weights = [Ref.Random(T * B * n, 5), Ref.Random(B * n, 6)];
            double Loss(double[][] x)
            {
                var (y, h) = Reference(x[0], x[1], bias ? x[3] : null, x[2], n, reverse);
                return y.Select((v, i) => v * weights[0][i]).Sum() + h.Select((v, i) => v * weights[1][i]).Sum();
            }
            var grads = Ref.CentralDifferences(inputs, Loss);
            var (ry, rh) = Reference(inputs[0], inputs[1], bias ? inputs[3] : null, inputs[2], n, reverse);
            return Cases[(n, reverse, bias)] = new Case(inputs, weights, ry, rh, grads);
        }
    }

    /// <summary>The op on <paramref name="d"/>: output, hn and the gradients of xGates, W_hh, h0 and b_hh (empty when not
    /// asked for); <paramref name="shifted"/>: every input a view starting 7 elements into a larger tensor.</summary>
    internal static float[][] Run(int n, bool reverse, bool bias, Device d, bool h0Grad = true, bool shifted = false)
    {
        var k = Get(n, reverse, bias);
        int[][] shapes = [[T, B, 3 * n], [3 * n, n], [B, n], [3 * n]];
        var x = k.Inputs.Select((v, i) => Tensor.FromArray(v.Select(e => (float)e).ToArray(), shapes[i], d)
            .RequiresGradient(i != 2 || h0Grad)).ToArray();
        var a = shifted ? x.Select(Ref.ShiftedView).ToArray() : x;
        var (y, h) = Functional.GruSequence(a[0], a[1], bias ? a[3] : null, a[2], reverse);
        ((y * Tensor.FromArray(k.Weights[0], [T, B, n], d)).Sum() + (h * Tensor.FromArray(k.Weights[1], [B, n], d)).Sum()).Backward();
        return [y.ToArray<float>(), h.ToArray<float>(), .. x.Select(t => t.Grad?.ToArray<float>() ?? [])];
    }

    internal static void Check(int n, bool reverse, bool bias, float[][] got, double tol, bool h0Grad = true)
    {
        var k = Get(n, reverse, bias);
        Ref.Close(k.Y, got[0], tol, "output");
        Ref.Close(k.H, got[1], tol, "hn");
        Assert.Equal(h0Grad, got[4].Length > 0);
        Assert.Equal(bias, got[5].Length > 0);
        string[] names = ["dxGates", "dweightHh", "dh0", "dbiasHh"];
        for (int i = 0; i < 4; i++)
            if ((i != 2 || h0Grad) && (i != 3 || bias)) Ref.Close(k.Grads[i], got[2 + i], tol * 10, names[i]);
    }

    public static TheoryData<string, int, bool, bool> All()
    {
        var d = new TheoryData<string, int, bool, bool>();
        foreach (var dev in TestDevices.Names)
            foreach (int n in new[] { 32, 5 })
                foreach (bool r in new[] { false, true })
                    foreach (bool bias in new[] { true, false }) d.Add(dev, n, r, bias);
        return d;
    }

    [Theory, MemberData(nameof(All))]
    public void MatchesReferenceWithGradients(string device, int n, bool reverse, bool bias)
    {
        var d = TestDevices.Use(device);
        Check(n, reverse, bias, Run(n, reverse, bias, d), TestDevices.Tol(d, 1e-5) * 10);
    }

    /// <summary>Views with storage offsets, and h0 without a gradient (its product skipped), give the same results.</summary>
    [Theory, MemberData(nameof(All))]
    public void ViewsWithOffsetsAndNoH0GradientMatchReference(string device, int n, bool reverse, bool bias)
    {
        var d = TestDevices.Use(device);
        Check(n, reverse, bias, Run(n, reverse, bias, d, shifted: true), TestDevices.Tol(d, 1e-5) * 10);
        Check(n, reverse, bias, Run(n, reverse, bias, d, h0Grad: false), TestDevices.Tol(d, 1e-5) * 10, h0Grad: false);
    }

    /// <summary>Changing in place what the backward reads (the input gates, or the output) after the forward is refused
    /// when the backward runs, as for every op, instead of giving wrong gradients.</summary>
    [Theory, MemberData(nameof(TestDevices.All), MemberType = typeof(TestDevices))]
    public void InPlaceChangesAfterTheForwardAreRefused(string device)
    {
        var d = TestDevices.Use(device);
        var leaf = Tensor.FromArray(Ref.Random(2 * 3 * 96, 1), [2, 3, 96], d).RequiresGradient();
        var w = Tensor.FromArray(Ref.Random(96 * 32, 2), [96, 32], d).RequiresGradient();
        var h0 = Tensor.Zeros([3, 32], DType.Float32, d);
        var xg = leaf * 1f;
        var (y, _) = Functional.GruSequence(xg, w, null, h0);
        using (Autograd.NoGrad()) xg.MulInPlace(2f); // a graph tensor can only be changed outside recording
        Assert.Contains("modified in place", Assert.Throws<InvalidOperationException>(() => y.Sum().Backward()).Message);
        var (y2, _, _) = Functional.LstmSequence(Tensor.FromArray(Ref.Random(2 * 3 * 128, 3), [2, 3, 128], d).RequiresGradient(),
            Tensor.FromArray(Ref.Random(128 * 32, 4), [128, 32], d).RequiresGradient(), h0, h0);
        var loss = y2.Sum();
        using (Autograd.NoGrad()) y2.MulInPlace(2f);
        Assert.Contains("modified in place", Assert.Throws<InvalidOperationException>(() => loss.Backward()).Message);
    }

    [Fact]
    public void ChecksItsArguments()
    {
        var h = Tensor.Zeros([2, 3]);
        var e = Assert.Throws<ArgumentException>(() => Functional.GruSequence(Tensor.Zeros([4, 2, 9]), Tensor.Zeros([9, 3]),
            Tensor.Zeros([8]), h));
        Assert.Equal("biasHh", e.ParamName);
        Assert.Contains("biasHh must be [3·hidden] = [9]", e.Message);
        e = Assert.Throws<ArgumentException>(() => Functional.GruSequence(Tensor.Zeros([4, 2, 12]), Tensor.Zeros([9, 3]), null, h));
        Assert.Equal("xGates", e.ParamName);
        Assert.Contains("[steps, 2, 9]", e.Message);
        Assert.Throws<ArgumentNullException>(() => Functional.GruSequence(null!, Tensor.Zeros([9, 3]), null, h));
    }
}

/// <summary>The CPU's fused GRU sequence with each vector width: the reference's values, and the same bits on one thread
/// and on two.</summary>
[Collection(nameof(CpuVectorWidthTests))]
public class GruSequenceCpuPathTests
{
    [Theory]
    [InlineData(512)]
    [InlineData(256)]
    [InlineData(128)]
    public void EveryWidthMatchesTheReferenceWithTheSameBitsOnAnyThreadCount(int bits)
    {
        CpuVectorWidths.SkipUnlessAccelerated(bits);
        (int threadsBefore, int bitsBefore) = (CpuParallel.Threads, CpuBackend.VectorBits);
        try
        {
            CpuBackend.VectorBits = bits;
            foreach (bool reverse in new[] { false, true })
            {
                var runs = new[] { 1, 2 }.Select(threads =>
                {
                    CpuParallel.Threads = threads;
                    return GruSequenceTests.Run(64, reverse, bias: true, Device.Cpu);
                }).ToArray();
                GruSequenceTests.Check(64, reverse, true, runs[0], 1e-4);
                for (int i = 0; i < runs[0].Length; i++) Assert.Equal(runs[0][i], runs[1][i]);
            }
        }
        finally { (CpuParallel.Threads, CpuBackend.VectorBits) = (threadsBefore, bitsBefore); }
    }
}
