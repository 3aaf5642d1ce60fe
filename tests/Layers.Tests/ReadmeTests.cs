using DeepSharp.Layers;

namespace DeepSharp.Layers.Tests;

/// <summary>The README's block tour, run as written.</summary>
public class ReadmeTests
{
    [Fact]
    public void BlockTourRuns()
    {
        var net = new Sequential(new Dense(256), new Relu(), new Dense(10));
        var y = net.Call(Tensor.Rand([2, 20]));
        Assert.Equal(new[] { 2, 10 }, y.Shape);
        Assert.Equal("Sequential(\n  (0): Dense(20 → 256)\n  (1): Relu()\n  (2): Dense(256 → 10)\n)", net.ToString());
        var layer2 = net[2].StateDict();
        Assert.Equal(new[] { 10, 256 }, layer2["weight"].Shape);
        Assert.Equal(new[] { 10 }, layer2["bias"].Shape);
        Assert.Equal(new[] { "0.weight", "0.bias", "2.weight", "2.bias" }, net.NamedParameters().Select(p => p.Path));
        Assert.Equal(2, net.Initialize(Init.XavierUniform(), (path, _) => path.EndsWith("weight")));
        net.To(Device.TryGpu());
        Assert.Equal(Device.TryGpu(), net.GetParameter("0.weight").Data.Device);
    }

    /// <summary>The README's mixed-precision loop, as written (float16 with a loss scaler), on a small task: it learns, and
    /// the float32 parameters keep float32 gradients.</summary>
    [Fact]
    public void MixedPrecisionLoopRuns()
    {
        var g = new Generator(5);
        var features = Tensor.Randn([128, 10], generator: g);
        var batches = Enumerable.Range(0, 4).Select(i => (features.Slice(0, 32 * i, 32 * i + 32),
            features.Slice(0, 32 * i, 32 * i + 32).Slice(1, 0, 3).ArgMax(1))).ToList();
        var net = new Sequential(new Dense(32), new Relu(), new Dense(3));
        net.Materialize([1, 10]);
        var opt = new Optim.Adam(net.Parameters(), lr: 0.01f);
        float Loss()
        {
            using (Autograd.NoGrad()) return Functional.CrossEntropy(net.Call(features), features.Slice(1, 0, 3).ArgMax(1)).Item<float>();
        }
        float before = Loss();
        var scaler = new Optim.GradScaler();                 // float16 only; bfloat16 has float32's range
        for (int epoch = 0; epoch < 10; epoch++)
        {
            foreach (var (x, y) in batches)
            {
                using var scope = TensorScope.Begin();
                opt.ZeroGrad();
                Tensor loss;
                using (Autocast.Enable(DType.Float16)) loss = Functional.CrossEntropy(net.Call(x), y);
                scaler.Scale(loss).Backward();
                scaler.Step(opt);                                // skipped when a gradient is inf or NaN
                scaler.Update();
            }
        }
        Assert.Equal(65536f, scaler.GetScale()); // 40 clean steps: no overflow, no growth yet
        Assert.Equal(DType.Float32, net.GetParameter("0.weight").Data.Grad!.DType);
        Assert.True(Loss() < 0.6f * before, $"loss {before} → {Loss()}");
    }
}
