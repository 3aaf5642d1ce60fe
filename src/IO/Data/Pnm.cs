namespace DeepSharp.Data;

/// <summary>Decodes binary PGM (P5, gray) and PPM (P6, RGB) with a maximum value of at most 255 (netpbm's formats).</summary>
internal static class Pnm
{
    public static HostImage Decode(string path, byte[] file)
    {
        if (file.Length < 2 || file[0] != 'P' || (file[1] != '5' && file[1] != '6'))
            throw new DataFormatException(path, "not a binary PGM (P5) or PPM (P6) file.");
        int channels = file[1] == '5' ? 1 : 3, pos = 2;
        int width = Number(path, file, ref pos, "width"), height = Number(path, file, ref pos, "height");
        int max = Number(path, file, ref pos, "maximum value");
        if (max is < 1 or > 255)
            throw new DataFormatException(path, $"maximum value {max} is not supported; only 1 to 255 (one byte per sample).");
        if (pos >= file.Length || !char.IsWhiteSpace((char)file[pos]))
            throw new DataFormatException(path, "truncated: no whitespace after the header.");
        pos++;
        long size = (long)width * height * channels;
        if (width == 0 || height == 0 || size != file.Length - pos)
            throw new DataFormatException(path, $"the header declares {width}x{height}x{channels} = {size} bytes of pixels, " +
                $"{file.Length - pos} follow{(size > file.Length - pos ? " (truncated)" : "")}.");
        var pixels = file.AsSpan(pos).ToArray();
        if (max != 255)
            for (int i = 0; i < pixels.Length; i++) pixels[i] = (byte)Math.Min(255, (pixels[i] * 255 + max / 2) / max);
        return new HostImage(pixels, channels, height, width);
    }

    /// <summary>The next decimal header field, skipping whitespace and <c>#</c> comments.</summary>
    private static int Number(string path, byte[] file, ref int pos, string what)
    {
        while (pos < file.Length && (char.IsWhiteSpace((char)file[pos]) || file[pos] == '#'))
        {
            if (file[pos] != '#') { pos++; continue; }
            while (pos < file.Length && file[pos] != '\n') pos++; // a comment runs to the end of its line
        }
        long value = 0;
        int start = pos;
        while (pos < file.Length && file[pos] is >= (byte)'0' and <= (byte)'9' && value <= int.MaxValue)
            value = value * 10 + (file[pos++] - '0');
        if (pos == start || value > int.MaxValue)
            throw new DataFormatException(path, $"truncated or malformed header: no valid {what}.");
        return (int)value;
    }
}
