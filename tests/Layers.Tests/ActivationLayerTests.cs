using DeepSharp.Layers;
using DeepSharp.Tests;

namespace DeepSharp.Layers.Tests;

/// <summary>
/// The activation layers, Identity, the channel dropouts and Flatten's dims, against what PyTorch's namesakes do: values
/// (the tensor ops, checked against double references in the runtime's tests), printed configuration, shapes, argument
/// and input checks.
/// </summary>
public class ActivationLayerTests
{
    /// <summary>Each layer with the op it must compute and the line it prints (PyTorch's extra_repr, .NET-cased).</summary>
    public static readonly Dictionary<string, (Func<Block> Make, Func<Tensor, Tensor> Op, string Printed)> Layers = new()
    {
        ["LeakyRelu"] = (() => new LeakyRelu(), x => x.LeakyRelu(0.01f), "LeakyRelu(negativeSlope=0.01)"),
        ["LeakyRelu 0.2"] = (() => new LeakyRelu(0.2f), x => x.LeakyRelu(0.2f), "LeakyRelu(negativeSlope=0.2)"),
        ["Gelu"] = (() => new Gelu(), x => x.Gelu(), "Gelu(approximate=none)"),
        ["Gelu tanh"] = (() => new Gelu("tanh"), x => x.Gelu("tanh"), "Gelu(approximate=tanh)"),
        ["Silu"] = (() => new Silu(), x => x.Silu(), "Silu()"),
        ["Elu"] = (() => new Elu(), x => x.Elu(1f), "Elu(alpha=1)"),
        ["Elu 0.5"] = (() => new Elu(0.5f), x => x.Elu(0.5f), "Elu(alpha=0.5)"),
        ["Hardtanh"] = (() => new Hardtanh(), x => x.Hardtanh(-1f, 1f), "Hardtanh(min=-1, max=1)"),
        ["Hardtanh 0, 6"] = (() => new Hardtanh(0f, 6f), x => x.Clamp(0f, 6f), "Hardtanh(min=0, max=6)"),
        ["Softplus"] = (() => new Softplus(), x => x.Softplus(1f, 20f), "Softplus(beta=1, threshold=20)"),
        ["Softplus 2, 1.5"] = (() => new Softplus(2f, 1.5f), x => x.Softplus(2f, 1.5f), "Softplus(beta=2, threshold=1.5)"),
        ["Softmax"] = (() => new Softmax(1), x => Functional.Softmax(x, 1), "Softmax(dim=1)"),
        ["Softmax -1"] = (() => new Softmax(-1), x => Functional.Softmax(x, -1), "Softmax(dim=-1)"),
        ["LogSoftmax"] = (() => new LogSoftmax(0), x => Functional.LogSoftmax(x, 0), "LogSoftmax(dim=0)"),
        ["Identity"] = (() => new Identity(), x => x, "Identity()"),
        ["Flatten"] = (() => new Flatten(), x => x.Reshape(3, 20), "Flatten(startDim=1, endDim=-1)"),
        ["Flatten 0, 1"] = (() => new Flatten(0, 1), x => x.Reshape(12, 5), "Flatten(startDim=0, endDim=1)"),
        ["Dropout1d eval"] = (() => new Dropout1d(0.3f).Eval(), x => x, "Dropout1d(p=0.3)"),
        ["Dropout2d eval"] = (() => new Dropout2d().Eval(), x => x, "Dropout2d(p=0.5)"),
    };

    public static TheoryData<string, string> Cases()
    {
        var d = new TheoryData<string, string>();
        foreach (var dev in TestDevices.Names) foreach (var name in Layers.Keys) d.Add(dev, name);
        return d;
    }

    [Theory, MemberData(nameof(Cases))]
    public void EachLayerComputesItsOpAndPrintsItsConfiguration(string device, string name)
    {
        var d = TestDevices.Use(device);
        var (make, op, printed) = Layers[name];
        var values = Enumerable.Range(0, 60).Select(i => (float)Math.Sin(i * 1.7) * 4f).ToArray();
        values[7] = float.NaN; values[11] = 30f; values[13] = -30f; values[17] = 0f;
        var x = Tensor.FromArray(values, [3, 4, 5], d);
        var block = make();
        var y = block.Call(x);
        Assert.Equal(d, y.Device);
        var expected = op(x);
        Assert.Equal(expected.Shape, y.Shape);
        Assert.Equal(expected.ToArray<float>(), y.ToArray<float>());
        Assert.Equal(printed, block.ToString());
        Assert.Empty(block.NamedParameters());
    }

    [Fact]
    public void ArgumentsAreCheckedAndNamed()
    {
        Assert.Equal("approximate", Assert.Throws<ArgumentException>(() => new Gelu("exact")).ParamName);
        Assert.Equal("negativeSlope", Assert.Throws<ArgumentException>(() => new LeakyRelu(float.NaN)).ParamName);
        Assert.Equal("alpha", Assert.Throws<ArgumentException>(() => new Elu(float.PositiveInfinity)).ParamName);
        Assert.Equal("min", Assert.Throws<ArgumentException>(() => new Hardtanh(1f, 1f)).ParamName);
        Assert.Equal("max", Assert.Throws<ArgumentException>(() => new Hardtanh(0f, float.NaN)).ParamName);
        Assert.Equal("beta", Assert.Throws<ArgumentException>(() => new Softplus(0f)).ParamName);
        Assert.Equal("threshold", Assert.Throws<ArgumentException>(() => new Softplus(1f, float.NaN)).ParamName);
        foreach (var p in new[] { 1f, -0.1f, float.NaN })
        {
            Assert.Equal("p", Assert.Throws<ArgumentOutOfRangeException>(() => new Dropout1d(p)).ParamName);
            Assert.Equal("p", Assert.Throws<ArgumentOutOfRangeException>(() => new Dropout2d(p)).ParamName);
        }
        // The axis is checked against each input, naming the op.
        Assert.Contains("Softmax", Assert.Throws<ArgumentOutOfRangeException>(() => new Softmax(2).Call(Tensor.Ones([2, 2]))).Message);
        Assert.Equal(0.5f, new Dropout1d().P);
        Assert.Equal(0.5f, new Dropout2d().P);
        Assert.Equal(3, new Softmax(3).Dim);
    }

    [Fact]
    public void FlattenFollowsPyTorchsDims()
    {
        // nn.Flatten(start_dim, end_dim) on torch.zeros(2, 3, 4, 5): (0, -1) → [120]; (1, 2) → [2, 12, 5];
        // (-3, -2) → [2, 12, 5]; (2, 2) → unchanged; (0, 0) → unchanged.
        var x = Tensor.Zeros([2, 3, 4, 5]);
        Assert.Equal([120], new Flatten(0, -1).Call(x).Shape);
        Assert.Equal([2, 12, 5], new Flatten(1, 2).Call(x).Shape);
        Assert.Equal([2, 12, 5], new Flatten(-3, -2).Call(x).Shape);
        Assert.Equal([2, 3, 4, 5], new Flatten(2, 2).Call(x).Shape);
        Assert.Equal([0, 3, 20], new Flatten(2).Call(Tensor.Zeros([0, 3, 4, 5])).Shape);
        Assert.Equal([1], new Flatten(0).Call(Tensor.Scalar(2f)).Shape); // torch.flatten of a 0-d tensor is [1]
        Assert.Equal([6], new Flatten(0).Call(Tensor.Zeros([6])).Shape);
        var late = Assert.Throws<ArgumentException>(() => new Flatten(2, 1).Call(x));
        Assert.Contains("startDim 2", late.Message);
        Assert.Equal("startDim", Assert.Throws<ArgumentOutOfRangeException>(() => new Flatten(4).Call(x)).ParamName);
        Assert.Equal("endDim", Assert.Throws<ArgumentOutOfRangeException>(() => new Flatten(0, -5).Call(x)).ParamName);
        Assert.Equal(1, new Flatten().StartDim);
        Assert.Equal(-1, new Flatten().EndDim);
    }

    public static TheoryData<string, int> ChannelCases()
    {
        var d = new TheoryData<string, int>();
        foreach (var dev in TestDevices.Names) foreach (int rank in new[] { 2, 3, 4 }) d.Add(dev, rank);
        return d;
    }

    /// <summary>Dropout1d on [C, L] and [N, C, L], Dropout2d on [N, C, L] (PyTorch reads 3-D input so) and [N, C, H, W]:
    /// each channel is all zeros or all x/(1 − p); about p of them are dropped; the gradient is the same mask.</summary>
    [Theory, MemberData(nameof(ChannelCases))]
    public void ChannelDropoutZeroesWholeChannels(string device, int rank)
    {
        var d = TestDevices.Use(device);
        int[] shape = rank switch { 2 => [400, 6], 3 => [20, 30, 7], _ => [10, 40, 2, 3] };
        int channels = rank == 2 ? shape[0] : shape[0] * shape[1], per = shape.Aggregate(1, (a, b) => a * b) / channels;
        Block block = rank == 4 ? new Dropout2d(0.25f, new Generator(5)) : rank == 2 ? new Dropout1d(0.25f, new Generator(5))
            : new Dropout1d(0.25f, new Generator(5));
        var values = Enumerable.Range(0, channels * per).Select(i => 1f + (i % 13)).ToArray();
        var x = Tensor.FromArray(values, shape, d).RequiresGradient();
        var y = block.Call(x);
        Assert.Equal(shape, y.Shape);
        y.Sum().Backward();
        var yv = y.ToArray<float>(); var gv = x.Grad!.ToArray<float>();
        int dropped = 0;
        for (int c = 0; c < channels; c++)
        {
            bool zero = yv[c * per] == 0f;
            if (zero) dropped++;
            for (int k = 0; k < per; k++)
            {
                int i = c * per + k;
                Assert.Equal(zero ? 0f : values[i] / 0.75f, yv[i], 1e-5f);
                Assert.Equal(zero ? 0f : 1f / 0.75f, gv[i], 1e-6f);
            }
        }
        double rate = (double)dropped / channels, sd = Math.Sqrt(0.25 * 0.75 / channels);
        Assert.True(Math.Abs(rate - 0.25) < 4 * sd, $"{dropped} of {channels} channels dropped");
        if (rank == 3)
        {
            // Dropout2d reads the same 3-D input as [N, C, L] too (PyTorch's current behaviour): whole rows of L.
            var y2 = new Dropout2d(0.25f, new Generator(5)).Call(x).ToArray<float>();
            Assert.Equal(yv, y2); // the same generator seed: the same mask [N, C, 1]
        }
    }

    [Fact]
    public void ChannelDropoutChecksTheRankInBothModes()
    {
        foreach (var block in new Block[] { new Dropout1d(), new Dropout1d().Eval() })
        {
            var e = Assert.Throws<ArgumentException>(() => block.Call(Tensor.Ones([2, 3, 4, 5])));
            Assert.Contains("[2, 3, 4, 5]", e.Message);
            Assert.Equal("x", e.ParamName);
            Assert.Throws<ArgumentException>(() => block.Call(Tensor.Ones([4])));
        }
        foreach (var block in new Block[] { new Dropout2d(), new Dropout2d().Eval() })
        {
            Assert.Contains("[2, 3]", Assert.Throws<ArgumentException>(() => block.Call(Tensor.Ones([2, 3]))).Message);
            Assert.Throws<ArgumentException>(() => block.Call(Tensor.Ones([1, 2, 3, 4, 5])));
        }
        var x = Tensor.Rand([2, 3, 4]);
        Assert.Same(x, new Dropout1d(0f).Call(x)); // p = 0 keeps everything, unscaled
    }
}
