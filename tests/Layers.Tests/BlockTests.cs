using DeepSharp.Layers;
using DeepSharp.Optim;

namespace DeepSharp.Layers.Tests;

public class BlockTests
{
    private static Tensor X(int batch = 2, int features = 20) => Tensor.Rand([batch, features], generator: new Generator(7));

    [Fact]
    public void CustomSequentialAndNestedBlocksRun()
    {
        var x = X();
        Assert.Equal(new[] { 2, 10 }, new Mlp().Call(x).Shape);
        Assert.Equal(new[] { 2, 10 }, new MySequential(new Dense(256), new Relu(), new Dense(10)).Call(x).Shape);
        var fixedNet = new FixedHiddenMlp();
        var s = fixedNet.Call(x);
        Assert.Equal(0, s.Rank);
        Assert.True(Math.Abs(s.Item()) <= 1f);
        var chimera = new Sequential(new NestMlp(), new Dense(20), new FixedHiddenMlp());
        Assert.Equal(0, chimera.Call(x).Rank);
        // The constant weight is a buffer: in the state dict, never a parameter.
        Assert.Contains("rand_weight", fixedNet.StateDict().Keys);
        Assert.DoesNotContain(fixedNet.NamedParameters(), p => p.Path == "rand_weight");
    }

    [Fact]
    public void SequentialIndexingCountAndTreePrint()
    {
        var net = new Sequential(new Dense(8, 4), new Relu(), new Dense(1, 8));
        Assert.Equal(3, net.Count);
        Assert.IsType<Relu>(net[1]);
        Assert.Equal(3, net.Count());
        Assert.Equal("Sequential(\n  (0): Dense(4 → 8)\n  (1): Relu()\n  (2): Dense(8 → 1)\n)", net.ToString());
        var rgnet = new Sequential(new Sequential(new Sequential(new Dense(8, 4), new Relu()), new Dense(4, 8)), new Dense(1, 4));
        Assert.IsType<Dense>(rgnet[0][0][0]);
        Assert.Contains("  (0): Sequential(\n    (0): Sequential(\n      (0): Dense(4 → 8)", rgnet.ToString());
        Assert.Throws<ArgumentOutOfRangeException>(() => net[5]);
    }

    [Fact]
    public void ParameterAccessByLayerAllAndPath()
    {
        var net = new Sequential(new Dense(8, 4), new Relu(), new Dense(1, 8));
        net.Call(Tensor.Rand([2, 4]));
        Assert.Equal(new[] { "weight", "bias" }, net[2].StateDict().Keys);
        Assert.Equal(new[] { "0.weight", "0.bias", "2.weight", "2.bias" }, net.NamedParameters().Select(p => p.Path));
        var bias = net.GetParameter("2.bias");
        Assert.Same(((Dense)net[2]).Bias, bias);
        Assert.Equal(new[] { 1 }, bias.Data.Shape);
        Assert.Null(bias.Grad);
        Assert.Contains("0.weight", Assert.Throws<KeyNotFoundException>(() => net.GetParameter("1.weight")).Message);
        // Editing Data in place under no-grad changes the model.
        using (Autograd.NoGrad()) bias.Data.FillInPlace(3f);
        Assert.Equal(3f, net.StateDict()["2.bias"].Item());
        Assert.Equal(new[] { "", "0", "1", "2" }, net.NamedBlocks().Select(b => b.Path));
    }

    [Fact]
    public void InitializersAppliedPerBlockWithCounts()
    {
        var net = new Sequential(new Dense(8, 4), new Relu(), new Dense(1, 8));
        net.Apply(m => { if (m is Dense d) { Init.Normal(0f, 0.01f).ApplyTo(d.Weight); Init.Zeros.ApplyTo(d.Bias!); } });
        net.Initialize();
        var w = net.GetParameter("0.weight").Data.ToArray<float>();
        Assert.InRange(w.Select(v => (double)v * v).Average(), 1e-5, 4e-4);
        Assert.All(net.GetParameter("0.bias").Data.ToArray<float>(), v => Assert.Equal(0f, v));
        Assert.Equal(4, net.Initialize(Init.Constant(1f)));
        Assert.All(net.GetParameter("2.weight").Data.ToArray<float>(), v => Assert.Equal(1f, v));
        Assert.Equal(1, net.Initialize(Init.XavierUniform(), (path, _) => path == "0.weight"));
        Assert.Equal(1, net.Initialize(Init.Constant(42f), (path, _) => path == "2.weight"));
        float bound = MathF.Sqrt(6f / (4 + 8));
        Assert.All(net.GetParameter("0.weight").Data.ToArray<float>(), v => Assert.InRange(v, -bound, bound));
        Assert.All(net.GetParameter("2.weight").Data.ToArray<float>(), v => Assert.Equal(42f, v));
        Assert.Equal(0, net.Initialize(Init.Zeros, (path, _) => path == "3.weight")); // a rule that matched nothing is visible
        // The chapter's custom initializer: U(-10, 10), then zero where |w| < 5.
        var myInit = Init.Custom("MyInit", (t, c) =>
        {
            t.CopyFrom(Tensor.Rand(c.Shape, -10f, 10f, c.Generator, t.Device));
            t.MulInPlace(t.Abs().Ge(Tensor.Scalar(5f, t.Device)));
        });
        net.Initialize(myInit, (path, _) => path.EndsWith("weight"));
        Assert.All(net.GetParameter("0.weight").Data.ToArray<float>(), v => Assert.True(v == 0 || Math.Abs(v) >= 5));
    }

    [Fact]
    public void TiedLayerIsOneObjectAndGradientsAdd()
    {
        var shared = new Dense(8, 8);
        var net = new Sequential(new Dense(8, 4), new Relu(), shared, new Relu(), shared, new Relu(), new Dense(1, 8));
        net.Call(Tensor.Rand([2, 4]));
        Assert.Same(net[2], net[4]);
        using (Autograd.NoGrad()) ((Dense)net[2]).Weight.Data[0, 0].FillInPlace(100f);
        Assert.Equal(100f, ((Dense)net[4]).Weight.Data[0, 0].Item());
        Assert.Equal(6, net.NamedParameters().Count()); // listed once
        // Gradients of both uses add up: compare with an untied twin holding the same values.
        var x = Tensor.Rand([3, 4], generator: new Generator(2));
        net.Call(x).Sum().Backward();
        var a = new Dense(8, 8); var b = new Dense(8, 8);
        var twin = new Sequential(new Dense(8, 4), new Relu(), a, new Relu(), b, new Relu(), new Dense(1, 8));
        twin.Initialize();
        foreach (var (path, p) in net.NamedParameters()) twin.GetParameter(path).Data = p.Data.Detach().Clone();
        b.Weight.Data = shared.Weight.Data.Detach().Clone(); b.Bias!.Data = shared.Bias!.Data.Detach().Clone();
        twin.Call(x).Sum().Backward();
        var sum = (a.Weight.Grad! + b.Weight.Grad!).ToArray<float>();
        var tied = shared.Weight.Grad!.ToArray<float>();
        for (int i = 0; i < sum.Length; i++) Assert.Equal(sum[i], tied[i], 4);
    }

    [Fact]
    public void DeferredShapesAreInferredFromTheFirstBatch()
    {
        var net = new Sequential(new Dense(256), new Relu(), new Dense(10));
        Assert.Equal(new[] { 256, -1 }, net.GetParameter("0.weight").Shape);
        Assert.Contains("Dense(? → 256)", net.ToString());
        var e = Assert.Throws<UninitializedParameterException>(() => net.GetParameter("0.weight").Data);
        Assert.Contains("0.weight", e.Message);
        Assert.Contains("first batch", e.Message);
        Assert.Contains("Materialize", e.Message);
        net.Call(Tensor.Rand([2, 20]));
        Assert.Equal(new[] { 256, 20 }, net.GetParameter("0.weight").Shape);
        Assert.Equal(new[] { 10, 256 }, net.GetParameter("2.weight").Shape);
        var wrong = Assert.Throws<ArgumentException>(() => net.Call(Tensor.Rand([2, 21])));
        Assert.Contains("expected inputs with 20 features", wrong.Message);
        Assert.Contains("0.weight", wrong.Message);
        // A 1-D shape is one sample without a batch dim (as a PyTorch Linear takes it); a 0-feature input is refused.
        Assert.Equal(new[] { 3, 5 }, new Dense(3).Materialize([5])[0].Shape);
        Assert.Contains("0 features", Assert.Throws<ArgumentException>(() => new Dense(3).Materialize([4, 0])).Message);
        var dry = new Sequential(new Dense(64), new Relu(), new Dense(3)).Materialize([1, 7]);
        Assert.Equal(new[] { 64, 7 }, dry[0].Shape);
        Assert.Equal(new[] { 3, 64 }, dry[2].Shape);
    }

    [Fact]
    public void CustomLayersComposeAndTrain()
    {
        var centered = new CenteredLayer().Call(Tensor.FromArray(new float[] { 1, 2, 3, 4, 5 }));
        Assert.Equal(0f, centered.Mean().Item(), 5);
        var net = new Sequential(new Dense(128), new CenteredLayer());
        Assert.True(Math.Abs(net.Call(Tensor.Rand([4, 8])).Mean().Item()) < 1e-5);
        var lin = new MyLinear(5, 3);
        var model = new Sequential(lin, new MyLinear(3, 1));
        model.Call(Tensor.Rand([2, 5])).Sum().Backward();
        Assert.All(model.Parameters(), p => Assert.NotNull(p.Grad));
        Assert.Equal(new[] { "0.weight", "0.bias", "1.weight", "1.bias" }, model.NamedParameters().Select(p => p.Path));
    }

    [Fact]
    public void ForgottenRegistrationIsReportedNamingTheField()
    {
        var e = Assert.Throws<UnregisteredStateException>(() => new Forgetful().Call(Tensor.Rand([1, 3])));
        Assert.Contains("_hidden", e.Message);
        Assert.Contains("Register", e.Message);
        Assert.Throws<UnregisteredStateException>(() => new Forgetful().NamedParameters().ToList());

        // Calls after the first skip the full walk while nothing changed, but a field swapped in later is still caught.
        var net = new Sequential(new Swappable());
        var x = Tensor.Rand([1, 3]);
        net.Call(x); net.Call(x);
        ((Swappable)net[0]).Head = new Dense(2);
        Assert.Contains("Head", Assert.Throws<UnregisteredStateException>(() => net.Call(x)).Message);
    }

    [Fact]
    public void TrainEvalControlsDropout()
    {
        var net = new Sequential(new Dropout(0.5f, new Generator(4)));
        var x = Tensor.Ones(1000);
        var y = net.Call(x).ToArray<float>();
        Assert.Contains(0f, y);
        Assert.Contains(2f, y);
        net.Eval();
        Assert.False(net[0].IsTraining);
        Assert.All(net.Call(x).ToArray<float>(), v => Assert.Equal(1f, v));
    }

    [Fact]
    public void ToDeviceKeepsIdentityAndOptimizerReferences()
    {
        var net = new Sequential(new Dense(4, 3), new Relu(), new Dense(2, 4));
        net.Call(Tensor.Rand([2, 3]));
        var w = net.GetParameter("0.weight"); var data = w.Data;
        var opt = new Sgd(net.Parameters(), lr: 0.1f);
        var sim = Device.IlgpuCpu;
        net.To(sim);
        Assert.Same(w, net.GetParameter("0.weight"));
        Assert.Same(data, w.Data);
        Assert.Equal(sim, w.Data.Device);
        var x = Tensor.Rand([2, 3], device: sim);
        net.Call(x).Sum().Backward();
        opt.Step(); // the optimizer holds the same tensors, now on the simulator
        Assert.Equal(sim, w.Data.Device);
        var e = Assert.Throws<DeviceMismatchException>(() => net.Call(Tensor.Rand([2, 3])));
        Assert.Contains("0.weight", e.Message);
        Assert.Contains("ilgpu-cpu", e.Message);
        Assert.Contains("cpu", e.Message);
        net.To(Device.Cpu);
        Assert.Equal(Device.Cpu, w.Data.Device);
    }

    [Fact]
    public void TiesSurviveDeviceMoves()
    {
        var shared = new Dense(4, 4);
        var net = new Sequential(shared, new Relu(), shared);
        net.Initialize();
        net.To(Device.IlgpuCpu);
        Assert.Same(((Dense)net[0]).Weight, ((Dense)net[2]).Weight);
        Assert.Equal(Device.IlgpuCpu, ((Dense)net[2]).Weight.Data.Device);
        Assert.Single(net.NamedParameters(), p => p.Path.EndsWith("weight"));
    }

    /// <summary>PyTorch's lazy modules after <c>model.to(device)</c>: deferred parameters are created on the device the model
    /// was moved to (or initialized on), and a batch elsewhere is refused before the deferred ones are created.</summary>
    [Fact]
    public void DeferredParametersAreCreatedWhereTheModelWasMoved()
    {
        var sim = Device.IlgpuCpu;
        var net = new Sequential(new Dense(4), new Relu(), new Dense(2, 4));
        net.To(sim);
        var e = Assert.Throws<DeviceMismatchException>(() => net.Call(Tensor.Rand([2, 3])));
        Assert.Contains("ilgpu-cpu", e.Message);
        Assert.Contains("0.weight", e.Message);
        Assert.False(((Dense)net[0]).Weight.IsInitialized);
        net.Call(Tensor.Rand([2, 3], device: sim));
        Assert.All(net.Parameters(), p => Assert.Equal(sim, p.Data.Device));

        var lazy = new Sequential(new Dense(3));
        lazy.Initialize(device: sim);
        Assert.Throws<DeviceMismatchException>(() => lazy.Materialize([2, 5], Device.Cpu));
        Assert.Equal([3, 5], lazy.Materialize([2, 5]).Single(p => p.Path == "0.weight").Shape);
        Assert.Equal(sim, ((Dense)lazy[0]).Weight.Data.Device);
    }

    /// <summary>The book's MyLinear bug in PyTorch: using detached data in Forward silently stops the gradient.</summary>
    private sealed class DetachedLinear : Block
    {
        private readonly Parameter _w;
        public DetachedLinear() => _w = Register("weight", new Parameter([3, 2], Init.Normal()));
        protected override Tensor Forward(Tensor x) => x.MatMul(_w.Data.Detach());
    }

    [Fact]
    public void ParametersThatGotNoGradientAreListed()
    {
        var net = new Sequential(new Dense(3, 3), new DetachedLinear());
        net.Call(Tensor.Rand([2, 3])).Sum().Backward();
        Assert.Equal(["1.weight"], net.ParametersWithoutGrad());
    }
}
