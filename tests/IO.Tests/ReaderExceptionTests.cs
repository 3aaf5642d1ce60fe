using DeepSharp.IO;
using DeepSharp.Layers;

namespace DeepSharp.IO.Tests;

/// <summary>Only <see cref="CheckpointFormatException"/> leaves a reader for anything about the file: its content, a
/// directory or device in its place, or its changing while being read. A missing file stays a FileNotFoundException.</summary>
public class ReaderExceptionTests
{
    private static byte[] CheckpointFile()
    {
        using var ms = new MemoryStream();
        Checkpoint.Write(ms, new DictValue(new() { ["w"] = Tensor.Ones(3, 2), ["ids"] = new ListValue([Tensor.Arange(5, DType.Int64)]) }),
            new Dictionary<string, string> { ["k"] = "v" });
        return ms.ToArray();
    }

    private static byte[] SafeTensorsFile()
    {
        using var ms = new MemoryStream();
        SafeTensors.Write(ms, [new("w", Tensor.Ones(3, 2)), new("b", Tensor.Zeros(2))], new Dictionary<string, string> { ["k"] = "v" });
        return ms.ToArray();
    }

    private static readonly (byte[] File, Action<Stream> Read)[] BothFormats =
        [(CheckpointFile(), s => Checkpoint.Read(s)), (SafeTensorsFile(), s => SafeTensors.Read(s))];

    /// <summary>Every reader entry point that takes a path.</summary>
    public static TheoryData<string> PathReaders => ["Load", "LoadWithMeta", "LoadTensor", "LoadList", "LoadDict", "SafeTensors.Load",
        "SafeTensors.LoadWithMeta", "ModelCheckpoint.Load", "ModelCheckpoint.LoadSafeTensors"];

    private static void ReadPath(string reader, string path)
    {
        switch (reader)
        {
            case "Load": Checkpoint.Load(path); break;
            case "LoadWithMeta": Checkpoint.LoadWithMeta(path); break;
            case "LoadTensor": Checkpoint.LoadTensor(path); break;
            case "LoadList": Checkpoint.LoadList(path); break;
            case "LoadDict": Checkpoint.LoadDict(path); break;
            case "SafeTensors.Load": SafeTensors.Load(path); break;
            case "SafeTensors.LoadWithMeta": SafeTensors.LoadWithMeta(path); break;
            case "ModelCheckpoint.Load": new Sequential(new Dense(2)).Load(path); break;
            default: new Sequential(new Dense(2)).LoadSafeTensors(path); break;
        }
    }

    [Theory, MemberData(nameof(PathReaders))]
    public void ADirectoryIsRefusedAsADirectory(string reader)
    {
        using var dir = new TempDir();
        var e = Assert.Throws<CheckpointFormatException>(() => ReadPath(reader, dir.Path));
        Assert.Contains("is a directory", e.Message);
        Assert.Contains(dir.Path, e.Message);
    }

    [Theory, MemberData(nameof(PathReaders))]
    public void AMissingFileIsFileNotFound(string reader)
    {
        using var dir = new TempDir();
        Assert.Throws<FileNotFoundException>(() => ReadPath(reader, dir.File("absent")));
        Assert.Throws<DirectoryNotFoundException>(() => ReadPath(reader, Path.Combine(dir.Path, "absent", "file")));
    }

    [Theory, MemberData(nameof(PathReaders))]
    public void ADeviceFileIsAFormatError(string reader)
    {
        if (!File.Exists("/dev/zero")) Assert.Skip("no /dev/zero on this system");
        Assert.Throws<CheckpointFormatException>(() => ReadPath(reader, "/dev/zero"));
        Assert.Throws<CheckpointFormatException>(() => ReadPath(reader, "/dev/null"));
    }

    /// <summary>A stream that says it is <paramref name="claimed"/> bytes long but ends after its data: a file that a
    /// writer truncated (to rewrite it in place) after the reader took its length.</summary>
    private sealed class ShrunkStream(byte[] data, long claimed) : MemoryStream(data, writable: false)
    {
        public override long Length => claimed;
    }

    [Fact]
    public void AFileThatShrinksAfterItsLengthWasTakenIsAFormatErrorAtEveryLength()
    {
        foreach (var (file, read) in BothFormats)
            for (int n = 0; n < file.Length; n++)
            {
                var e = Assert.Throws<CheckpointFormatException>(() => read(new ShrunkStream(file[..n], file.Length)));
                Assert.True(e.Offset >= 0 && e.Offset <= n, $"cut at {n}: offset {e.Offset} in '{e.Message}'");
            }
    }

    /// <summary>A file read through <paramref name="inner"/> that another writer truncates, rewriting it in place, after
    /// the reader's first read: what a reader racing a non-atomic writer sees.</summary>
    private sealed class RacedFile(FileStream inner, string path, long cutTo) : Stream
    {
        private bool _cut;
        public override int Read(Span<byte> buffer)
        {
            int n = inner.Read(buffer);
            if (!_cut)
            {
                _cut = true;
                using var w = new FileStream(path, FileMode.Open, FileAccess.Write, FileShare.ReadWrite);
                w.SetLength(cutTo);
            }
            return n;
        }
        public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));
        public override long Length => inner.Length;
        public override long Position { get => inner.Position; set => inner.Position = value; }
        public override long Seek(long offset, SeekOrigin origin) => inner.Seek(offset, origin);
        public override bool CanRead => true;
        public override bool CanSeek => true;
        public override bool CanWrite => false;
        public override void Flush() { }
        public override void SetLength(long value) => throw new NotSupportedException();
        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    }

    [Fact]
    public void AFileTruncatedOnDiskWhileBeingReadIsAFormatError()
    {
        using var dir = new TempDir();
        foreach (var (file, read) in BothFormats)
        {
            var path = dir.File("racing");
            File.WriteAllBytes(path, file);
            using var inner = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite, 1); // unbuffered: sees the cut
            var e = Assert.Throws<CheckpointFormatException>(() => read(new RacedFile(inner, path, file.Length - 10)));
            Assert.Contains("changed while being read", e.Message);
        }
    }

    [Fact]
    public void TypedLoadersRefuseOtherShapesAsFormatErrors()
    {
        using var dir = new TempDir();
        Checkpoint.Save(dir.File("tensor"), Tensor.Ones(2));
        Checkpoint.Save(dir.File("nested"), new ListValue([Tensor.Ones(1), new ListValue([])]));
        Checkpoint.Save(dir.File("dict"), new DictValue(new() { ["a"] = Tensor.Ones(1), ["b"] = new DictValue([]) }));
        static void Refused(string expected, Action load) =>
            Assert.Contains(expected, Assert.Throws<CheckpointFormatException>(load).Message);
        Refused("the root is a tensor, not a list", () => Checkpoint.LoadList(dir.File("tensor")));
        Refused("the root is a tensor, not a dictionary", () => Checkpoint.LoadDict(dir.File("tensor")));
        Refused("the root is a list, not a tensor", () => Checkpoint.LoadTensor(dir.File("nested")));
        Refused("item 1 is a list, not a tensor", () => Checkpoint.LoadList(dir.File("nested")));
        Refused("the entry 'b' is a dictionary", () => Checkpoint.LoadDict(dir.File("dict")));
        Refused("not a model's state dict", () => new Sequential(new Dense(2)).Load(dir.File("nested")));
    }

    [Theory]
    // The overflow: a shape whose product overflows 64 bits.
    [InlineData("""{"a":{"dtype":"F32","shape":[2147483647,2147483647,2147483647],"data_offsets":[0,4]}}""",
        "beyond what a tensor can hold")]
    [InlineData("""{"a":{"dtype":"F32","shape":[4294967296],"data_offsets":[0,4]}}""", "more than a tensor can hold")]
    [InlineData("""{"a":{"dtype":"F32","shape":[1.0],"data_offsets":[0,4]}}""", "not a non-negative integer")]
    [InlineData("""{"a":{"dtype":"F32","shape":[1e0],"data_offsets":[0,4]}}""", "not a non-negative integer")]
    [InlineData("""{"a":{"dtype":"F32","shape":[-1],"data_offsets":[0,4]}}""", "not a non-negative integer")]
    [InlineData("""{"a":{"dtype":"F32","shape":["1"],"data_offsets":[0,4]}}""", "not a number")]
    [InlineData("""{"a":{"dtype":"F32","shape":[1],"data_offsets":[-4,0]}}""", "not a non-negative integer")]
    [InlineData("""{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4,8]}}""", "more than two")]
    [InlineData("""{"a":{"dtype":"F32","shape":[1],"data_offsets":[9223372036854775807,3]}}""", "do not match")]
    [InlineData("""{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,99999999999999999999]}}""", "not a non-negative integer")]
    [InlineData("""{"a":{"dtype":7,"shape":[1],"data_offsets":[0,4]}}""", "not a string")]
    [InlineData("""{"a":{"dtype":"F32","shape":{},"data_offsets":[0,4]}}""", "not an array")]
    [InlineData("""{"a":{"dtype":"F32","data_offsets":[0,4]}}""", "lacks shape")]
    [InlineData("""{"a":{"dtype":"F32","dtype":"F32","shape":[1],"data_offsets":[0,4]}}""", "twice")]
    [InlineData("""{"a":[1]}""", "not an object")]
    [InlineData("""{"__metadata__":{"k":1},"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}""", "not a string")]
    [InlineData("""{"__metadata__":[],"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}""", "not an object")]
    [InlineData("""{"__metadata__":{"k":"v","k":"w"},"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}""", "twice")]
    [InlineData("""{"\ud800":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}""", "Invalid safetensors header")]
    [InlineData("""{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}} x""", "Invalid safetensors header")]
    public void HostileSafeTensorsHeadersAreFormatErrors(string json, string expected)
    {
        var h = System.Text.Encoding.UTF8.GetBytes(json);
        var file = new byte[8 + h.Length + 4];
        BitConverter.TryWriteBytes(file, (ulong)h.Length);
        h.CopyTo(file, 8);
        var e = Assert.Throws<CheckpointFormatException>(() => SafeTensors.Read(new MemoryStream(file)));
        Assert.Contains(expected, e.Message);
    }
}
