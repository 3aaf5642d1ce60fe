using System.IO.Compression;
using System.Text;

/// <summary>Made-up data in the formats a user has: a CSV file of three classes, and PNG images of two.</summary>
static class SampleData
{
    /// <summary>Four features per row around one of three centres, then the class (0, 1 or 2); a header line of names.</summary>
    public static void WriteCsv(string path, int rows)
    {
        var random = new Random(7);
        var text = new StringBuilder("a,b,c,d,label\n");
        for (int r = 0; r < rows; r++)
        {
            int label = r % 3;
            var features = Enumerable.Range(0, 4).Select(j => (j == label ? 2.0 : 0.0) + random.NextDouble() - 0.5);
            text.AppendLine(string.Join(',', features.Select(v => v.ToString("F4"))) + $",{label}");
        }
        File.WriteAllText(path, text.ToString());
    }

    /// <summary>16×16 gray PNGs in root/horizontal and root/vertical: stripes of a random phase, with noise.</summary>
    public static void WriteImages(string root, int perClass)
    {
        var random = new Random(11);
        foreach (var (name, vertical) in new[] { ("horizontal", false), ("vertical", true) })
        {
            Directory.CreateDirectory(Path.Combine(root, name));
            for (int i = 0; i < perClass; i++)
            {
                int phase = random.Next(4);
                var pixels = new byte[16 * 16];
                for (int y = 0; y < 16; y++)
                    for (int x = 0; x < 16; x++)
                        pixels[y * 16 + x] = (byte)(((vertical ? x : y) + phase) / 2 % 2 * 180 + random.Next(60));
                File.WriteAllBytes(Path.Combine(root, name, $"{i:D3}.png"), Png(pixels, 16, 16));
            }
        }
    }

    // A PNG as the format defines it (8-bit gray, non-interlaced): signature, IHDR, one zlib IDAT, IEND.
    private static byte[] Png(byte[] gray, int width, int height)
    {
        var raw = new MemoryStream();
        for (int y = 0; y < height; y++)
        {
            raw.WriteByte(0); // filter type: none
            raw.Write(gray, y * width, width);
        }
        var packed = new MemoryStream();
        using (var z = new ZLibStream(packed, CompressionLevel.Optimal, leaveOpen: true)) raw.WriteTo(z);
        var png = new MemoryStream();
        png.Write([137, 80, 78, 71, 13, 10, 26, 10]);
        Chunk(png, "IHDR", [.. BigEndian(width), .. BigEndian(height), 8, 0, 0, 0, 0]);
        Chunk(png, "IDAT", packed.ToArray());
        Chunk(png, "IEND", []);
        return png.ToArray();
    }

    private static void Chunk(Stream png, string type, byte[] data)
    {
        byte[] typed = [.. Encoding.ASCII.GetBytes(type), .. data];
        png.Write(BigEndian(data.Length));
        png.Write(typed);
        png.Write(BigEndian((int)Crc32(typed)));
    }

    private static byte[] BigEndian(int v) => [(byte)(v >> 24), (byte)(v >> 16), (byte)(v >> 8), (byte)v];

    private static uint Crc32(byte[] bytes)
    {
        uint crc = 0xFFFFFFFF;
        foreach (byte b in bytes)
        {
            crc ^= b;
            for (int k = 0; k < 8; k++) crc = (crc & 1) != 0 ? (crc >> 1) ^ 0xEDB88320 : crc >> 1;
        }
        return ~crc;
    }
}
