namespace DeepSharp.Data;

/// <summary>
/// Images in one subfolder per class (torchvision's <c>ImageFolder</c>): <c>root/cat/1.png</c>, <c>root/dog/7.ppm</c>, …
/// Classes are the subfolder names sorted ordinally, labelled 0, 1, …; a class's files are sorted the same way. Each
/// sample is decoded when read (from the loader's worker), converted to <see cref="Channels"/> channels, scaled to
/// [0, 1] and resized bilinearly (as <see cref="Resize"/>) to height × width: float32 [channels, height, width].
/// Decoded formats: PNG (8-bit gray, gray + alpha, RGB, RGBA; non-interlaced) and binary PGM/PPM (P5/P6, maximum value
/// ≤ 255); files are recognised by their first bytes. Other image files (.jpg, .bmp, .gif, .webp, .tif) are listed but
/// fail with a <see cref="DataFormatException"/> that says to convert them; files with other extensions are ignored.
/// </summary>
public sealed class ImageFolder : Dataset<Sample>
{
    private static readonly string[] Extensions =
        [".png", ".pgm", ".ppm", ".pnm", ".jpg", ".jpeg", ".bmp", ".gif", ".webp", ".tif", ".tiff"];

    private readonly (string Path, long Label)[] _samples;
    private readonly Resize _resize;

    /// <summary>Lists the images under <paramref name="root"/> (nothing is decoded yet).</summary>
    /// <param name="root">The folder of class subfolders.</param>
    /// <param name="height">The height every image is resized to.</param>
    /// <param name="width">The width every image is resized to.</param>
    /// <param name="channels">1 (gray: RGB is converted with ITU-R 601-2 luma, as PIL's <c>convert("L")</c>) or 3 (RGB:
    /// gray is repeated, as PIL's <c>convert("RGB")</c>); alpha is dropped.</param>
    /// <exception cref="ArgumentNullException">root is null.</exception>
    /// <exception cref="ArgumentOutOfRangeException">height or width is not positive, or channels is not 1 or 3.</exception>
    /// <exception cref="DirectoryNotFoundException">root does not exist.</exception>
    /// <exception cref="FileNotFoundException">root has no class subfolder, or a class subfolder has no image file.</exception>
    public ImageFolder(string root, int height, int width, int channels = 3)
    {
        ArgumentNullException.ThrowIfNull(root);
        if (channels is not (1 or 3))
            throw new ArgumentOutOfRangeException(nameof(channels), channels, "ImageFolder: channels must be 1 (gray) or 3 (RGB).");
        _resize = new Resize(height, width);
        (Height, Width, Channels) = (height, width, channels);
        if (!Directory.Exists(root)) throw new DirectoryNotFoundException($"ImageFolder: the folder {root} does not exist.");
        var classes = Directory.GetDirectories(root).Select(Path.GetFileName).OfType<string>().Order(StringComparer.Ordinal)
            .ToArray();
        if (classes.Length == 0)
            throw new FileNotFoundException($"ImageFolder: {root} has no class subfolders (expected root/<class>/<image>).", root);
        var samples = new List<(string, long)>();
        for (int c = 0; c < classes.Length; c++)
        {
            var dir = Path.Combine(root, classes[c]);
            var files = Directory.GetFiles(dir).Where(f => Extensions.Contains(Path.GetExtension(f).ToLowerInvariant()))
                .Order(StringComparer.Ordinal).ToArray();
            if (files.Length == 0)
                throw new FileNotFoundException($"ImageFolder: the class folder {dir} has no image file ({string.Join(", ", Extensions)}).",
                    dir);
            samples.AddRange(files.Select(f => (f, (long)c)));
        }
        Classes = classes;
        _samples = [.. samples];
    }

    /// <summary>The class names (subfolder names, sorted), indexed by label.</summary>
    public IReadOnlyList<string> Classes { get; }

    /// <summary>Every image's path and label, in sample order.</summary>
    public IReadOnlyList<(string Path, long Label)> Samples => _samples;

    /// <summary>The height of every sample.</summary>
    public int Height { get; }
    /// <summary>The width of every sample.</summary>
    public int Width { get; }
    /// <summary>The channels of every sample (1 or 3).</summary>
    public int Channels { get; }

    /// <summary>The number of images.</summary>
    public override int Count => _samples.Length;

    /// <summary>Image <paramref name="index"/>, decoded: float32 [channels, height, width] in [0, 1], and its label.</summary>
    /// <exception cref="ArgumentOutOfRangeException">index is outside [0, Count).</exception>
    /// <exception cref="DataFormatException">The file is damaged or in a format that is not decoded (the message says
    /// which).</exception>
    public override Sample this[int index]
    {
        get
        {
            if ((uint)index >= (uint)_samples.Length)
                throw new ArgumentOutOfRangeException(nameof(index), index, $"ImageFolder: index {index} is outside [0, {Count}).");
            var (path, label) = _samples[index];
            var image = Decode(path, File.ReadAllBytes(path));
            var planes = ToChannels(image, Channels);
            int[] shape = [Channels, image.Height, image.Width];
            if (image.Height == Height && image.Width == Width) return new Sample(planes, shape, label);
            var resized = new float[Channels * Height * Width];
            var random = default(TransformRandom);
            _resize.Apply(planes, shape, resized, ref random);
            return new Sample(resized, [Channels, Height, Width], label);
        }
    }

    /// <summary>The image in <paramref name="file"/>, by its first bytes.</summary>
    internal static HostImage Decode(string path, byte[] file)
    {
        var head = file.AsSpan(0, Math.Min(file.Length, 12));
        if (head.StartsWith(Png.Signature)) return Png.Decode(path, file);
        if (head.Length >= 2 && head[0] == 'P' && head[1] is (byte)'5' or (byte)'6') return Pnm.Decode(path, file);
        string? other = head switch
        {
            [0xFF, 0xD8, 0xFF, ..] => "a JPEG image",
            [(byte)'B', (byte)'M', ..] => "a BMP image",
            [(byte)'G', (byte)'I', (byte)'F', (byte)'8', ..] => "a GIF image",
            [(byte)'R', (byte)'I', (byte)'F', (byte)'F', _, _, _, _, (byte)'W', (byte)'E', (byte)'B', (byte)'P'] => "a WebP image",
            [(byte)'I', (byte)'I', 42, 0, ..] or [(byte)'M', (byte)'M', 0, 42, ..] => "a TIFF image",
            [(byte)'P', (byte)'1' or (byte)'2' or (byte)'3' or (byte)'4', ..] => "a plain-text or bitmap PNM image",
            _ => null,
        };
        throw new DataFormatException(path, $"{other ?? "not an image this reader knows"}; ImageFolder decodes PNG (8-bit gray, " +
            "gray + alpha, RGB, RGBA) and binary PGM/PPM: convert it to one of those.");
    }

    /// <summary>[height, width, channels] bytes → [<paramref name="channels"/>, height, width] floats in [0, 1].</summary>
    internal static float[] ToChannels(HostImage image, int channels)
    {
        int n = image.Height * image.Width, k = image.Channels;
        var p = image.Pixels;
        var result = new float[channels * n];
        bool color = k >= 3;
        for (int i = 0; i < n; i++)
        {
            int r = p[i * k], g = color ? p[i * k + 1] : r, b = color ? p[i * k + 2] : r;
            if (channels == 3)
            {
                result[i] = r / 255f;
                result[n + i] = g / 255f;
                result[2 * n + i] = b / 255f;
            }
            else result[i] = (color ? (r * 19595 + g * 38470 + b * 7471 + 0x8000) >> 16 : r) / 255f; // PIL's L, fixed point
        }
        return result;
    }
}
