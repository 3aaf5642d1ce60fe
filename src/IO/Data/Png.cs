using System.Buffers.Binary;
using System.IO.Compression;

namespace DeepSharp.Data;

/// <summary>An 8-bit image as stored: <see cref="Pixels"/> row-major, channels interleaved ([height, width, channels]).</summary>
internal sealed record HostImage(byte[] Pixels, int Channels, int Height, int Width);

/// <summary>
/// Decodes PNG (W3C PNG specification, 3rd edition): 8-bit grayscale, gray + alpha, RGB and RGBA, non-interlaced. Chunk
/// CRCs are checked; the zlib stream is inflated incrementally into a buffer bounded by the size IHDR implies.
/// </summary>
internal static class Png
{
    public static readonly byte[] Signature = [0x89, (byte)'P', (byte)'N', (byte)'G', 0x0D, 0x0A, 0x1A, 0x0A];

    public static HostImage Decode(string path, byte[] file)
    {
        if (file.Length < 8 || !file.AsSpan(0, 8).SequenceEqual(Signature))
            throw new DataFormatException(path, "not a PNG file (wrong signature).");
        int pos = 8, width = 0, height = 0, channels = 0;
        bool sawHeader = false, sawEnd = false;
        using var idat = new MemoryStream();
        while (!sawEnd)
        {
            if (file.Length - pos < 12) throw new DataFormatException(path, $"truncated PNG: a chunk at byte {pos} is cut short.");
            uint length = BinaryPrimitives.ReadUInt32BigEndian(file.AsSpan(pos));
            if (length > file.Length - pos - 12)
                throw new DataFormatException(path, $"truncated PNG: the chunk at byte {pos} declares {length} bytes, only " +
                    $"{file.Length - pos - 12} follow.");
            var type = file.AsSpan(pos + 4, 4);
            var data = file.AsSpan(pos + 8, (int)length);
            uint crc = BinaryPrimitives.ReadUInt32BigEndian(file.AsSpan(pos + 8 + (int)length));
            if (crc != IO.Crc32.Of(file.AsSpan(pos + 4, 4 + (int)length)))
                throw new DataFormatException(path, $"corrupt PNG: the CRC of chunk {System.Text.Encoding.ASCII.GetString(type)} at " +
                    $"byte {pos} does not match.");
            string name = System.Text.Encoding.ASCII.GetString(type);
            if (!sawHeader && name != "IHDR") throw new DataFormatException(path, "corrupt PNG: the first chunk is not IHDR.");
            switch (name)
            {
                case "IHDR":
                    (width, height, channels) = Header(path, data);
                    sawHeader = true;
                    break;
                case "IDAT": idat.Write(data); break;
                case "IEND": sawEnd = true; break;
                case "PLTE": throw new DataFormatException(path, "palette PNGs are not supported; save it as 8-bit gray, RGB or RGBA.");
            }
            pos += 12 + (int)length;
        }
        idat.Position = 0;
        return new HostImage(Unfilter(path, Inflate(path, idat, height, 1 + (long)width * channels), width, height, channels),
            channels, height, width);
    }

    private static (int Width, int Height, int Channels) Header(string path, ReadOnlySpan<byte> d)
    {
        if (d.Length != 13) throw new DataFormatException(path, $"corrupt PNG: IHDR has {d.Length} bytes, not 13.");
        uint w = BinaryPrimitives.ReadUInt32BigEndian(d), h = BinaryPrimitives.ReadUInt32BigEndian(d[4..]);
        byte depth = d[8], color = d[9], interlace = d[12];
        int channels = color switch { 0 => 1, 2 => 3, 4 => 2, 6 => 4, _ => 0 };
        if (channels == 0)
            throw new DataFormatException(path, $"PNG color type {color} ({(color == 3 ? "palette" : "invalid")}) is not " +
                "supported; save it as 8-bit gray, RGB or RGBA.");
        if (depth != 8) throw new DataFormatException(path, $"PNG bit depth {depth} is not supported; only 8 bits per channel.");
        if (interlace != 0) throw new DataFormatException(path, "interlaced (Adam7) PNGs are not supported; save it non-interlaced.");
        if (w == 0 || h == 0 || (long)w * h * channels + h > Array.MaxLength)
            throw new DataFormatException(path, $"PNG size {w}x{h} is empty or larger than one array holds.");
        return ((int)w, (int)h, channels);
    }

    /// <summary>The inflated scanlines (<paramref name="rows"/> of <paramref name="rowBytes"/>), the buffer growing only as
    /// data arrives.</summary>
    private static byte[] Inflate(string path, Stream compressed, int rows, long rowBytes)
    {
        long size = rows * rowBytes;
        var data = new byte[Math.Min(size, 1 << 16)];
        int got = 0;
        try
        {
            using var z = new ZLibStream(compressed, CompressionMode.Decompress);
            while (got < size)
            {
                if (got == data.Length) Array.Resize(ref data, (int)Math.Min(size, 2L * data.Length));
                int n = z.Read(data, got, data.Length - got);
                if (n == 0)
                    throw new DataFormatException(path, $"truncated PNG: the image data ends after {got} of {size} bytes.");
                got += n;
            }
        }
        catch (InvalidDataException e) { throw new DataFormatException(path, $"corrupt PNG image data: {e.Message}", e); }
        return data;
    }

    /// <summary>Undoes the per-row filters (None, Sub, Up, Average, Paeth) into pixels [height, width, channels].</summary>
    private static byte[] Unfilter(string path, byte[] raw, int width, int height, int bpp)
    {
        int stride = width * bpp;
        var pixels = new byte[(long)stride * height];
        for (int y = 0; y < height; y++)
        {
            byte filter = raw[(long)y * (stride + 1)];
            var src = raw.AsSpan(y * (stride + 1) + 1, stride);
            var row = pixels.AsSpan(y * stride, stride);
            var up = y > 0 ? pixels.AsSpan((y - 1) * stride, stride) : new byte[stride];
            for (int i = 0; i < stride; i++)
            {
                int a = i >= bpp ? row[i - bpp] : 0, b = up[i], c = i >= bpp ? up[i - bpp] : 0;
                int predicted = filter switch
                {
                    0 => 0,
                    1 => a,
                    2 => b,
                    3 => (a + b) >> 1,
                    4 => Paeth(a, b, c),
                    _ => throw new DataFormatException(path, $"corrupt PNG: row {y} has filter type {filter} (0 to 4 exist)."),
                };
                row[i] = (byte)(src[i] + predicted);
            }
        }
        return pixels;
    }

    private static int Paeth(int a, int b, int c)
    {
        int p = a + b - c, pa = Math.Abs(p - a), pb = Math.Abs(p - b), pc = Math.Abs(p - c);
        return pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
    }
}
