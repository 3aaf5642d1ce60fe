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

    private static (float First, float Last, float[] Weights) TrainMlp(Device d, ulong seed, Func<Tensor[], Optimizer> optimizer, int steps = 60)
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
        // step 1: g = 2·1 + 0.1·1 = 2.1, m = 2.1, p = 1 - 0.21 = 0.79; step 2: g = 1.58 + 0.079 = 1.659, m = 1.05 + 1.659 = 2.709, p = 0.79 - 0.2709
        Assert.Equal(0.5191f, p.Item(), 4);
        var q = Tensor.FromArray(new float[] { 1f }).RequiresGradient();
        var adam = new Adam([q], lr: 0.1f);
        adam.ZeroGrad(); (q * 3f).Sum().Backward(); adam.Step();
        Assert.Equal(0.9f, q.Item(), 5); // first Adam step moves by lr·sign(g) (bias correction makes m̂/√v̂ = 1)
        Assert.Throws<ArgumentOutOfRangeException>(() => new Sgd([q], lr: -1f));
        Assert.Throws<ArgumentException>(() => new Sgd([Tensor.Ones(2)], lr: 0.1f));
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
            for (int i = 0; i < tiled.Length; i++) Assert.True(Math.Abs(tiled[i] - direct[i]) <= 1e-4f * (1 + Math.Abs(tiled[i])), $"C[{i}]: tiled {tiled[i]}, direct {direct[i]}");
        }
        finally { backend.UseTiledGemm = true; }
    }
}
