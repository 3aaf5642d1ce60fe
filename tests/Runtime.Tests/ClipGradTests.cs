using DeepSharp;
using DeepSharp.Optim;

namespace DeepSharp.Tests;

/// <summary>Gradient clipping against a double reference of torch.nn.utils.clip_grad_norm_ / clip_grad_value_, on every
/// device: gradients of several sizes (two accelerator launches, CPU blocks), a parameter without a gradient and one
/// without a tensor yet.</summary>
public class ClipGradTests
{
    private static readonly int[] Sizes = [19, 5, 40000, 1, 300, 7];

    private sealed class Deferred : IParameter
    {
        public bool IsInitialized => false;
        public Tensor Data => throw new InvalidOperationException("no data yet");
        public string Path => "deferred";
    }

    private static (IParameter[] Ps, Tensor[] Ts, float[][] G) Setup(Device d, float scale = 1f)
    {
        var ts = Sizes.Select(n => Tensor.Zeros([n], device: d).RequiresGradient()).ToArray();
        var g = Sizes.Select((n, i) => Ref.Random(n, 40 + i, -scale, scale)).ToArray();
        for (int i = 0; i < ts.Length; i++) if (i != 3) ts[i].Grad = Tensor.FromArray(g[i], [g[i].Length], d);
        return ([.. ts, new Deferred()], ts, g);
    }

    public static TheoryData<string, float, float> Cases()
    {
        var data = new TheoryData<string, float, float>();
        foreach (var d in TestDevices.Names)
            foreach (var p in new[] { 2f, 1f, 3.5f, float.PositiveInfinity })
                foreach (var max in new[] { 0.5f, 1e6f }) data.Add(d, p, max);
        return data;
    }

    [Theory, MemberData(nameof(Cases))]
    public void NormScalesEveryGradientByTheGlobalNorm(string device, float p, float maxNorm)
    {
        var d = TestDevices.Use(device);
        var (ps, ts, g) = Setup(d);
        var all = g.Where((_, i) => i != 3).SelectMany(x => x).Select(v => Math.Abs((double)v)).ToArray();
        double norm = float.IsPositiveInfinity(p) ? all.Max() : Math.Pow(all.Sum(v => Math.Pow(v, p)), 1.0 / p);
        double coef = Math.Min(1, maxNorm / (norm + 1e-6));
        var total = ClipGrad.Norm(ps, maxNorm, p);
        Assert.Equal(d, total.Device);
        Assert.Empty(total.Shape);
        Ref.Close([norm], [total.Item()], TestDevices.Tol(d, 1e-5), $"{p}-norm");
        for (int i = 0; i < ts.Length; i++)
        {
            if (i == 3) { Assert.Null(ts[i].Grad); continue; }
            Ref.Close(g[i].Select(v => v * coef).ToArray(), ts[i].Grad!.ToArray<float>(), TestDevices.Tol(d, 1e-5), $"gradient {i}");
        }
        if (maxNorm > norm) Assert.Equal(g[2], ts[2].Grad!.ToArray<float>()); // not clipped: multiplied by exactly 1
    }

    [Theory, MemberData(nameof(TestDevices.All), MemberType = typeof(TestDevices))]
    public void ValueClampsEveryGradient(string device)
    {
        var d = TestDevices.Use(device);
        var (ps, ts, g) = Setup(d, scale: 2f);
        ClipGrad.Value(ps, 0.75f);
        for (int i = 0; i < ts.Length; i++)
            if (i != 3) Assert.Equal(g[i].Select(v => Math.Clamp(v, -0.75f, 0.75f)), ts[i].Grad!.ToArray<float>());
        Assert.Null(ts[3].Grad);
    }

    [Fact]
    public void NoGradientGivesZeroAndBadArgumentsAreNamed()
    {
        var w = Tensor.Ones(3).RequiresGradient();
        Assert.Equal(0f, ClipGrad.Norm([w], 1f).Item());
        var empty = Tensor.Zeros(0).RequiresGradient();
        empty.Grad = Tensor.Zeros(0);
        Assert.Equal(0f, ClipGrad.Norm([empty], 1f, float.PositiveInfinity).Item());
        w.Grad = Tensor.FromArray(new[] { 3f, float.NaN, 4f });
        Assert.True(float.IsNaN(ClipGrad.Norm([w], 1f).Item())); // as PyTorch without error_if_nonfinite
        Assert.Equal("maxNorm", Assert.Throws<ArgumentOutOfRangeException>(() => ClipGrad.Norm([w], -1f)).ParamName);
        Assert.Equal("normType", Assert.Throws<ArgumentOutOfRangeException>(() => ClipGrad.Norm([w], 1f, 0f)).ParamName);
        Assert.Equal("clipValue", Assert.Throws<ArgumentOutOfRangeException>(() => ClipGrad.Value([w], float.NaN)).ParamName);
        var other = Tensor.Ones([2], device: Device.IlgpuCpu).RequiresGradient();
        other.Grad = Tensor.Ones([2], device: Device.IlgpuCpu);
        var e = Assert.Throws<ArgumentException>(() => ClipGrad.Norm([w, other], 1f));
        Assert.Contains("ilgpu-cpu", e.Message);
    }
}

/// <summary>Accumulating gradients over micro-batches (loss scaled by 1/k, Backward k times, one Step, one ZeroGrad)
/// equals one step on the whole batch.</summary>
public class GradientAccumulationTests
{
    [Theory, MemberData(nameof(TestDevices.All), MemberType = typeof(TestDevices))]
    public void FourMicroBatchesMatchOneBatch(string device)
    {
        var d = TestDevices.Use(device);
        var gen = new Generator(9);
        var x = Tensor.Randn([8, 5], generator: gen, device: d);
        var labels = Tensor.FromArray(new long[] { 0, 2, 1, 1, 0, 2, 2, 1 }, device: d);
        var w0 = Ref.Random(15, 3);
        (Tensor W, Tensor B, Sgd Opt) Fresh()
        {
            var w = Tensor.FromArray(w0, [5, 3], d).RequiresGradient(); var b = Tensor.Zeros([3], device: d).RequiresGradient();
            return (w, b, new Sgd([w, b], lr: 0.5f, momentum: 0.9f));
        }
        var whole = Fresh();
        var parts = Fresh();
        for (int step = 0; step < 2; step++)
        {
            whole.Opt.ZeroGrad();
            Functional.CrossEntropy(x.MatMul(whole.W) + whole.B, labels).Backward();
            parts.Opt.ZeroGrad();
            for (int k = 0; k < 4; k++)
            {
                var xs = x.Slice(0, 2 * k, 2 * k + 2); var ys = labels.Slice(0, 2 * k, 2 * k + 2);
                (Functional.CrossEntropy(xs.MatMul(parts.W) + parts.B, ys) / 4f).Backward(); // each micro-batch's mean, / k
            }
            Ref.Close(whole.W.Grad!.ToArray<float>().Select(v => (double)v).ToArray(), parts.W.Grad!.ToArray<float>(), 1e-6, "dW");
            whole.Opt.Step();
            parts.Opt.Step();
        }
        Ref.Close(whole.W.ToArray<float>().Select(v => (double)v).ToArray(), parts.W.ToArray<float>(), 1e-6, "W");
        Ref.Close(whole.B.ToArray<float>().Select(v => (double)v).ToArray(), parts.B.ToArray<float>(), 1e-6, "b");
    }
}

/// <summary>Launch counts on the simulator (which runs CUDA's kernels), read from the device's process-wide counter, so
/// alone: clipping is one pass over all the gradients, not one reduction per parameter, and an optimizer step batches
/// the parameters of a group four to a launch.</summary>
[Collection("Serial")]
public class ClipGradLaunchTests
{
    [Fact]
    public void ClippingNineGradientsTakesOnePassAndAStepFourParametersPerLaunch()
    {
        var d = TestDevices.Use("ilgpu-cpu");
        var ps = Enumerable.Range(0, 9).Select(i => Tensor.FromArray(Ref.Random(10 + i, i), [10 + i], d).RequiresGradient()).ToArray();
        foreach (var p in ps) p.Grad = Tensor.FromArray(Ref.Random(p.Count, 50 + p.Count), [p.Count], d);
        var opt = new AdamW([new ParamGroup(ps[..5]), new ParamGroup(ps[5..], lr: 0.01f)], lr: 0.02f);
        ClipGrad.Norm(ps, 0.1f);
        opt.Step(); // compiles what the counted calls use
        long before = d.Stats.KernelLaunches;
        ClipGrad.Norm(ps, 0.1f);
        // ⌈9 / 4⌉ partial launches, their sum, the square root, + 1e-6, maxNorm / ·, the clamp, and one scale per gradient.
        Assert.Equal(3 + 1 + 1 + 3 + 9, d.Stats.KernelLaunches - before);
        before = d.Stats.KernelLaunches;
        opt.Step();
        Assert.Equal(2 + 1, d.Stats.KernelLaunches - before); // five parameters in two launches, four in one
    }
}
