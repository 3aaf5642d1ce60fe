using DeepSharp.IO;

namespace DeepSharp.IO.Tests;

/// <summary>Interop with files PyTorch wrote (golden/pytorch.safetensors, made by golden/pytorch_interop.py on the GPU
/// machine) and a file of ours that the same script loads in PyTorch.</summary>
public class SafeTensorsGoldenTests
{
    private static string Golden(string name) => Path.Combine(AppContext.BaseDirectory, "golden", name);

    [Fact]
    public void OurGoldenFileIsWhatTheWriterProduces()
    {
        // golden/deepsharp.safetensors is committed; PyTorch's check of it lives in the script above.
        using var ms = new MemoryStream();
        SafeTensors.Write(ms, [new("x", Tensor.Arange(12).Reshape(3, 4) * 0.5f), new("labels", Tensor.FromArray(new long[] { 7, 0, -3 }))]);
        Assert.Equal(File.ReadAllBytes(Golden("deepsharp.safetensors")), ms.ToArray());
    }

    [Fact]
    public void FilesWrittenByPyTorchLoad()
    {
        var path = Golden("pytorch.safetensors");
        if (!File.Exists(path))
            Assert.Skip(
                "golden/pytorch.safetensors has not been generated yet (run golden/pytorch_interop.py where PyTorch is installed).");
        var (t, meta) = SafeTensors.LoadWithMeta(path);
        Assert.Equal("pytorch", meta["by"]);
        Assert.Equal(new float[] { 0, 0.25f, 0.5f, 0.75f, 1f, 1.25f }, t["w"].ToArray<float>());
        Assert.Equal(new[] { 2, 3 }, t["w"].Shape);
        Assert.Equal(DType.Float16, t["h"].DType); // kept as written: no widening
        Assert.Equal(new[] { (Half)0.5f, (Half)(-2f) }, t["h"].ToArray<Half>());
        Assert.Equal(DType.BFloat16, t["b"].DType);
        Assert.Equal(new float[] { 1.5f, -0.25f }, t["b"].To(DType.Float32).ToArray<float>());
        Assert.Equal(new long[] { 3, -1 }, t["ids"].ToArray<long>());
        Assert.Equal(1e-300, t["d"].Item<double>());
    }
}
