using System.Buffers.Binary;
using System.IO.Compression;
using System.IO.Hashing;

/// <summary>
/// A small line chart written as PNG by hand (zlib from the BCL, CRC-32 from System.IO.Hashing): loss on the left,
/// accuracy on the right, one point per epoch. No plotting package: they pull in native graphics libraries.
/// </summary>
public static class Plot
{
    private const int W = 720, H = 300, Pad = 30;

    public static void Write(string path, IReadOnlyList<float> loss, IReadOnlyList<float> trainAcc, IReadOnlyList<float> testAcc)
    {
        var px = new byte[W * H * 3];
        Array.Fill(px, (byte)255);
        int half = W / 2;
        Panel(px, 0, half, [(loss, (200, 60, 40))], 0, Math.Max(loss.DefaultIfEmpty(1).Max(), 1e-6f));
        Panel(px, half, W, [(trainAcc, (40, 90, 200)), (testAcc, (30, 160, 60))], 0, 1);
        File.WriteAllBytes(path, Encode(px));
    }

    private static void Panel(byte[] px, int x0, int x1, (IReadOnlyList<float> Ys, (int R, int G, int B) Color)[] series, float lo,
        float hi)
    {
        int left = x0 + Pad, right = x1 - Pad / 2, top = Pad / 2, bottom = H - Pad;
        Line(px, left, bottom, right, bottom, (0, 0, 0));
        Line(px, left, top, left, bottom, (0, 0, 0));
        foreach (var (ys, color) in series)
            for (int i = 1; i < ys.Count; i++)
            {
                int X(int k) => left + (right - left) * k / Math.Max(ys.Count - 1, 1);
                int Y(float v) => bottom - (int)((bottom - top) * Math.Clamp((v - lo) / (hi - lo), 0, 1));
                Line(px, X(i - 1), Y(ys[i - 1]), X(i), Y(ys[i]), color);
            }
    }

    private static void Line(byte[] px, int xa, int ya, int xb, int yb, (int R, int G, int B) c)
    {
        int steps = Math.Max(Math.Abs(xb - xa), Math.Abs(yb - ya)) + 1;
        for (int s = 0; s <= steps; s++)
        {
            int x = xa + (xb - xa) * s / steps, y = ya + (yb - ya) * s / steps;
            for (int dy = 0; dy < 2; dy++)
            {
                if (x < 0 || x >= W || y + dy < 0 || y + dy >= H) continue;
                int at = ((y + dy) * W + x) * 3;
                (px[at], px[at + 1], px[at + 2]) = ((byte)c.R, (byte)c.G, (byte)c.B);
            }
        }
    }

    private static byte[] Encode(byte[] rgb)
    {
        using var raw = new MemoryStream();
        using (var z = new ZLibStream(raw, CompressionLevel.Optimal, leaveOpen: true))
            for (int y = 0; y < H; y++) { z.WriteByte(0); z.Write(rgb, y * W * 3, W * 3); } // filter type 0 per row
        using var png = new MemoryStream();
        png.Write([0x89, (byte)'P', (byte)'N', (byte)'G', 0x0D, 0x0A, 0x1A, 0x0A]);
        var ihdr = new byte[13];
        BinaryPrimitives.WriteInt32BigEndian(ihdr, W);
        BinaryPrimitives.WriteInt32BigEndian(ihdr.AsSpan(4), H);
        ihdr[8] = 8; ihdr[9] = 2; // 8-bit RGB
        Chunk(png, "IHDR", ihdr);
        Chunk(png, "IDAT", raw.ToArray());
        Chunk(png, "IEND", []);
        return png.ToArray();
    }

    private static void Chunk(Stream s, string type, byte[] data)
    {
        Span<byte> u32 = stackalloc byte[4];
        BinaryPrimitives.WriteInt32BigEndian(u32, data.Length);
        s.Write(u32);
        var body = new byte[4 + data.Length];
        System.Text.Encoding.ASCII.GetBytes(type).CopyTo(body, 0);
        data.CopyTo(body, 4);
        s.Write(body);
        BinaryPrimitives.WriteUInt32BigEndian(u32, Crc32.HashToUInt32(body));
        s.Write(u32);
    }
}
