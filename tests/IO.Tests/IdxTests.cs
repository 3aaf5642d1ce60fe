using System.Buffers.Binary;
using System.IO.Compression;
using DeepSharp.Data;

namespace DeepSharp.IO.Tests;

/// <summary>IDX files (MNIST's format), plain and gzipped: round trips, hostile headers, and the MNIST loaders.</summary>
public class IdxTests
{
    private static byte[] Bytes(int n, int seed) => Enumerable.Range(0, n).Select(i => (byte)((i * 31 + seed * 7) % 256)).ToArray();

    private static byte[] Gzip(byte[] plain)
    {
        using var ms = new MemoryStream();
        using (var gz = new GZipStream(ms, CompressionLevel.Fastest)) gz.Write(plain);
        return ms.ToArray();
    }

    private static byte[] Header(byte type, params uint[] dims)
    {
        var h = new byte[4 + 4 * dims.Length];
        h[2] = type;
        h[3] = (byte)dims.Length;
        for (int i = 0; i < dims.Length; i++) BinaryPrimitives.WriteUInt32BigEndian(h.AsSpan(4 + 4 * i), dims[i]);
        return h;
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void ImagesAndLabelsRoundTrip(bool gzip)
    {
        using var dir = new TempDir();
        var pixels = Bytes(3 * 4 * 5, 1);
        Idx.Write(dir.File("images"), [3, 4, 5], pixels, gzip);
        Idx.Write(dir.File("labels"), [3], [2, 0, 9], gzip);
        Assert.Equal(gzip, File.ReadAllBytes(dir.File("images"))[0] == 0x1F);
        var raw = Idx.ReadRaw(dir.File("images"));
        Assert.Equal([3, 4, 5], raw.Dims);
        Assert.Equal(pixels, raw.Data);
        using var images = Idx.ReadImages(dir.File("images"));
        Assert.Equal([3, 1, 4, 5], images.Shape);
        Assert.Equal(pixels.Select(b => b / 255f), images.ToArray<float>());
        using var labels = Idx.ReadLabels(dir.File("labels"), classes: 10);
        Assert.Equal([2L, 0, 9], labels.ToArray<long>());
        Assert.Equal(DType.Int64, labels.DType);
    }

    private static DataFormatException Refused(byte[] file, string fileName = "bad-idx")
    {
        using var dir = new TempDir();
        var path = dir.File(fileName);
        File.WriteAllBytes(path, file);
        var e = Assert.Throws<DataFormatException>(() => Idx.ReadRaw(path));
        Assert.Equal(path, e.FilePath);
        Assert.StartsWith(path, e.Message);
        return e;
    }

    [Fact]
    public void EveryTruncationIsAClearError()
    {
        var file = Header(0x08, 2, 3).Concat(Bytes(6, 2)).ToArray();
        for (int n = 0; n < file.Length; n++)
            Assert.Contains("truncated", Refused(file[..n]).Message);
        // Every cut of a gzip stream, footer included, is a clear error.
        var big = Header(0x08, 40, 50).Concat(Bytes(2000, 5)).ToArray();
        var gz = Gzip(big);
        using var dir = new TempDir();
        for (int n = 0; n < gz.Length; n++)
        {
            var path = dir.File("cut");
            File.WriteAllBytes(path, gz[..n]);
            var e = Assert.Throws<DataFormatException>(() => Idx.ReadRaw(path));
            Assert.True(e.Message.Contains("truncated") || e.Message.Contains("gzip"), e.Message);
        }
        var flipped = (byte[])gz.Clone();
        flipped[^6] ^= 1; // a damaged CRC-32
        Assert.Contains("gzip", Refused(flipped).Message);
        Assert.Contains("truncated", Refused(Gzip(file[..^1])).Message); // a complete gzip stream of a cut file
    }

    [Fact]
    public void ForgedHugeDimsFailWithoutAllocating()
    {
        foreach (bool gzip in new[] { false, true })
        {
            var huge = Header(0x08, 0xFFFFFFFF, 2).Concat(Bytes(16, 3)).ToArray();
            Assert.Contains("more than", Refused(gzip ? Gzip(huge) : huge).Message);
            var product = Header(0x08, 60000, 60000, 60000).Concat(Bytes(16, 3)).ToArray();
            Assert.Contains("more than", Refused(gzip ? Gzip(product) : product).Message);
            // Within an array's reach but far beyond the file: refused before (plain) or while (gzip) reading.
            var big = Header(0x08, 2_000_000_000).Concat(Bytes(100, 3)).ToArray();
            long before = GC.GetAllocatedBytesForCurrentThread();
            Assert.Contains("truncated", Refused(gzip ? Gzip(big) : big).Message);
            Assert.True(GC.GetAllocatedBytesForCurrentThread() - before < 4 << 20, "allocated more than 4 MiB for a tiny file");
        }
    }

    [Fact]
    public void WrongMagicTypeOrShapeIsNamed()
    {
        Assert.Contains("wrong magic 504B0304", Refused([0x50, 0x4B, 0x03, 0x04, 0, 0, 0, 0]).Message);
        Assert.Contains("0x0C (int32)", Refused(Header(0x0C, 1).Concat(new byte[4]).ToArray()).Message);
        Assert.Contains("0x0D (float32)", Refused(Gzip(Header(0x0D, 1).Concat(new byte[4]).ToArray())).Message);
        Assert.Contains("0 dims", Refused(Header(0x08)).Message);
        Assert.Contains("1 bytes after", Refused(Header(0x08, 2).Concat(new byte[3]).ToArray()).Message);
        Assert.Contains("more data follows", Refused(Gzip(Header(0x08, 2).Concat(new byte[3]).ToArray())).Message);
        using var dir = new TempDir();
        Idx.Write(dir.File("labels"), [4], [1, 2, 3, 10]);
        Idx.Write(dir.File("images"), [4, 2], Bytes(8, 1));
        Assert.Contains("3 dims", Assert.Throws<DataFormatException>(() => Idx.ReadImages(dir.File("images"))).Message);
        Assert.Contains("1 dim", Assert.Throws<DataFormatException>(() => Idx.ReadLabels(dir.File("images"))).Message);
        Assert.Contains("label 10 at index 3", Assert.Throws<DataFormatException>(() => Idx.ReadLabels(dir.File("labels"), 10)).Message);
        Assert.Throws<FileNotFoundException>(() => Idx.ReadRaw(dir.File("missing")));
        Assert.Equal("data", Assert.Throws<ArgumentException>(() => Idx.Write(dir.File("x"), [2, 2], new byte[3])).ParamName);
    }

    /// <summary>A folder of the four MNIST files holding <paramref name="train"/> and 2 test images of the given size.</summary>
    private static TempDir MnistFolder(int train, int h = 28, int w = 28, int trainLabels = -1, bool gzip = true)
    {
        var dir = new TempDir();
        string ext = gzip ? ".gz" : "";
        Idx.Write(dir.File("train-images-idx3-ubyte" + ext), [train, h, w], Bytes(train * h * w, 4), gzip);
        int nl = trainLabels < 0 ? train : trainLabels;
        Idx.Write(dir.File("train-labels-idx1-ubyte" + ext), [nl], Enumerable.Range(0, nl).Select(i => (byte)(i % 10)).ToArray(), gzip);
        Idx.Write(dir.File("t10k-images-idx3-ubyte" + ext), [2, h, w], Bytes(2 * h * w, 5), gzip);
        Idx.Write(dir.File("t10k-labels-idx1-ubyte" + ext), [2], [7, 3], gzip);
        return dir;
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void MnistLoadsTheFourFilesLayout(bool gzip)
    {
        using var dir = MnistFolder(12, gzip: gzip);
        var train = Mnist.Load(true, dir.Path);
        Assert.Equal(12, train.Count);
        Assert.Equal([1, 28, 28], train.FeatureShape);
        var (x, y) = train[11];
        Assert.Equal(Bytes(12 * 784, 4).Skip(11 * 784).Select(b => b / 255f), x.ToArray<float>());
        Assert.Equal(1L, y.Item<long>());
        var test = FashionMnist.Load(false, dir.Path);
        Assert.Equal(2, test.Count);
        Assert.Equal(3L, test[1].Label.Item<long>());
        Assert.Equal("Ankle boot", FashionMnist.Classes[9]);
        Assert.Equal("7 - seven", Mnist.Classes[7]);
    }

    [Fact]
    public void MnistRefusesMismatchedCountsAndSizes()
    {
        using (var dir = MnistFolder(5, trainLabels: 4))
            Assert.Contains("4 labels for the 5 images", Assert.Throws<DataFormatException>(() => Mnist.Load(true, dir.Path)).Message);
        using (var dir = MnistFolder(3, h: 27))
            Assert.Contains("27x28, expected 28x28", Assert.Throws<DataFormatException>(() => Mnist.Load(true, dir.Path)).Message);
        using (var dir = MnistFolder(3))
        {
            Idx.Write(dir.File("t10k-labels-idx1-ubyte.gz"), [2], [7, 10], gzip: true);
            Assert.Contains("label 10 at index 1", Assert.Throws<DataFormatException>(() => Mnist.Load(false, dir.Path)).Message);
        }
    }

    [Fact]
    public void AMissingDataSetSaysHowToInstallIt()
    {
        using var dir = new TempDir();
        var e = Assert.Throws<FileNotFoundException>(() => FashionMnist.Load(true, dir.Path));
        Assert.Contains("apt-get install dataset-fashion-mnist", e.Message);
        Assert.Contains("train-images-idx3-ubyte.gz, train-labels-idx1-ubyte.gz, t10k-images-idx3-ubyte.gz", e.Message);
        Assert.Contains(dir.Path, e.Message);
        Assert.DoesNotContain('\n', e.Message);
        Assert.Contains("train-images-idx3-ubyte", Assert.Throws<FileNotFoundException>(() => Mnist.Load(true, dir.Path)).Message);
    }

    [Fact]
    public void FashionMnistLoadsWhenInstalled()
    {
        if (!File.Exists(Path.Combine(FashionMnist.DefaultFolder, "t10k-labels-idx1-ubyte.gz")))
            Assert.Skip($"Fashion-MNIST is not installed in {FashionMnist.DefaultFolder} (apt-get install dataset-fashion-mnist)");
        var test = FashionMnist.Load(train: false);
        var train = FashionMnist.Load(train: true);
        Assert.Equal(10_000, test.Count);
        Assert.Equal(60_000, train.Count);
        Assert.Equal([1, 28, 28], train.FeatureShape);
        var pixels = ((HostColumn<float>)train.FeatureColumn).Data;
        Assert.Equal(0f, pixels.Min());
        Assert.Equal(1f, pixels.Max());
        var labels = ((HostColumn<long>)test.LabelColumn).Data;
        Assert.Equal(Enumerable.Range(0, 10).Select(i => (long)i), labels.Distinct().Order());
        Assert.All(Enumerable.Range(0, 10), k => Assert.Equal(1000, labels.Count(l => l == k))); // 1,000 per class
    }
}
