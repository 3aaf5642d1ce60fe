using System.Buffers;
using System.Buffers.Binary;
using DeepSharp.IO;
using MessagePack;

namespace DeepSharp.IO.Tests;

public sealed class TempDir : IDisposable
{
    public string Path { get; } = Directory.CreateTempSubdirectory("deepsharp-io-").FullName;
    public string File(string name) => System.IO.Path.Combine(Path, name);
    public void Dispose() => Directory.Delete(Path, recursive: true);
}

public class CheckpointTests
{
    private static byte[] Bytes(CheckpointValue v)
    {
        using var ms = new MemoryStream();
        Checkpoint.Write(ms, v);
        return ms.ToArray();
    }

    private static CheckpointValue Read(byte[] file) => Checkpoint.Read(new MemoryStream(file)).Value;

    private static CheckpointValue Sample() => new DictValue(new OrderedDictionary<string, CheckpointValue>
    {
        ["w"] = Tensor.FromArray(new float[] { 1.5f, float.NaN, -0f, float.PositiveInfinity }, [2, 2]),
        ["ids"] = Tensor.FromArray(new long[] { long.MinValue, 7 }),
        ["more"] = new ListValue([Tensor.FromArray(new int[] { 3 }), Tensor.FromArray(new double[] { Math.PI }, []), Tensor.Zeros(0, 3)]),
    });

    [Fact]
    public void TensorsListsAndDictsRoundTripBitExactly()
    {
        using var dir = new TempDir();
        var x = Tensor.Arange(4);
        Checkpoint.Save(dir.File("x-file"), x);
        Assert.Equal(x.ToArray<float>(), Checkpoint.LoadTensor(dir.File("x-file")).ToArray<float>());
        var y = Tensor.Zeros(4);
        Checkpoint.Save(dir.File("x-files"), [x, y]);
        var xy = Checkpoint.LoadList(dir.File("x-files"));
        Assert.Equal(y.ToArray<float>(), xy[1].ToArray<float>());
        Checkpoint.Save(dir.File("mydict"), new Dictionary<string, Tensor> { ["x"] = x, ["y"] = y });
        Assert.Equal(new[] { "x", "y" }, Checkpoint.LoadDict(dir.File("mydict")).Keys);

        var back = Read(Bytes(Sample())).AsDict();
        var w = back["w"].AsTensor();
        Assert.Equal(new[] { 2, 2 }, w.Shape);
        Assert.Equal(new float[] { 1.5f, float.NaN, -0f, float.PositiveInfinity }.Select(BitConverter.SingleToInt32Bits),
            w.ToArray<float>().Select(BitConverter.SingleToInt32Bits));
        Assert.Equal(new long[] { long.MinValue, 7 }, back["ids"].AsTensor().ToArray<long>());
        var more = back["more"].AsList();
        Assert.Equal(DType.Int32, more[0].AsTensor().DType);
        Assert.Equal(Math.PI, more[1].AsTensor().Item<double>());
        Assert.Equal(new[] { 0, 3 }, more[2].AsTensor().Shape);
    }

    [Fact]
    public void TheCallerPicksTheDevice()
    {
        var file = Bytes(new TensorValue(Tensor.Rand([3], device: Device.IlgpuCpu))); // written from a device tensor
        var onSim = Checkpoint.Read(new MemoryStream(file), Device.IlgpuCpu).Value.AsTensor();
        Assert.Equal(Device.IlgpuCpu, onSim.Device);
        Assert.Equal(Device.Cpu, Read(file).AsTensor().Device);
    }

    [Fact]
    public void EveryTruncationFailsWithAnOffset()
    {
        var file = Bytes(Sample());
        for (int n = 0; n < file.Length; n++)
        {
            var e = Assert.Throws<CheckpointFormatException>(() => Read(file[..n]));
            Assert.True(e.Offset >= 0, $"prefix of {n} bytes: no offset in '{e.Message}'");
        }
    }

    [Fact]
    public void TrailingBytesAreRefused()
    {
        var file = Bytes(Sample());
        var e = Assert.Throws<CheckpointFormatException>(() => Read([.. file, 0]));
        Assert.Contains("Trailing", e.Message);
        Assert.Equal(file.Length, e.Offset);
    }

    [Fact]
    public void EveryFlippedBitIsDetected()
    {
        var file = Bytes(Sample());
        for (int i = 0; i < file.Length; i++)
            for (int bit = 0; bit < 8; bit++)
            {
                var bad = (byte[])file.Clone();
                bad[i] ^= (byte)(1 << bit);
                var e = Assert.Throws<CheckpointFormatException>(() => Read(bad));
                if (i >= file.Length - 8 * 4) Assert.Contains("tensor", e.Message, StringComparison.OrdinalIgnoreCase);
            }
    }

    [Fact]
    public void OtherFilesAreIdentified()
    {
        Assert.Contains("empty", Assert.Throws<CheckpointFormatException>(() => Read([])).Message);
        Assert.Contains("zip",
            Assert.Throws<CheckpointFormatException>(() => Read([(byte)'P', (byte)'K', 3, 4, 20, 0, 0, 0, 8, 0])).Message);
        var safetensors = new byte[] { 2, 0, 0, 0, 0, 0, 0, 0, (byte)'{', (byte)'}' };
        Assert.Contains("safetensors", Assert.Throws<CheckpointFormatException>(() => Read(safetensors)).Message);
        Assert.Contains("text", Assert.Throws<CheckpointFormatException>(() => Read("hello, this is text\n"u8.ToArray())).Message);
        var newer = Bytes(Sample());
        BinaryPrimitives.WriteUInt16LittleEndian(newer.AsSpan(8), 9);
        var e = Assert.Throws<CheckpointFormatException>(() => Read(newer));
        Assert.Contains("version 9", e.Message);
        Assert.Contains("reads version 1", e.Message);
    }

    /// <summary>A file with a hand-made header (for claims a writer would never make).</summary>
    internal static byte[] Forge(Action<MessagePackWriter> writeTensorsAndRoot, int payloadBytes = 0)
    {
        var buffer = new ArrayBufferWriter<byte>();
        var w = new MessagePackWriter(buffer);
        w.WriteMapHeader(3);
        w.Write("meta"); w.WriteMapHeader(0);
        writeTensorsAndRoot(w);
        var header = buffer.WrittenSpan.ToArray();
        var file = new byte[CheckpointFormat.PrefixLength + header.Length + payloadBytes];
        CheckpointFormat.Magic.CopyTo(file, 0);
        BinaryPrimitives.WriteUInt16LittleEndian(file.AsSpan(8), 1);
        BinaryPrimitives.WriteUInt32LittleEndian(file.AsSpan(10), (uint)header.Length);
        BinaryPrimitives.WriteUInt32LittleEndian(file.AsSpan(14), Crc32.Of(header));
        header.CopyTo(file, CheckpointFormat.PrefixLength);
        return file;
    }

    [Fact]
    public void HugeClaimsAreRefusedBeforeAllocating()
    {
        // 200-odd bytes claiming a 4 TiB float32 tensor.
        var file = Forge(w =>
        {
            w.Write("tensors"); w.WriteArrayHeader(1);
            w.WriteArrayHeader(3); w.Write("float32"); w.WriteArrayHeader(2); w.Write(1 << 20); w.Write(1 << 20); w.Write(0u);
            w.Write("root"); w.WriteArrayHeader(2); w.Write(0); w.Write(0);
            w.Flush();
        });
        long before = GC.GetAllocatedBytesForCurrentThread();
        var e = Assert.Throws<CheckpointFormatException>(() => Read(file));
        Assert.True(GC.GetAllocatedBytesForCurrentThread() - before < 1 << 20, "allocated more than 1 MiB");
        Assert.Contains("beyond what a tensor can hold", e.Message);
    }

    [Theory]
    [InlineData(new[] { 0, 65536, 65536 })]
    [InlineData(new[] { 65536, 0, 65536 })]
    [InlineData(new[] { 0, 2147483647, 2 })]
    public void EmptyShapesTheRuntimeCannotHoldAreFormatErrors(int[] shape)
    {
        // No elements, no bytes: but strides of 2^32 do not fit a tensor's 32-bit indexing, so the reader must refuse it
        // with its own exception, not let the runtime's ArgumentException out.
        var file = Forge(w =>
        {
            w.Write("tensors"); w.WriteArrayHeader(1);
            w.WriteArrayHeader(3); w.Write("float32"); w.WriteArrayHeader(shape.Length);
            foreach (var d in shape) w.Write(d);
            w.Write(0u);
            w.Write("root"); w.WriteArrayHeader(2); w.Write(0); w.Write(0);
            w.Flush();
        });
        Assert.Contains("beyond what a tensor can hold", Assert.Throws<CheckpointFormatException>(() => Read(file)).Message);
        var json = "{\"a\":{\"dtype\":\"F32\",\"shape\":[" + string.Join(",", shape) + "],\"data_offsets\":[0,0]}}";
        var h = System.Text.Encoding.UTF8.GetBytes(json);
        var st = new byte[8 + h.Length];
        BitConverter.TryWriteBytes(st, (ulong)h.Length);
        h.CopyTo(st, 8);
        Assert.Contains("beyond what a tensor can hold",
            Assert.Throws<CheckpointFormatException>(() => SafeTensors.Read(new MemoryStream(st))).Message);
    }

    [Fact]
    public void DuplicateKeysAreRefusedNamingTheKey()
    {
        var file = Forge(w =>
        {
            w.Write("tensors"); w.WriteArrayHeader(0);
            w.Write("root"); w.WriteArrayHeader(2); w.Write(2); w.WriteArrayHeader(2);
            w.WriteArrayHeader(2); w.Write("dup"); w.WriteArrayHeader(2); w.Write(1); w.WriteArrayHeader(0);
            w.WriteArrayHeader(2); w.Write("dup"); w.WriteArrayHeader(2); w.Write(1); w.WriteArrayHeader(0);
            w.Flush();
        });
        Assert.Contains("'dup' twice", Assert.Throws<CheckpointFormatException>(() => Read(file)).Message);
    }

    [Fact]
    public void DeeplyNestedFilesAreRefused()
    {
        var file = Forge(w =>
        {
            w.Write("tensors"); w.WriteArrayHeader(0);
            w.Write("root");
            for (int i = 0; i < 500; i++) { w.WriteArrayHeader(2); w.Write(1); w.WriteArrayHeader(1); }
            w.WriteArrayHeader(2); w.Write(1); w.WriteArrayHeader(0);
            w.Flush();
        });
        Assert.Contains("deeper", Assert.Throws<CheckpointFormatException>(() => Read(file)).Message);
    }

    private sealed class FailAfter(Stream inner, long limit) : Stream
    {
        private long _written;
        public override void Write(byte[] buffer, int offset, int count) => Write(buffer.AsSpan(offset, count));
        public override void Write(ReadOnlySpan<byte> buffer)
        {
            if (_written + buffer.Length > limit)
            {
                inner.Write(buffer[..(int)(limit - _written)]);
                throw new IOException($"simulated failure after {limit} bytes");
            }
            inner.Write(buffer);
            _written += buffer.Length;
        }
        public override void Flush() => inner.Flush();
        public override bool CanRead => false;
        public override bool CanSeek => false;
        public override bool CanWrite => true;
        public override long Length => throw new NotSupportedException();
        public override long Position { get => _written; set => throw new NotSupportedException(); }
        public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
    }

    [Fact]
    public void AnInterruptedSaveLeavesThePreviousFileIntact()
    {
        using var dir = new TempDir();
        var path = dir.File("model.ckpt");
        Checkpoint.Save(path, Sample());
        var before = File.ReadAllBytes(path);
        int size = Bytes(new TensorValue(Tensor.Ones(50))).Length; // the size of the save being interrupted
        for (int k = 0; k < size; k++) // every byte at which the write can fail
        {
            Assert.Throws<IOException>(() => Checkpoint.SaveAtomic(path, new TensorValue(Tensor.Ones(50)), null, s => new FailAfter(s, k)));
            Assert.Equal(before, File.ReadAllBytes(path));
        }
        Assert.Equal(new[] { "model.ckpt" }, Directory.GetFiles(dir.Path).Select(Path.GetFileName)); // no temp files left
        Assert.Equal(3, Checkpoint.Load(path).AsDict().Count);
    }

    [Fact]
    public void KillingAProcessMidSaveLeavesALoadableFileAndTheNextSaveRemovesItsTemporaryFile()
    {
        var child = Path.GetFullPath(Path.Combine(AppContext.BaseDirectory, "..", "..", "..", "..", "IO.SaveChild", "bin",
            new DirectoryInfo(AppContext.BaseDirectory).Parent!.Name, "net10.0", "DeepSharp.IO.SaveChild.dll")); // same configuration
        if (!File.Exists(child)) Assert.Skip($"the helper {child} is not built here (it is built with the solution)");
        using var dir = new TempDir();
        var path = dir.File("run.ckpt");
        int litter = 0;
        // Five rounds, and more (each waiting longer) while no save has completed: on a loaded machine the child may not
        // finish its first save within the early waits.
        for (int round = 0; round < 5 || (!File.Exists(path) && round < 12); round++)
        {
            using var p = System.Diagnostics.Process.Start(
                new System.Diagnostics.ProcessStartInfo("dotnet", [child, path]) { RedirectStandardOutput = true })!;
            p.StandardOutput.ReadLine(); // "saving"
            Thread.Sleep(150 + 60 * round);
            p.Kill(entireProcessTree: true);
            p.WaitForExit();
            litter = Math.Max(litter, Directory.GetFiles(dir.Path, "*.tmp", SearchOption.AllDirectories).Length);
            if (!File.Exists(path)) continue; // killed before the first save completed: nothing was replaced
            var d = Checkpoint.Load(path).AsDict(); // complete and valid, whichever save it is
            Assert.Equal(1 << 21, d["w"].AsTensor().Count);
        }
        Assert.True(File.Exists(path), "no save completed in twelve rounds");
        Assert.True(litter <= 1, $"{litter} temporary files: each kill leaves at most one, which the next save removes before it writes");
        // The last kill's temporary file (if it left one) goes with the next save; the file loads.
        Checkpoint.Save(path, new DictValue(new() { ["w"] = Tensor.Zeros(1 << 21), ["step"] = Tensor.Full([1], -1) }));
        Assert.Equal(["run.ckpt"], Directory.GetFiles(dir.Path).Select(Path.GetFileName));
        Assert.Equal(-1f, Checkpoint.LoadDict(path)["step"].Item<float>());
    }
}
