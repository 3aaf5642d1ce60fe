using System.Buffers.Binary;
using System.Text;
using DeepSharp.IO;

namespace DeepSharp.IO.Tests;

public class SafeTensorsTests
{
    /// <summary>A file built by hand from the published format: 8-byte size, JSON header, data.</summary>
    private static byte[] Build(string json, byte[] data)
    {
        var h = Encoding.UTF8.GetBytes(json);
        var file = new byte[8 + h.Length + data.Length];
        BinaryPrimitives.WriteUInt64LittleEndian(file, (ulong)h.Length);
        h.CopyTo(file, 8);
        data.CopyTo(file, 8 + h.Length);
        return file;
    }

    private static (OrderedDictionary<string, Tensor> T, IReadOnlyDictionary<string, string> M) Read(byte[] f) =>
        SafeTensors.Read(new MemoryStream(f));

    [Fact]
    public void HandBuiltFilesLoadIncludingHalfAndBFloat16()
    {
        var data = new byte[8 + 4 + 4 + 16];
        BinaryPrimitives.WriteSingleLittleEndian(data, 1.5f);
        BinaryPrimitives.WriteSingleLittleEndian(data.AsSpan(4), -2f);
        BinaryPrimitives.WriteUInt16LittleEndian(data.AsSpan(8), BitConverter.HalfToUInt16Bits((Half)0.25f));
        BinaryPrimitives.WriteUInt16LittleEndian(data.AsSpan(10), BitConverter.HalfToUInt16Bits((Half)(-3f)));
        BinaryPrimitives.WriteUInt16LittleEndian(data.AsSpan(12), (ushort)(BitConverter.SingleToInt32Bits(6.5f) >> 16)); // bf16
        BinaryPrimitives.WriteUInt16LittleEndian(data.AsSpan(14), (ushort)(BitConverter.SingleToInt32Bits(-0.5f) >> 16));
        BinaryPrimitives.WriteInt64LittleEndian(data.AsSpan(16), 42);
        BinaryPrimitives.WriteInt64LittleEndian(data.AsSpan(24), -1);
        var json = """{"__metadata__":{"format":"pt"},"w":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}""" +
            ""","h":{"dtype":"F16","shape":[2,1],"data_offsets":[8,12]},"b":{"dtype":"BF16","shape":[2],"data_offsets":[12,16]}""" +
            ""","ids":{"dtype":"I64","shape":[2],"data_offsets":[16,32]}}""";
        var (t, meta) = Read(Build(json, data));
        Assert.Equal("pt", meta["format"]);
        Assert.Equal(new float[] { 1.5f, -2f }, t["w"].ToArray<float>());
        Assert.Equal(DType.Float16, t["h"].DType); // kept as written: no widening
        Assert.Equal(new[] { (Half)0.25f, (Half)(-3f) }, t["h"].ToArray<Half>());
        Assert.Equal(new[] { 2, 1 }, t["h"].Shape);
        Assert.Equal(DType.BFloat16, t["b"].DType);
        Assert.Equal(new[] { (BFloat16)6.5f, (BFloat16)(-0.5f) }, t["b"].ToArray<BFloat16>());
        Assert.Equal(new float[] { 6.5f, -0.5f }, t["b"].To(DType.Float32).ToArray<float>());
        Assert.Equal(new long[] { 42, -1 }, t["ids"].ToArray<long>());
    }

    [Fact]
    public void OursRoundTripAndFollowTheLayout()
    {
        using var dir = new TempDir();
        var w = Tensor.Randn([3, 2], generator: new Generator(1));
        SafeTensors.Save(dir.File("m.safetensors"), [new("w", w), new("n", Tensor.Arange(3, DType.Int64))],
            new Dictionary<string, string> { ["by"] = "DeepSharp" });
        var bytes = File.ReadAllBytes(dir.File("m.safetensors"));
        ulong n = BinaryPrimitives.ReadUInt64LittleEndian(bytes);
        Assert.Equal(0UL, n % 8); // padded header
        Assert.Equal((byte)'{', bytes[8]);
        var (t, meta) = SafeTensors.LoadWithMeta(dir.File("m.safetensors"), Device.IlgpuCpu);
        Assert.Equal(w.ToArray<float>(), t["w"].ToArray<float>());
        Assert.Equal(Device.IlgpuCpu, t["w"].Device);
        Assert.Equal(new long[] { 0, 1, 2 }, t["n"].ToArray<long>());
        Assert.Equal("DeepSharp", meta["by"]);
    }

    [Theory]
    [InlineData("""{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,4]}}""", 8, "do not match")]          // size mismatch
    [InlineData("""{"a":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}""", 8, "do not match")]          // hole at the start
    [InlineData("""{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}""", 8, "after the last tensor")] // trailing data
    [InlineData("""{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"a":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}""",
        8, "twice")]
    [InlineData("""{"a":{"dtype":"Q7","shape":[1],"data_offsets":[0,4]}}""", 4, "Q7")]
    [InlineData("""{"a":{"dtype":"F32","shape":[1048576,1048576],"data_offsets":[0,4]}}""", 4, "elements")]
    [InlineData("""[1,2,3]""", 0, "not a JSON object")]
    [InlineData("""{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]""", 4, "Invalid safetensors header")]
    public void BadFilesAreRefusedClearly(string json, int dataBytes, string expected)
    {
        var e = Assert.Throws<CheckpointFormatException>(() => Read(Build(json, new byte[dataBytes])));
        Assert.Contains(expected, e.Message);
    }

    [Fact]
    public void EveryTruncationAndAHugeHeaderClaimFailCleanly()
    {
        using var ms = new MemoryStream();
        SafeTensors.Write(ms, [new("w", Tensor.Ones(3))]);
        var file = ms.ToArray();
        for (int n = 0; n < file.Length; n++) Assert.Throws<CheckpointFormatException>(() => Read(file[..n]));
        var huge = (byte[])file.Clone();
        BinaryPrimitives.WriteUInt64LittleEndian(huge, 1UL << 42);
        Assert.Contains("header size", Assert.Throws<CheckpointFormatException>(() => Read(huge)).Message);
    }
}
