using System.Buffers.Binary;
using System.Text;
using DeepSharp.IO;

namespace DeepSharp.IO.Tests;

/// <summary>The safetensors header rules beyond the table-driven cases: each field once, unknown fields skipped whole,
/// null metadata, the key and metadata limits, and where tiling errors are reported.</summary>
public class SafeTensorsHeaderTests
{
    private static byte[] Build(string json, int dataBytes)
    {
        var h = Encoding.UTF8.GetBytes(json);
        var file = new byte[8 + h.Length + dataBytes];
        BinaryPrimitives.WriteUInt64LittleEndian(file, (ulong)h.Length);
        h.CopyTo(file, 8);
        return file;
    }

    /// <summary>A header of one F32 tensor called <paramref name="name"/> over data bytes [0, 4).</summary>
    private static string One(string name, string shape = "[1]") =>
        "{\"" + name + "\":{\"dtype\":\"F32\",\"shape\":" + shape + ",\"data_offsets\":[0,4]}}";

    private static (OrderedDictionary<string, Tensor> Tensors, IReadOnlyDictionary<string, string> Meta) Read(byte[] file) =>
        SafeTensors.Read(new MemoryStream(file));

    private static CheckpointFormatException Fails(byte[] file) => Assert.Throws<CheckpointFormatException>(() => Read(file));

    [Theory]
    [InlineData("""{"a":{"dtype":"F32","shape":[1],"shape":[1],"data_offsets":[0,4]}}""")]
    [InlineData("""{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4],"data_offsets":[0,4]}}""")]
    [InlineData("""{"a":{"dtype":"F32","shape":[1],"data_offsets":5}}""")]
    public void EachFieldAppearsOnceAndHasItsType(string json) => Fails(Build(json, 4));

    [Fact]
    public void UnknownFieldsAreSkippedWholeAndNullMetadataIsNone()
    {
        var json = """{"__metadata__":null,"a":{"x":{"dtype":"I64","shape":[9]},"dtype":"F32","y":[1,[2]],"shape":[1],"""
            + "\"data_offsets\":[0,4]}}";
        var (tensors, meta) = Read(Build(json, 4));
        Assert.Equal(["a"], tensors.Keys);
        Assert.Equal(DType.Float32, tensors["a"].DType);
        Assert.Equal([1], tensors["a"].Shape);
        Assert.Empty(meta);
    }

    [Fact]
    public void AMissingFieldIsNamed()
    {
        Assert.Contains("dtype", Fails(Build("""{"a":{"shape":[1],"data_offsets":[0,4]}}""", 4)).Message);
        var offsets = Fails(Build("""{"a":{"dtype":"F32","shape":[1]}}""", 4)).Message;
        Assert.Contains("data_offsets", offsets);
        Assert.DoesNotContain("lacks shape", offsets);
    }

    [Fact]
    public void KeysAndMetadataAreHeldToTheLimitsTheWriterChecks()
    {
        var longName = new string('n', CheckpointLimits.MaxKeyBytes + 1);
        Fails(Build(One(longName), 4));
        var atLimit = new string('n', CheckpointLimits.MaxKeyBytes);
        Assert.Single(Read(Build(One(atLimit), 4)).Tensors);
        // A value at the metadata limit on its own is over it with its key.
        var value = new string('v', CheckpointLimits.MaxMetadataBytes);
        Fails(Build("{\"__metadata__\":{\"k\":\"" + value + "\"}," + One("a")[1..], 4));
    }

    [Fact]
    public void TheLargestTensorShapeIsAValidClaimRefusedOnlyByTheData()
    {
        // int.MaxValue elements is what a tensor can hold: the header parses, and the offsets do not match the data.
        var file = Build(One("a", $"[{int.MaxValue}]"), 4);
        long dataStart = file.Length - 4;
        Assert.Equal(dataStart, Fails(file).Offset);
    }

    [Fact]
    public void TilingErrorsAreReportedWhereTheyAre()
    {
        // A hole before the first tensor: at its begin offset.
        var hole = Build("""{"a":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}""", 8);
        Assert.Equal(hole.Length - 8 + 4, Fails(hole).Offset);
        // An entry that runs past the data: at its begin offset.
        var past = Build("""{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"""
            + "\"b\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[4,12]}}", 8);
        Assert.Equal(past.Length - 8 + 4, Fails(past).Offset);
        // Bytes after the last tensor: where they start.
        var trailing = Build("""{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}""", 7);
        Assert.Equal(trailing.Length - 3, Fails(trailing).Offset);
    }
}
