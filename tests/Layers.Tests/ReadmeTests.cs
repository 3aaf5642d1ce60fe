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
}
