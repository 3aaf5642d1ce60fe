using DeepSharp;
using DeepSharp.Optim;

namespace DeepSharp.Tests;

public class TrainingTests
{
    [Theory, MemberData(nameof(TestDevices.All), MemberType = typeof(TestDevices))]
    public void LinearRegressionRecoversTheTrueWeights(string device)
    {
        var d = TestDevices.Use(device);
        var g = new Generator(3);
        var trueW = Tensor.FromArray(new float[] { 2f, -3.4f }, [2, 1], d);
        var X = Tensor.Randn([256, 2], generator: g, device: d);
        var y = X.MatMul(trueW) + 4.2f + Tensor.Randn([256, 1], 0f, 0.01f, g, d);
        var w = Tensor.Zeros([2, 1], device: d).RequiresGradient();
        var b = Tensor.Zeros([1], device: d).RequiresGradient();
        var opt = new Sgd([w, b], lr: 0.1f);
        for (int step = 0; step < 150; step++)
        {
            using var scope = TensorScope.Begin();
            opt.ZeroGrad();
            Functional.MseLoss(X.MatMul(w) + b, y).Backward();
            opt.Step();
        }
        var wv = w.ToArray<float>();
        Assert.Equal(2f, wv[0], 1);
        Assert.Equal(-3.4f, wv[1], 1);
        Assert.Equal(4.2f, b.Item(), 1);
    }

    private static (float First, float Last, float[] Weights) TrainMlp(Device d, ulong seed, Func<Tensor[], Optimizer> optimizer,
        int steps = 60)
    {
        var g = new Generator(seed);
        var X = Tensor.Randn([64, 20], generator: g, device: d);
        var labels = X.Slice(1, 0, 10).ArgMax(1); // a learnable rule: the arg-max of the first 10 features
        var w1 = (Tensor.Randn([20, 32], 0f, 0.2f, g, d)).RequiresGradient();
        var b1 = Tensor.Zeros([32], device: d).RequiresGradient();
        var w2 = (Tensor.Randn([32, 10], 0f, 0.2f, g, d)).RequiresGradient();
        var b2 = Tensor.Zeros([10], device: d).RequiresGradient();
        var opt = optimizer([w1, b1, w2, b2]);
        float first = 0, last = 0;
        for (int step = 0; step < steps; step++)
        {
            using var scope = TensorScope.Begin();
            opt.ZeroGrad();
            var loss = Functional.CrossEntropy((X.MatMul(w1) + b1).Relu().MatMul(w2) + b2, labels);
            loss.Backward();
            opt.Step();
            if (step == 0) first = loss.Item();
            last = loss.Item();
        }
        return (first, last, w2.ToArray<float>());
    }

    [Theory, MemberData(nameof(TestDevices.All), MemberType = typeof(TestDevices))]
    public void MlpLossGoesDownWithSgdMomentumAndWithAdam(string device)
    {
        var d = TestDevices.Use(device);
        var sgd = TrainMlp(d, 5, p => new Sgd(p, lr: 0.1f, momentum: 0.9f, weightDecay: 1e-4f));
        Assert.True(sgd.Last < 0.5f * sgd.First, $"SGD: loss {sgd.First} → {sgd.Last}");
        var adam = TrainMlp(d, 5, p => new Adam(p, lr: 0.01f));
        Assert.True(adam.Last < 0.5f * adam.First, $"Adam: loss {adam.First} → {adam.Last}");
    }

    [Theory, MemberData(nameof(TestDevices.All), MemberType = typeof(TestDevices))]
    public void SameSeedSameResultOnTheSameDevice(string device)
    {
        var d = TestDevices.Use(device);
        var a = TrainMlp(d, 11, p => new Adam(p, lr: 0.01f), steps: 10);
        var b = TrainMlp(d, 11, p => new Adam(p, lr: 0.01f), steps: 10);
        Assert.Equal(a.Weights, b.Weights);
    }

    [Fact]
    public void OptimizerUpdatesMatchTheirFormulas()
    {
        // Two steps by hand: SGD with momentum (buffer starts as the gradient) and Adam with bias correction.
        var p = Tensor.FromArray(new float[] { 1f }).RequiresGradient();
        var sgd = new Sgd([p], lr: 0.1f, momentum: 0.5f, weightDecay: 0.1f);
        for (int i = 0; i < 2; i++) { sgd.ZeroGrad(); (p * p).Sum().Backward(); sgd.Step(); }
        // step 1: g = 2·1 + 0.1·1 = 2.1, m = 2.1, p = 1 - 0.21 = 0.79; step 2: g = 1.58 + 0.079 = 1.659, m = 1.05 + 1.659 = 2.709,
        // p = 0.79 - 0.2709
        Assert.Equal(0.5191f, p.Item(), 4);
        var q = Tensor.FromArray(new float[] { 1f }).RequiresGradient();
        var adam = new Adam([q], lr: 0.1f);
        adam.ZeroGrad(); (q * 3f).Sum().Backward(); adam.Step();
        Assert.Equal(0.9f, q.Item(), 5); // first Adam step moves by lr·sign(g) (bias correction makes m̂/√v̂ = 1)
        Assert.Throws<ArgumentOutOfRangeException>(() => new Sgd([q], lr: -1f));
        Assert.Throws<ArgumentException>(() => new Sgd([Tensor.Ones(2)], lr: 0.1f));
    }

    /// <summary>A gradient that does not fit its parameter makes Step throw before anything changes, and the next Step
    /// applies each update exactly once (nothing from the failed one is left queued).</summary>
    [Theory, MemberData(nameof(TestDevices.All), MemberType = typeof(TestDevices))]
    public void StepWithABadGradientChangesNothing(string device)
    {
        var d = TestDevices.Use(device);
        var a = Tensor.FromArray(new float[] { 1f, 2f }, device: d).RequiresGradient();
        var b = Tensor.FromArray(new float[] { 3f }, device: d).RequiresGradient();
        var opt = new Sgd([a, b], lr: 0.5f);
        a.Grad = Tensor.FromArray(new float[] { 1f, 1f }, device: d);
        b.Grad = Tensor.FromArray(new float[] { 1f, 1f }, device: d); // wrong shape
        var e = Assert.Throws<InvalidOperationException>(opt.Step);
        Assert.Contains("[2]", e.Message);
        Assert.Equal(new float[] { 1f, 2f }, a.ToArray<float>());
        Assert.Equal(0, opt.StepCount);
        b.Grad = Tensor.FromArray(new float[] { 2f }, device: d);
        opt.Step();
        Assert.Equal(new float[] { 0.5f, 1.5f }, a.ToArray<float>());
        Assert.Equal(new float[] { 2f }, b.ToArray<float>());
    }

    /// <summary>Accelerators update four parameters per launch: six parameters of different sizes (two launches, the second
    /// with unused slots) must end exactly where the CPU's one-at-a-time loop ends, for SGD with momentum and for Adam.</summary>
    [Theory, MemberData(nameof(TestDevices.Accelerators), MemberType = typeof(TestDevices))]
    public void BatchedOptimizerLaunchesMatchTheCpu(string device)
    {
        var d = TestDevices.Use(device);
        int[] sizes = [3, 17, 1, 40, 5, 9];
        foreach (bool adam in new[] { false, true })
        {
            float[][] Run(Device dev)
            {
                var ps = sizes.Select((n, i) => Tensor.FromArray(Ref.Random(n, 10 + i), [n], dev).RequiresGradient()).ToArray();
                Optimizer opt = adam ? new Adam(ps, lr: 0.05f) : new Sgd(ps, lr: 0.1f, momentum: 0.9f, weightDecay: 0.01f);
                for (int step = 0; step < 3; step++)
                {
                    opt.ZeroGrad();
                    ps.Select((p, i) => (p * p * (i + 1f)).Sum()).Aggregate((a, b) => a + b).Backward();
                    opt.Step();
                }
                return ps.Select(p => p.ToArray<float>()).ToArray();
            }
            var expected = Run(Device.Cpu); var actual = Run(d);
            for (int i = 0; i < sizes.Length; i++)
                Ref.Close(expected[i].Select(v => (double)v).ToArray(), actual[i], 1e-5, $"{(adam ? "Adam" : "SGD")} parameter {i}");
        }
    }

}

/// <summary>Tests that read a device pool's totals run alone: parallel tests would allocate on the same device.</summary>
[CollectionDefinition("Serial", DisableParallelization = true)]
public sealed class SerialCollection;

[Collection("Serial")]
public class MemoryTests
{
    [Theory, MemberData(nameof(TestDevices.Accelerators), MemberType = typeof(TestDevices))]
    public void DeviceMemoryReturnsToBaselineAfterManySteps(string device)
    {
        var d = TestDevices.Use(device);
        var pool = Backends.DeviceManager.Ilgpu(d).Pool;
        var X = Tensor.Randn([16, 8], device: d);
        var w = Tensor.Randn([8, 4], device: d).RequiresGradient();
        var opt = new Adam([w], lr: 0.01f);
        void Step()
        {
            using var scope = TensorScope.Begin();
            opt.ZeroGrad();
            (X.MatMul(w).Tanh().Square()).Mean().Backward();
            opt.Step();
        }
        Step(); Step(); // optimizer state and the gradient exist from here on
        GC.Collect(); GC.WaitForPendingFinalizers();
        long baseline = pool.InUseBytes;
        for (int i = 0; i < 30; i++) Step();
        // No GC here: the scope must have returned every intermediate deterministically.
        Assert.Equal(baseline, pool.InUseBytes);
    }

    /// <summary>
    /// Issue 7: the training step of the chapter's MLP (Dense 20→256, ReLU, Dense 256→10, cross-entropy, SGD) is
    /// launch-bound on a GPU, so its kernel count is pinned: 3 forward (bias fused into each product), 1 loss, 7 backward
    /// (no copy for any parameter's gradient), 1 optimizer launch for all four parameters. The simulator runs the same
    /// kernels as CUDA; the CPU has no launches. Peak device memory stays flat over the steps.
    /// </summary>
    [Fact]
    public void MlpTrainingStepLaunchesTwelveKernelsAndKeepsAFlatPeak()
    {
        var d = TestDevices.Use("ilgpu-cpu");
        var g = new Generator(5);
        var w1 = Tensor.Randn([256, 20], 0f, 0.1f, g, d).RequiresGradient(); var b1 = Tensor.Zeros([256], device: d).RequiresGradient();
        var w2 = Tensor.Randn([10, 256], 0f, 0.1f, g, d).RequiresGradient(); var b2 = Tensor.Zeros([10], device: d).RequiresGradient();
        var x = Tensor.Randn([2, 20], generator: g, device: d);
        var labels = Tensor.FromArray(new long[] { 3, 7 }, device: d);
        var opt = new Sgd([w1, b1, w2, b2], lr: 0.01f);
        void Step()
        {
            using var scope = TensorScope.Begin();
            opt.ZeroGrad();
            var h = Functional.Linear(x, w1, b1).Relu();
            Functional.CrossEntropy(Functional.Linear(h, w2, b2), labels).Backward();
            opt.Step();
        }
        Step(); Step();
        d.ResetPeakMemory();
        long before = d.Stats.KernelLaunches;
        Step();
        Assert.Equal(12, d.Stats.KernelLaunches - before);
        long peak = d.Stats.PeakBytesInUse;
        for (int i = 0; i < 20; i++) Step();
        Assert.Equal(peak, d.Stats.PeakBytesInUse);
        Assert.True(d.Stats.KernelsCompiled > 0 && d.Stats.CompileTime > TimeSpan.Zero);
        Assert.Equal(-1, Device.Cpu.Stats.BytesInUse);
    }

    [Fact]
    public void DirectGemmKernelMatchesTheTiledOne()
    {
        var backend = Backends.DeviceManager.Ilgpu(Device.IlgpuCpu);
        var a = Tensor.Rand([2, 37, 19], generator: new Generator(1), device: Device.IlgpuCpu);
        var b = Tensor.Rand([19, 23], generator: new Generator(2), device: Device.IlgpuCpu);
        var tiled = a.MatMul(b).ToArray<float>();
        backend.UseTiledGemm = false;
        try
        {
            var direct = a.MatMul(b.T.Contiguous().T).ToArray<float>(); // a strided operand too
            Assert.Equal(tiled.Length, direct.Length);
            for (int i = 0; i < tiled.Length; i++)
                Assert.True(Math.Abs(tiled[i] - direct[i]) <= 1e-4f * (1 + Math.Abs(tiled[i])),
                    $"C[{i}]: tiled {tiled[i]}, direct {direct[i]}");
        }
        finally { backend.UseTiledGemm = true; }
    }
}
