using System.Buffers.Binary;
using System.Text;
using DeepSharp.IO;

namespace DeepSharp.IO.Tests;

/// <summary>A file that ends early (it shrank after its length was taken) is reported at the byte where it ends, for
/// both formats and for half-precision tensors.</summary>
public class TruncationOffsetTests
{
    /// <summary>A stream that claims to be <paramref name="claimed"/> bytes long but ends after <paramref name="data"/>.</summary>
    private sealed class Shrunk(byte[] data, long claimed) : MemoryStream(data, writable: false)
    {
        public override long Length => claimed;
    }

    /// <summary>A safetensors file holding one F16 tensor of <paramref name="n"/> elements: element i is i mod 2048
    /// (exact in half precision).</summary>
    private static byte[] Half(int n)
    {
        var json = Encoding.UTF8.GetBytes($$$"""{"h":{"dtype":"F16","shape":[{{{n}}}],"data_offsets":[0,{{{2 * n}}}]}}""");
        var file = new byte[8 + json.Length + 2 * n];
        BinaryPrimitives.WriteUInt64LittleEndian(file, (ulong)json.Length);
        json.CopyTo(file, 8);
        for (int i = 0; i < n; i++)
            BinaryPrimitives.WriteUInt16LittleEndian(file.AsSpan(8 + json.Length + 2 * i), BitConverter.HalfToUInt16Bits((Half)(i % 2048)));
        return file;
    }

    [Fact]
    public void BothFormatsReportTheByteWhereTheFileEnds()
    {
        using var ckpt = new MemoryStream();
        Checkpoint.Write(ckpt, new DictValue(new() { ["w"] = Tensor.Ones(3, 2), ["n"] = Tensor.Arange(4, DType.Int64) }));
        using var st = new MemoryStream();
        SafeTensors.Write(st, [new("w", Tensor.Ones(3, 2)), new("n", Tensor.Arange(4, DType.Int64))]);
        var (c, s) = (ckpt.ToArray(), st.ToArray());
        for (int n = CheckpointFormat.Magic.Length; n < c.Length; n++)
            Assert.Equal(n, Assert.Throws<CheckpointFormatException>(() => Checkpoint.Read(new Shrunk(c[..n], c.Length))).Offset);
        for (int n = 0; n < s.Length; n++)
            Assert.Equal(n, Assert.Throws<CheckpointFormatException>(() => SafeTensors.Read(new Shrunk(s[..n], s.Length))).Offset);
    }

    [Fact]
    public void LongHalfPrecisionTensorsLoadExactlyAndReportCutsWhereTheyAre()
    {
        const int n = 40_000;
        var file = Half(n);
        var values = SafeTensors.Read(new MemoryStream(file)).Tensors["h"].To(DType.Float32).ToArray<float>();
        Assert.Equal(Enumerable.Range(0, n).Select(i => (float)(i % 2048)), values);
        foreach (int cut in new[] { file.Length - 2 * n + 1, file.Length - 2 * (n - 32_768) + 1, file.Length - 1 })
        {
            var cutShort = file[..cut];
            Assert.Equal(cut, Assert.Throws<CheckpointFormatException>(() => SafeTensors.Read(new Shrunk(cutShort, file.Length))).Offset);
        }
        var empty = SafeTensors.Read(new MemoryStream(Half(0))).Tensors["h"];
        Assert.Equal(new[] { 0 }, empty.Shape);
    }
}
