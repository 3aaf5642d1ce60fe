using System.Buffers.Binary;
using System.IO.Compression;
using DeepSharp.Data;

namespace DeepSharp.IO.Tests;

/// <summary>ImageFolder: PNG (every row filter), PGM/PPM, channel conversion, resizing, and the formats it refuses.</summary>
public class ImageFolderTests
{
    /// <summary>A PNG of 8-bit pixels [h, w, channels] (color type from the channel count); row y uses filter y % 5, so
    /// the decoder's five unfilters all run.</summary>
    internal static byte[] Png(byte[] pixels, int h, int w, int channels, bool interlaced = false, int depth = 8)
    {
        int stride = w * channels;
        var raw = new byte[h * (stride + 1)];
        for (int y = 0; y < h; y++)
        {
            int filter = y % 5;
            raw[y * (stride + 1)] = (byte)filter;
            for (int i = 0; i < stride; i++)
            {
                int a = i >= channels ? pixels[y * stride + i - channels] : 0, b = y > 0 ? pixels[(y - 1) * stride + i] : 0;
                int c = i >= channels && y > 0 ? pixels[(y - 1) * stride + i - channels] : 0;
                int p = a + b - c, pa = Math.Abs(p - a), pb = Math.Abs(p - b), pc = Math.Abs(p - c);
                int predicted = filter switch
                {
                    0 => 0,
                    1 => a,
                    2 => b,
                    3 => (a + b) / 2,
                    _ => pa <= pb && pa <= pc ? a : pb <= pc ? b : c,
                };
                raw[y * (stride + 1) + 1 + i] = (byte)(pixels[y * stride + i] - predicted);
            }
        }
        using var z = new MemoryStream();
        using (var zs = new ZLibStream(z, CompressionLevel.Optimal)) zs.Write(raw);
        var ihdr = new byte[13];
        BinaryPrimitives.WriteInt32BigEndian(ihdr, w);
        BinaryPrimitives.WriteInt32BigEndian(ihdr.AsSpan(4), h);
        ihdr[8] = (byte)depth;
        ihdr[9] = channels switch { 1 => 0, 2 => 4, 3 => 2, _ => 6 };
        ihdr[12] = (byte)(interlaced ? 1 : 0);
        using var png = new MemoryStream();
        png.Write([0x89, (byte)'P', (byte)'N', (byte)'G', 0x0D, 0x0A, 0x1A, 0x0A]);
        Chunk(png, "IHDR", ihdr);
        Chunk(png, "IDAT", z.ToArray());
        Chunk(png, "IEND", []);
        return png.ToArray();
    }

    private static void Chunk(Stream s, string type, byte[] data)
    {
        var head = new byte[8];
        BinaryPrimitives.WriteInt32BigEndian(head, data.Length);
        System.Text.Encoding.ASCII.GetBytes(type, head.AsSpan(4));
        s.Write(head);
        s.Write(data);
        var crc = new System.IO.Hashing.Crc32();
        crc.Append(head.AsSpan(4));
        crc.Append(data);
        var tail = new byte[4];
        BinaryPrimitives.WriteUInt32BigEndian(tail, crc.GetCurrentHashAsUInt32());
        s.Write(tail);
    }

    private static byte[] Pixels(int n, int seed) =>
        Enumerable.Range(0, n).Select(i => (byte)((i * 53 + seed * 11 + i * i) % 256)).ToArray();

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    [InlineData(4)]
    public void PngDecodesEveryColorTypeAndFilter(int channels)
    {
        const int h = 7, w = 5;
        var pixels = Pixels(h * w * channels, channels);
        var image = ImageFolder.Decode("x.png", Png(pixels, h, w, channels));
        Assert.Equal((channels, h, w), (image.Channels, image.Height, image.Width));
        Assert.Equal(pixels, image.Pixels);
    }

    [Fact]
    public void ChannelsAreConvertedAsPil()
    {
        var rgba = new HostImage([10, 200, 30, 99, 255, 0, 128, 0], 4, 1, 2);
        Assert.Equal(new[] { 10, 255, 200, 0, 30, 128 }.Select(v => v / 255f), ImageFolder.ToChannels(rgba, 3));
        // PIL: L = (19595 R + 38470 G + 7471 B + 2^15) >> 16
        Assert.Equal(new[] { (19595 * 10 + 38470 * 200 + 7471 * 30 + 32768) >> 16, (19595 * 255 + 7471 * 128 + 32768) >> 16 }
            .Select(v => v / 255f), ImageFolder.ToChannels(rgba, 1));
        var gray = new HostImage([7, 9], 1, 1, 2);
        Assert.Equal(new[] { 7, 9, 7, 9, 7, 9 }.Select(v => v / 255f), ImageFolder.ToChannels(gray, 3));
    }

    [Fact]
    public void AFolderOfClassesBatchesResizedImages()
    {
        using var dir = new TempDir();
        Directory.CreateDirectory(dir.File("dog"));
        Directory.CreateDirectory(dir.File("cat"));
        var catPixels = Pixels(4 * 4 * 3, 1);
        File.WriteAllBytes(Path.Combine(dir.File("cat"), "b.png"), Png(catPixels, 4, 4, 3));
        File.WriteAllBytes(Path.Combine(dir.File("cat"), "a.ppm"), [.. "P6\n# a comment\n4 4\n255\n"u8, .. catPixels]);
        File.WriteAllBytes(Path.Combine(dir.File("dog"), "c.pgm"), [.. "P5 2 2 255 "u8, 0, 255, 255, 0]);
        File.WriteAllText(Path.Combine(dir.File("dog"), "notes.txt"), "ignored");
        var set = new ImageFolder(dir.Path, 4, 4);
        Assert.Equal(["cat", "dog"], set.Classes);
        Assert.Equal(3, set.Count);
        Assert.Equal([0L, 0, 1], set.Samples.Select(s => s.Label));
        Assert.EndsWith("a.ppm", set.Samples[0].Path);
        Assert.Equal(set[0].Features, set[1].Features); // the same pixels as PPM and as PNG
        var dog = set[2];
        Assert.Equal([3, 4, 4], dog.Shape);
        var expected = new float[16];
        var random = default(TransformRandom);
        new Resize(4, 4).Apply(new[] { 0f, 1, 1, 0 }, [1, 2, 2], expected, ref random);
        Assert.Equal(expected, dog.Features[..16]);
        Assert.Equal(expected, dog.Features[32..]);
        var batches = new DataLoader(set, 2).ToList();
        Assert.Equal([2, 3, 4, 4], batches[0].Features.Shape);
        Assert.Equal([1L], batches[1].Labels.ToArray<long>());
        foreach (var b in batches) b.Dispose();
    }

    [Fact]
    public void OtherFormatsAndDamagedFilesAreClearErrors()
    {
        static string Refused(byte[] file) => Assert.Throws<DataFormatException>(() => ImageFolder.Decode("f", file)).Message;
        Assert.Contains("a JPEG image", Refused([0xFF, 0xD8, 0xFF, 0xE0, 0, 0]));
        Assert.Contains("convert it", Refused([0xFF, 0xD8, 0xFF, 0xE0, 0, 0]));
        Assert.Contains("a BMP image", Refused("BM\0\0\0\0"u8.ToArray()));
        Assert.Contains("not an image", Refused("hello"u8.ToArray()));
        Assert.Contains("interlaced", Refused(Png(new byte[4], 2, 2, 1, interlaced: true)));
        Assert.Contains("bit depth 16", Refused(Png(new byte[4], 2, 2, 1, depth: 16)));
        var good = Png(Pixels(6 * 6, 2), 6, 6, 1);
        for (int n = 8; n < good.Length; n += 5) Assert.StartsWith("f: ", Refused(good[..n]));
        var flipped = (byte[])good.Clone();
        flipped[40] ^= 1;
        Assert.Contains("CRC", Refused(flipped));
        Assert.Contains("truncated", Refused([.. "P5 4 4 255 "u8, 1, 2, 3]));
        Assert.Contains("maximum value 65535", Refused([.. "P5 1 1 65535 "u8, 1, 2]));
        using var dir = new TempDir();
        Assert.Throws<FileNotFoundException>(() => new ImageFolder(dir.Path, 2, 2));
        Directory.CreateDirectory(dir.File("empty"));
        Assert.Contains("no image file", Assert.Throws<FileNotFoundException>(() => new ImageFolder(dir.Path, 2, 2)).Message);
        Assert.Throws<DirectoryNotFoundException>(() => new ImageFolder(dir.File("missing"), 2, 2));
        Assert.Throws<ArgumentOutOfRangeException>(() => new ImageFolder(dir.Path, 2, 2, channels: 2));
    }
}
