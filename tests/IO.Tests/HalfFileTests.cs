using DeepSharp.Layers;
using DeepSharp.Tests;

namespace DeepSharp.IO.Tests;

/// <summary>Float16 and bfloat16 tensors keep their dtype and bits through both file formats, on every device; a model
/// loads half-precision weights into its float32 parameters exactly.</summary>
public class HalfFileTests
{
    /// <summary>Every special kind of value: ±0, subnormals, the largest finite, ±inf, NaNs with payloads.</summary>
    private static readonly ushort[] HalfPatterns =
        [0x0000, 0x8000, 0x0001, 0x03FF, 0x3C00, 0xBC01, 0x7BFF, 0x7C00, 0xFC00, 0x7E00, 0x7E09, 0xFE01];
    private static readonly ushort[] BFloat16Patterns =
        [0x0000, 0x8000, 0x0001, 0x3F80, 0xBF81, 0x7F7F, 0x7F80, 0xFF80, 0x7FC0, 0x7FC5, 0xFFC1, 0x4049];

    private static Tensor Halves(Device d) =>
        Tensor.FromSpan<Half>(HalfPatterns.Select(BitConverter.UInt16BitsToHalf).ToArray(), [3, 4], d);

    private static Tensor BFloat16s(Device d) => Tensor.FromSpan<BFloat16>(BFloat16Patterns.Select(BFloat16.FromBits).ToArray(), [2, 6], d);

    private static void AssertSameBits(Tensor h, Tensor b)
    {
        Assert.Equal(DType.Float16, h.DType);
        Assert.Equal(new[] { 3, 4 }, h.Shape);
        Assert.Equal(HalfPatterns, h.ToArray<Half>().Select(BitConverter.HalfToUInt16Bits));
        Assert.Equal(DType.BFloat16, b.DType);
        Assert.Equal(BFloat16Patterns, b.ToArray<BFloat16>().Select(v => v.Bits));
    }

    [Theory, MemberData(nameof(TestDevices.All), MemberType = typeof(TestDevices))]
    public void BothFormatsKeepTheDTypeAndTheBits(string device)
    {
        var d = TestDevices.Use(device);
        using var dir = new TempDir();
        using var h = Halves(d);
        using var b = BFloat16s(d);
        SafeTensors.Save(dir.File("half.safetensors"), [new("h", h), new("b", b.T)]); // a transposed view is written dense
        var st = SafeTensors.Load(dir.File("half.safetensors"), d);
        Assert.Equal(d, st["h"].Device);
        AssertSameBits(st["h"], st["b"].T);
        Checkpoint.Save(dir.File("half.ckpt"), new Dictionary<string, Tensor> { ["h"] = h, ["b"] = b });
        var ck = Checkpoint.LoadDict(dir.File("half.ckpt"), d);
        AssertSameBits(ck["h"], ck["b"]);
    }

    [Fact]
    public void AModelLoadsHalfPrecisionWeightsIntoItsFloat32Parameters()
    {
        using var dir = new TempDir();
        var net = new Dense(2, 3);
        net.Initialize();
        var w = new[] { 0.5f, -1.25f, 3f, 1e-5f, 65504f, -0.1f };
        var state = new Dictionary<string, Tensor>
        {
            ["weight"] = Tensor.FromArray(w, [2, 3]).To(DType.Float16),
            ["bias"] = Tensor.FromArray(new[] { 1.5f, -2f }).To(DType.BFloat16),
        };
        SafeTensors.Save(dir.File("w.safetensors"), state);
        net.LoadSafeTensors(dir.File("w.safetensors"));
        Assert.Equal(DType.Float32, net.GetParameter("weight").Data.DType);
        Assert.Equal(w.Select(v => (float)(Half)v), net.GetParameter("weight").Data.ToArray<float>());
        Assert.Equal(new[] { 1.5f, -2f }, net.GetParameter("bias").Data.ToArray<float>());
    }
}
