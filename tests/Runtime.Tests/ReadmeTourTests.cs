using DeepSharp;

namespace DeepSharp.Tests;

/// <summary>The README's tour, run as written (on the best available device), so the documentation cannot rot.</summary>
public class ReadmeTourTests
{
    [Fact]
    public void TourRuns()
    {
        var d = Device.TryGpu();
        Assert.Contains("cpu", Device.Describe());
        var x = Tensor.Randn([2, 3], generator: new Generator(42), device: d);
        var w = Tensor.Ones([3, 4], device: d);
        var y = (x.MatMul(w) + 1f).Relu();
        Assert.StartsWith("tensor([[", y.ToString());
        Assert.Equal(new[] { 1, 4 }, y.Sum(axis: 0, keepDim: true).Shape);
        var v = x.T.Slice(0, 1).Reshape(-1);
        Assert.Equal(4, v.Count);
        var h = y.To(Device.Cpu).ToArray<float>();
        Assert.All(h, value => Assert.True(value >= 0));
        var w1 = Tensor.Randn([20, 256], 0f, 0.1f, device: d).RequiresGradient();
        var w2 = Tensor.Randn([256, 10], 0f, 0.1f, device: d).RequiresGradient();
        var opt = new DeepSharp.Optim.Sgd([w1, w2], lr: 0.1f);
        var X = Tensor.Randn([64, 20], device: d);
        var labels = X.Slice(1, 0, 10).ArgMax(1);
        float first = 0, last = 0;
        for (int step = 0; step < 100; step++)
        {
            using var scope = TensorScope.Begin();
            opt.ZeroGrad();
            var loss = Functional.CrossEntropy(X.MatMul(w1).Relu().MatMul(w2), labels);
            loss.Backward();
            opt.Step();
            if (step == 0) first = loss.Item();
            last = loss.Item();
        }
        Assert.True(last < first / 2, $"loss {first} → {last}");
        if (d != Device.Cpu)
            Assert.Contains("Add: argument 'b' is on cpu", Assert.Throws<DeviceMismatchException>(() => y + Tensor.Ones(4)).Message);
    }
}
