using DeepSharp.IO;
using DeepSharp.Tests;

namespace DeepSharp.IO.Tests;

/// <summary>The worked example of the format's specification (docs/articles/file-format.md, "Worked example"): the
/// 66 bytes of one float32 tensor [1.5, −2], byte for byte. A change to what the writer produces, or to what the reader
/// accepts, breaks this test before it breaks files users have (version 1 is a promise).</summary>
public class CheckpointGoldenTests
{
    private static readonly byte[] Tiny = Convert.FromHexString(
        "89445343" + "4B0D0A1A" + "0100" + "28000000" + "9F8248DD" +            // magic, version 1, header length 40, header CRC
        "83" + "A46D657461" + "80" +                                          // {"meta": {},
        "A774656E736F7273" + "91" + "93" + "A7666C6F61743332" + "9102" + "CECCDF2C3A" + // "tensors": [["float32", [2], crc]],
        "A4726F6F74" + "92" + "00" + "00" +                                    // "root": [0, 0]}: tensor 0
        "0000C03F" + "000000C0");                                             // 1.5f, -2f, little-endian

    [Fact]
    public void TheWriterProducesTheSpecificationsExample()
    {
        using var ms = new MemoryStream();
        Checkpoint.Write(ms, Tensor.FromArray(new[] { 1.5f, -2f }));
        Assert.Equal(66, Tiny.Length);
        Assert.Equal(Convert.ToHexString(Tiny), Convert.ToHexString(ms.ToArray()));
    }

    [Theory, MemberData(nameof(TestDevices.All), MemberType = typeof(TestDevices))]
    public void TheSpecificationsExampleLoads(string device)
    {
        var d = TestDevices.Use(device);
        var (value, meta) = Checkpoint.Read(new MemoryStream(Tiny), d);
        Assert.Empty(meta);
        var t = value.AsTensor();
        Assert.Equal(d, t.Device);
        Assert.Equal(DType.Float32, t.DType);
        Assert.Equal([2], t.Shape);
        Assert.Equal(new[] { 1.5f, -2f }, t.ToArray<float>());
    }
}
