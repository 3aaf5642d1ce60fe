using DeepSharp.IO;
using DeepSharp.Layers;

namespace DeepSharp.IO.Tests;

/// <summary>The README's file tour, run as written (inside a temporary folder).</summary>
public class ReadmeTests
{
    [Fact]
    public void FileTourRuns()
    {
        using var dir = new TempDir();
        var old = Environment.CurrentDirectory;
        Environment.CurrentDirectory = dir.Path;
        try
        {
            var x = Tensor.Arange(4);
            var net = new Sequential(new Dense(256), new Relu(), new Dense(10));
            net.Call(Tensor.Rand([2, 20]));
            Checkpoint.Save("x-file", x);
            var x2 = Checkpoint.LoadTensor("x-file", device: Device.Cpu);
            Assert.Equal(x.ToArray<float>(), x2.ToArray<float>());
            net.Save("mlp.params");
            var clone = new Sequential(new Dense(256), new Relu(), new Dense(10));
            clone.Load("mlp.params");
            net.SaveSafeTensors("mlp.safetensors");
            var fromSt = new Sequential(new Dense(256), new Relu(), new Dense(10));
            fromSt.LoadSafeTensors("mlp.safetensors");
            var input = Tensor.Rand([3, 20]);
            Assert.Equal(net.Call(input).ToArray<float>(), clone.Call(input).ToArray<float>());
            Assert.Equal(net.Call(input).ToArray<float>(), fromSt.Call(input).ToArray<float>());
        }
        finally { Environment.CurrentDirectory = old; }
    }
}
