using DeepSharp.Tests;

namespace DeepSharp.Layers.Tests;

/// <summary>The book's residual block and the ResNet built from it (§8.6): wiring, shapes, names and counts.</summary>
public class ResidualTests
{
    [Theory, MemberData(nameof(TestDevices.All), MemberType = typeof(TestDevices))]
    public void ResidualIsTheBooksComposition(string device)
    {
        var d = TestDevices.Use(device);
        foreach (var (block, shape) in new[] { (new Residual(3), new[] { 2, 3, 5, 5 }), (new Residual(4, stride: 2), new[] { 2, 3, 5, 5 }),
            (new Residual(4, useProjection: true), new[] { 1, 2, 4, 4 }) })
        {
            var x = Tensor.Randn(shape, generator: new Generator(11)).To(d).RequiresGradient();
            var y = block.Call(x);
            var w = Tensor.Randn(y.Shape, generator: new Generator(12)).To(d);
            (y * w).Sum().Backward();
            var blockGrad = x.Grad!.ToArray<float>();
            x.Grad = null;
            var p = block.StateDict();
            Tensor Bn(string name, Tensor t) =>
                Functional.BatchNorm(t, null, null, p[$"{name}.weight"], p[$"{name}.bias"], training: true);
            var h = Bn("bn1", Functional.Conv2d(x, p["conv1.weight"], p["conv1.bias"], block.Stride, 1)).Relu();
            h = Bn("bn2", Functional.Conv2d(h, p["conv2.weight"], p["conv2.bias"], 1, 1));
            var shortcut = block.UsesProjection ? Functional.Conv2d(x, p["conv3.weight"], p["conv3.bias"], block.Stride, 0) : x;
            var expected = (h + shortcut).Relu();
            Assert.Equal(expected.Shape, y.Shape);
            Ref.Close([.. expected.ToArray<float>().Select(v => (double)v)], y.ToArray<float>(), 1e-6, block.ToString());
            // The gradient reaches x through both paths (the convolutions and the shortcut), as the composition's does.
            (expected * w).Sum().Backward();
            Ref.Close([.. x.Grad!.ToArray<float>().Select(v => (double)v)], blockGrad, 1e-5, $"{block}: dx");
            int outH = (shape[2] + 2 - 3) / block.Stride + 1;
            Assert.Equal(new[] { shape[0], block.Channels, outH, outH }, y.Shape);
        }
    }

    [Fact]
    public void NamesFollowTheBookAndTheShortcutIsExplicit()
    {
        var plain = new Residual(8);
        var projected = new Residual(16, stride: 2);
        plain.Materialize([1, 8, 6, 6]);
        projected.Materialize([1, 8, 6, 6]);
        Assert.DoesNotContain(plain.StateDict().Keys, k => k.StartsWith("conv3", StringComparison.Ordinal));
        Assert.Contains("conv3.weight", projected.StateDict().Keys);
        Assert.Equal(new[] { 16, 8, 1, 1 }, projected.StateDict()["conv3.weight"].Shape);
        Assert.Contains("bn1.running_mean", plain.StateDict().Keys);
        var e = Assert.Throws<ArgumentException>(() => new Residual(16).Call(Tensor.Zeros([1, 8, 6, 6])));
        Assert.Contains("useProjection: true", e.Message);
        Assert.Throws<ArgumentOutOfRangeException>(() => new Residual(0));
        Assert.Throws<ArgumentOutOfRangeException>(() => new Residual(4, stride: 0));
    }

    [Fact]
    public void ResNet18HasTheBooksShapeAndParameterCount()
    {
        var net = ResNet.ResNet18(10, smallImages: true);
        Assert.Equal(new[] { 2, 10 }, net.Call(Tensor.Rand([2, 1, 28, 28])).Shape);
        // By hand: stem 640 + 128; stage 1: 2 × 74,112; stage 2: 230,272 + 295,680; stage 3: 919,296 + 1,181,184;
        // stage 4: 3,673,600 + 4,721,664; classifier 5,130 (convolutions with bias, two batch norms per block).
        Assert.Equal(11_175_818L, net.Parameters().Sum(p => (long)p.Data.Count));
        Assert.Equal(["stem", "stage1", "stage2", "stage3", "stage4", "pool", "flatten", "fc"], net.NamedChildren().Select(c => c.Name));
        var imagenet = ResNet.ResNet18(10);
        Assert.Equal(new[] { 1, 10 }, imagenet.Call(Tensor.Rand([1, 3, 64, 64])).Shape);
        Assert.Throws<ArgumentException>(() => ResNet.Create([2, 2], [64]));
        Assert.Throws<ArgumentOutOfRangeException>(() => ResNet.Create([2, 0], [64, 128]));
        Assert.Throws<ArgumentOutOfRangeException>(() => ResNet.ResNet18(0));
    }

    [Theory, MemberData(nameof(TestDevices.All), MemberType = typeof(TestDevices))]
    public void AFreshModelsBuffersFollowItsFirstBatchOnce(string device)
    {
        var d = TestDevices.Use(device);
        var net = new Sequential(new Conv2d(4, 3), new BatchNorm2d(4));
        net.Call(Tensor.Rand([2, 1, 5, 5]).To(d));
        Assert.All(net.NamedBuffers(), b => Assert.Equal(d, b.Buffer.Device));
        Assert.All(net.Parameters(), p => Assert.Equal(d, p.Data.Device));
        // Placed: a batch on another device is now a mismatch, not a silent move.
        if (d != Device.Cpu) Assert.Throws<DeviceMismatchException>(() => net.Call(Tensor.Rand([2, 1, 5, 5])));
        // A model moved before its first batch stays where it was moved.
        var moved = new Sequential(new Conv2d(4, 3), new BatchNorm2d(4)).To(d);
        moved.Call(Tensor.Rand([2, 1, 5, 5]).To(d));
        Assert.All(moved.NamedBuffers(), b => Assert.Equal(d, b.Buffer.Device));
        if (d != Device.Cpu)
        {
            var stays = new Sequential(new Conv2d(4, 3), new BatchNorm2d(4)).To(Device.Cpu);
            Assert.Throws<DeviceMismatchException>(() => stays.Call(Tensor.Rand([2, 1, 5, 5]).To(d)));
        }
    }
}
