using System.Text;
using DeepSharp.IO;
using DeepSharp.Tests;

namespace DeepSharp.IO.Tests;

/// <summary>What the public entry points do with bad arguments (the exception type and the argument it names) and with
/// the device the caller picks; what a writer decides about metadata and names before it writes a byte.</summary>
public class ArgumentTests
{
    /// <summary>A readable stream that cannot seek (a network or pipe stream).</summary>
    private sealed class Forward(byte[] data) : MemoryStream(data, writable: false)
    {
        public override bool CanSeek => false;
    }

    private static byte[] CheckpointFile(CheckpointValue v)
    {
        using var ms = new MemoryStream();
        Checkpoint.Write(ms, v);
        return ms.ToArray();
    }

    private static byte[] SafeTensorsFile(IReadOnlyDictionary<string, string>? meta = null)
    {
        using var ms = new MemoryStream();
        SafeTensors.Write(ms, [new("w", Tensor.Arange(3))], meta);
        return ms.ToArray();
    }

    [Fact]
    public void ReadersNeedASeekableStream()
    {
        Assert.Equal("stream", Assert.Throws<ArgumentNullException>(() => Checkpoint.Read(null!)).ParamName);
        Assert.Equal("s", Assert.Throws<ArgumentNullException>(() => SafeTensors.Read(null!)).ParamName);
        var e = Assert.Throws<ArgumentException>(() => Checkpoint.Read(new Forward(CheckpointFile(Tensor.Ones(1)))));
        Assert.Equal("stream", e.ParamName);
        Assert.Equal("s", Assert.Throws<ArgumentException>(() => SafeTensors.Read(new Forward(SafeTensorsFile()))).ParamName);
    }

    [Theory, MemberData(nameof(TestDevices.All), MemberType = typeof(TestDevices))]
    public void EveryReaderPutsTheTensorsOnTheDeviceAsked(string device)
    {
        var d = TestDevices.Use(device);
        using var dir = new TempDir();
        var ckpt = dir.File("x.ckpt");
        Checkpoint.Save(ckpt, new DictValue(new() { ["w"] = Tensor.Arange(3) }));
        var st = dir.File("x.safetensors");
        System.IO.File.WriteAllBytes(st, SafeTensorsFile());
        var loaded = new[]
        {
            Checkpoint.Load(ckpt, d).AsDict()["w"].AsTensor(),
            Checkpoint.LoadWithMeta(ckpt, d).Value.AsDict()["w"].AsTensor(),
            Checkpoint.Read(new MemoryStream(System.IO.File.ReadAllBytes(ckpt)), d).Value.AsDict()["w"].AsTensor(),
            Checkpoint.LoadDict(ckpt, d)["w"],
            SafeTensors.Load(st, d)["w"],
            SafeTensors.LoadWithMeta(st, d).Tensors["w"],
            SafeTensors.Read(new MemoryStream(System.IO.File.ReadAllBytes(st)), d).Tensors["w"],
        };
        foreach (var t in loaded)
        {
            Assert.Equal(d, t.Device);
            Assert.Equal(new float[] { 0, 1, 2 }, t.ToArray<float>());
        }
    }

    [Fact]
    public void NullNamesTensorsAndMetadataValuesAreRefusedNamingTheArgument()
    {
        var one = Tensor.Ones(1);
        using var ms = new MemoryStream();
        Assert.Equal("tensors", Assert.Throws<ArgumentNullException>(() => SafeTensors.Write(ms, null!)).ParamName);
        Assert.Equal("value", Assert.Throws<ArgumentNullException>(() => Checkpoint.Write(ms, null!)).ParamName);
        var nullName = Assert.Throws<ArgumentException>(() => SafeTensors.Write(ms, [new(null!, one)]));
        Assert.Equal("tensors", nullName.ParamName);
        var nullTensor = Assert.Throws<ArgumentException>(() => SafeTensors.Write(ms, [new("w", null!)]));
        Assert.Equal("tensors", nullTensor.ParamName);
        Assert.Contains("'w'", nullTensor.Message);
        var nullValue = new Dictionary<string, string> { ["k"] = null! };
        Assert.Equal("meta", Assert.Throws<ArgumentException>(() => SafeTensors.Write(ms, [new("w", one)], nullValue)).ParamName);
        Assert.Equal("meta", Assert.Throws<ArgumentException>(() => Checkpoint.Write(ms, one, nullValue)).ParamName);
        Assert.Equal(0, ms.Length);
    }

    [Fact]
    public void EmptyMetadataWritesNoMetadataObject()
    {
        var without = SafeTensorsFile();
        Assert.Equal(without, SafeTensorsFile(new Dictionary<string, string>()));
        Assert.DoesNotContain("__metadata__", Encoding.UTF8.GetString(without));
        Assert.Contains("__metadata__", Encoding.UTF8.GetString(SafeTensorsFile(new Dictionary<string, string> { ["k"] = "v" })));
    }

    [Fact]
    public void ALoneSurrogateIsNamedByItsCodeUnit()
    {
        using var ms = new MemoryStream();
        foreach (var (key, unit) in new[] { ("a\ud800", "D800"), ("\udc00", "DC00"), ("ab\udbff!", "DBFF") })
        {
            var e = Assert.Throws<ArgumentException>(() => Checkpoint.Write(ms, new DictValue(new() { [key] = Tensor.Ones(1) })));
            Assert.Contains(unit, e.Message);
        }
    }

    [Fact]
    public void ALongKeyIsShownShortened()
    {
        // A 64 KiB key with a lone surrogate: refused, and the message quotes its start and end, not all of it.
        var key = "start-" + new string('k', CheckpointLimits.MaxKeyBytes / 2) + "\ud800" + "-end";
        using var ms = new MemoryStream();
        var e = Assert.Throws<ArgumentException>(() => Checkpoint.Write(ms, new DictValue(new() { [key] = Tensor.Ones(1) })));
        Assert.Contains("start-", e.Message);
        Assert.True(e.Message.Length < 1000, $"a message of {e.Message.Length} characters");
    }
}
