using DeepSharp.Layers;
using DeepSharp.Tests;

namespace DeepSharp.Layers.Tests;

/// <summary>
/// BatchNorm1d/2d, LayerNorm and GroupNorm as PyTorch's namesakes: defaults, state-dict names and buffers, running statistics
/// step by step (momentum 0.1 and the cumulative average), eval mode, state-dict round trips, finite-difference gradients
/// of the input and every parameter, and the input checks; on every device.
/// </summary>
public class NormLayerTests
{
    [Fact]
    public void DefaultsAndStateDictNamesAreTorchs()
    {
        var bn = new BatchNorm2d(3);
        bn.Initialize();
        Assert.Equal((1e-5f, (float?)0.1f, true, true), (bn.Eps, bn.Momentum, bn.Affine, bn.TrackRunningStats));
        var state = bn.StateDict();
        Assert.Equal(["weight", "bias", "running_mean", "running_var", "num_batches_tracked"], state.Keys);
        Assert.Equal([1f, 1f, 1f], state["weight"].ToArray<float>());
        Assert.Equal([0f, 0f, 0f], state["bias"].ToArray<float>());
        Assert.Equal([0f, 0f, 0f], state["running_mean"].ToArray<float>());
        Assert.Equal([1f, 1f, 1f], state["running_var"].ToArray<float>());
        Assert.Equal(DType.Int64, state["num_batches_tracked"].DType);
        Assert.Equal([], state["num_batches_tracked"].Shape);
        Assert.Equal(2, bn.Parameters().Count());
        Assert.Equal("BatchNorm2d(3, eps=1E-05, momentum=0.1, affine=true, trackRunningStats=true)", bn.ToString());

        var plain = new BatchNorm1d(4, momentum: null, affine: false, trackRunningStats: false);
        Assert.Empty(plain.StateDict());
        Assert.Equal("BatchNorm1d(4, eps=1E-05, momentum=null, affine=false, trackRunningStats=false)", plain.ToString());

        var ln = new LayerNorm([2, 3]);
        ln.Initialize();
        Assert.Equal(["weight", "bias"], ln.StateDict().Keys);
        Assert.Equal([2, 3], ln.Weight!.Shape);
        Assert.Equal(Enumerable.Repeat(1f, 6), ln.Weight.Data.ToArray<float>());
        Assert.Null(new LayerNorm(5, bias: false).Bias);
        Assert.Empty(new LayerNorm(5, elementwiseAffine: false).StateDict());
        Assert.Equal("LayerNorm([2, 3], eps=1E-05, elementwiseAffine=true)", ln.ToString());

        var gn = new GroupNorm(2, 6);
        gn.Initialize();
        Assert.Equal(["weight", "bias"], gn.StateDict().Keys);
        Assert.Equal([6], gn.Bias!.Shape);
        Assert.Equal("GroupNorm(2, 6, eps=1E-05, affine=true)", gn.ToString());
    }

    /// <summary>Three training steps, then eval: the buffers follow PyTorch's rule (momentum 0.1, or null: the cumulative
    /// average 1/num_batches_tracked), and eval mode normalizes with them and leaves them alone.</summary>
    [Theory]
    [InlineData("cpu", 0.1f)]
    [InlineData("cpu", null)]
    [InlineData("ilgpu-cpu", 0.1f)]
    [InlineData("ilgpu-cpu", null)]
    [InlineData("cuda:0", 0.1f)]
    [InlineData("cuda:0", null)]
    [InlineData("opencl:0", 0.1f)]
    [InlineData("opencl:0", null)]
    public void RunningStatisticsStepByStepThenEval(string device, float? momentum)
    {
        var d = TestDevices.Use(device);
        const int N = 3, C = 2, H = 2, W = 3, S = H * W;
        var bn = new BatchNorm2d(C, momentum: momentum);
        bn.Initialize();
        bn.To(d);
        using (Autograd.NoGrad())
        {
            bn.Weight!.Data.CopyFrom(Tensor.FromArray(new[] { 1.5f, -0.5f }, device: d));
            bn.Bias!.Data.CopyFrom(Tensor.FromArray(new[] { 0.25f, 2f }, device: d));
        }
        double[] rm = new double[C], rv = [1, 1];
        for (int step = 1; step <= 3; step++)
        {
            var xs = Ref.Random(N * C * S, 40 + step).Select(v => v * step + 3 * step).ToArray();
            var y = bn.Call(Tensor.FromArray(xs, [N, C, H, W], d)).ToArray<float>();
            double factor = momentum ?? 1.0 / step;
            for (int c = 0; c < C; c++)
            {
                var v = Enumerable.Range(0, N * S).Select(k => (double)xs[(k / S * C + c) * S + k % S]).ToArray();
                double mean = v.Average(), biased = v.Sum(e => (e - mean) * (e - mean)) / v.Length;
                rm[c] = (1 - factor) * rm[c] + factor * mean;
                rv[c] = (1 - factor) * rv[c] + factor * biased * v.Length / (v.Length - 1);
                // The output uses the batch's biased statistics.
                double w = c == 0 ? 1.5 : -0.5, b = c == 0 ? 0.25 : 2;
                for (int k = 0; k < N * S; k++)
                {
                    int e = (k / S * C + c) * S + k % S;
                    double want = (xs[e] - mean) / Math.Sqrt(biased + 1e-5) * w + b;
                    Assert.True(Math.Abs(want - y[e]) <= 1e-4 * (1 + Math.Abs(want)), $"step {step} y[{e}]: {y[e]} vs {want}");
                }
            }
            Ref.Close(rm, bn.RunningMean!.ToArray<float>(), 1e-5, $"running_mean after step {step}");
            Ref.Close(rv, bn.RunningVar!.ToArray<float>(), 1e-5, $"running_var after step {step}");
            Assert.Equal([(long)step], bn.NumBatchesTracked!.ToArray<long>());
        }
        bn.Eval();
        var xe = Ref.Random(N * C * S, 50);
        var ye = bn.Call(Tensor.FromArray(xe, [N, C, H, W], d)).ToArray<float>();
        var expected = xe.Select((v, e) =>
        {
            int c = e / S % C;
            return (v - rm[c]) / Math.Sqrt(rv[c] + 1e-5) * (c == 0 ? 1.5 : -0.5) + (c == 0 ? 0.25 : 2);
        }).ToArray();
        Ref.Close(expected, ye, 1e-4, "eval output");
        Ref.Close(rm, bn.RunningMean!.ToArray<float>(), 1e-5, "running_mean after eval");
        Assert.Equal([3L], bn.NumBatchesTracked!.ToArray<long>());
    }

    /// <summary>Without running statistics the layer normalizes with the batch's in eval mode too.</summary>
    [Theory, MemberData(nameof(TestDevices.All), MemberType = typeof(TestDevices))]
    public void WithoutTrackingEvalUsesTheBatch(string device)
    {
        var d = TestDevices.Use(device);
        var bn = new BatchNorm1d(2, affine: false, trackRunningStats: false);
        bn.Eval();
        var xs = new float[] { 1, 10, 3, 20, 5, 60 };
        var y = bn.Call(Tensor.FromArray(xs, [3, 2], d)).ToArray<float>();
        double[] expected = new double[6];
        for (int c = 0; c < 2; c++)
        {
            var v = new[] { xs[c], xs[2 + c], xs[4 + c] };
            double mean = v.Average(), var = v.Sum(e => (e - mean) * (e - mean)) / 3;
            for (int n = 0; n < 3; n++) expected[n * 2 + c] = (v[n] - mean) / Math.Sqrt(var + 1e-5);
        }
        Ref.Close(expected, y, 1e-5, "batch statistics in eval");
    }

    /// <summary>The buffers travel with the state dict: a fresh layer loaded from a trained one's state gives the same eval
    /// outputs and the same count.</summary>
    [Theory, MemberData(nameof(TestDevices.All), MemberType = typeof(TestDevices))]
    public void StateDictRoundTripCarriesTheBuffers(string device)
    {
        var d = TestDevices.Use(device);
        var bn = new BatchNorm1d(3);
        bn.Initialize();
        bn.To(d);
        for (int step = 0; step < 2; step++) bn.Call(Tensor.FromArray(Ref.Random(12, step).Select(v => v * 3 + 1).ToArray(), [4, 3], d));
        var state = bn.StateDict().ToDictionary(k => k.Key, k => k.Value.To(Device.Cpu));
        var copy = new BatchNorm1d(3);
        copy.Initialize();
        copy.To(d);
        var report = copy.LoadStateDict(state);
        Assert.Empty(report.Missing);
        Assert.Equal([2L], copy.NumBatchesTracked!.ToArray<long>());
        Assert.Equal(bn.RunningVar!.ToArray<float>(), copy.RunningVar!.ToArray<float>());
        bn.Eval(); copy.Eval();
        var x = Tensor.FromArray(Ref.Random(6, 9), [2, 3], d);
        Assert.Equal(bn.Call(x).ToArray<float>(), copy.Call(x).ToArray<float>());
        Assert.NotEqual(new BatchNorm1d(3).Eval().Call(x.To(Device.Cpu)).ToArray<float>(), copy.Call(x).ToArray<float>());
    }

    private static readonly string[] GradNames = ["bn1d", "bn1d_3d", "bn2d", "bn2d_eval", "ln", "ln_two_dims", "gn"];

    public static TheoryData<string, string> GradCases()
    {
        var d = new TheoryData<string, string>();
        foreach (var dev in TestDevices.Names) foreach (var n in GradNames) d.Add(dev, n);
        return d;
    }

    private static (Block Block, int[] Input) Make(string name) => name switch
    {
        "bn1d" => (new BatchNorm1d(3), [4, 3]),
        "bn1d_3d" => (new BatchNorm1d(2), [3, 2, 4]),
        "bn2d" => (new BatchNorm2d(2), [2, 2, 3, 3]),
        "bn2d_eval" => (new BatchNorm2d(2), [2, 2, 2, 2]),
        "ln" => (new LayerNorm(5), [3, 5]),
        "ln_two_dims" => (new LayerNorm([2, 3]), [2, 2, 3]),
        _ => (new GroupNorm(2, 4), [2, 4, 3]),
    };

    /// <summary>The layer with weights and biases away from their defaults (and, for "_eval", running statistics away
    /// from 0 and 1, then eval mode) on <paramref name="d"/>, and its input.</summary>
    private static (Block Block, int[] Shape, float[] Input) Prepared(string name, Device d)
    {
        var (block, shape) = Make(name);
        block.Initialize();
        using (Autograd.NoGrad())
            foreach (var (_, p) in block.NamedParameters())
                p.Data.CopyFrom(Tensor.FromArray(Enumerable.Range(0, p.Data.Count).Select(i => 0.7f + 0.3f * i).ToArray(), p.Shape));
        if (name.EndsWith("_eval", StringComparison.Ordinal))
        {
            block.Call(Tensor.FromArray(Ref.Random(shape.Aggregate(1, (a, b) => a * b), 3), shape)); // running statistics ≠ 0, 1
            block.Eval();
        }
        block.To(d);
        int count = shape.Aggregate(1, (a, b) => a * b);
        return (block, shape, Enumerable.Range(0, count).Select(i => (float)Math.Sin(1.7 * i + 0.4) * 2f).ToArray());
    }

    /// <summary>Every parameter's and the input's gradient in float64 against central differences (see
    /// <see cref="LayerGradCheck"/>); batch-statistics layers move their running statistics on each pass without reading
    /// them, and eval mode reads them without moving them.</summary>
    [Theory, MemberData(nameof(GradCases))]
    public void Float64GradientsMatchFiniteDifferences(string device, string name)
    {
        var d = TestDevices.Use(device);
        var (block, shape, x) = Prepared(name, d);
        LayerGradCheck.Float64(block, shape, x, d, name);
    }

    /// <summary>The fused float32 norms' gradients against the float64 ones (see <see cref="LayerGradCheck"/>).</summary>
    [Theory, MemberData(nameof(GradCases))]
    public void Float32GradientsMatchTheFloat64Reference(string device, string name)
    {
        var d = TestDevices.Use(device);
        var (block, shape, x) = Prepared(name, d);
        LayerGradCheck.Float32(block, shape, x, d, name);
    }

    [Theory, MemberData(nameof(TestDevices.All), MemberType = typeof(TestDevices))]
    public void BadInputsAreNamed(string device)
    {
        var d = TestDevices.Use(device);
        var other = d == Device.Cpu ? Device.Parse("ilgpu-cpu") : Device.Cpu;
        void Throws<TE>(Func<object> call, params string[] parts) where TE : Exception
        {
            var e = Assert.Throws<TE>(call);
            foreach (var p in parts) Assert.Contains(p, e.Message);
        }
        var bn1 = new BatchNorm1d(3); bn1.Initialize(); bn1.To(d);
        Throws<ArgumentException>(() => bn1.Call(Tensor.Ones([2, 3, 2, 2], device: d)), "BatchNorm1d", "2D or 3D", "4D");
        Throws<ArgumentException>(() => bn1.Call(Tensor.Ones([2, 4], device: d)), "expected 3 channels", "[2, 4]");
        Throws<ArgumentException>(() => bn1.Call(Tensor.Ones([1, 3], device: d)), "more than 1 value per channel");
        var bn2 = new BatchNorm2d(3); bn2.Initialize(); bn2.To(d);
        Throws<ArgumentException>(() => bn2.Call(Tensor.Ones([2, 3, 4], device: d)), "BatchNorm2d", "4D", "[2, 3, 4]");
        Throws<DeviceMismatchException>(() => bn2.Call(Tensor.Ones([2, 3, 2, 2], device: other)), "weight", other.ToString());
        // A fresh model's buffers follow its first batch (Block.Place); one placed on the CPU stays there and says so.
        var fresh = new BatchNorm2d(3, affine: false);
        fresh.Call(Tensor.Ones([2, 3, 2, 2], device: d));
        Assert.Equal(d, fresh.NamedBuffers().First().Buffer.Device);
        var buffersBehind = new BatchNorm2d(3, affine: false).To(Device.Cpu);
        if (d != Device.Cpu)
            Throws<DeviceMismatchException>(() => buffersBehind.Call(Tensor.Ones([2, 3, 2, 2], device: d)), "running_mean");
        Throws<ArgumentOutOfRangeException>(() => new BatchNorm2d(0), "numFeatures");
        Throws<ArgumentException>(() => new GroupNorm(4, 6), "divisible", "6", "4");
        var gn = new GroupNorm(2, 4); gn.Initialize(); gn.To(d);
        Throws<ArgumentException>(() => gn.Call(Tensor.Ones([2, 6, 3], device: d)), "expected 4 channels", "[2, 6, 3]");
        Throws<ArgumentOutOfRangeException>(() => new LayerNorm([3, 0]), "normalizedShape", "[3, 0]");
        var ln = new LayerNorm(4); ln.Initialize(); ln.To(d);
        Throws<ArgumentException>(() => ln.Call(Tensor.Ones([2, 5], device: d)), "normalizedShape", "[4]", "[2, 5]");
    }
}
