using System.Buffers.Binary;
using System.IO.Compression;

namespace DeepSharp.Data;

/// <summary>The contents of an IDX file: its dims and its unsigned bytes, row-major.</summary>
public sealed class IdxData
{
    /// <summary>Contents of <paramref name="dims"/> (e.g. [60000, 28, 28]) and <paramref name="data"/> (the product of
    /// the dims, one byte each; kept, not copied).</summary>
    /// <exception cref="ArgumentNullException">dims or data is null.</exception>
    /// <exception cref="ArgumentException">A dim is negative, or the product of the dims differs from data's length.</exception>
    public IdxData(int[] dims, byte[] data)
    {
        ArgumentNullException.ThrowIfNull(dims);
        ArgumentNullException.ThrowIfNull(data);
        int n = Shapes.Numel(dims, nameof(dims));
        if (n != data.Length)
            throw new ArgumentException($"IdxData: dims {Shapes.Format(dims)} hold {n} bytes but data has {data.Length}.", nameof(data));
        Dims = (int[])dims.Clone();
        Data = data;
    }

    /// <summary>The dims the header declares.</summary>
    public int[] Dims { get; }

    /// <summary>The elements, row-major.</summary>
    public byte[] Data { get; }
}

/// <summary>
/// Reads and writes the IDX format of MNIST and Fashion-MNIST (yann.lecun.com/exdb/mnist): a 4-byte magic
/// <c>00 00 08 n</c> (type 08 = unsigned byte, n dims), n big-endian 32-bit dims, then the bytes. Files may be gzipped
/// (detected by the gzip magic, not the name). Every header claim is checked against the file before anything large is
/// allocated: a gzipped file is decompressed incrementally and the buffer grows only as data arrives, so a forged header
/// cannot make the reader allocate more than about twice the data actually present.
/// </summary>
public static class Idx
{
    private const int ChunkBytes = 1 << 16;

    /// <summary>The dims and bytes of the IDX file at <paramref name="path"/> (gzipped or not).</summary>
    /// <exception cref="ArgumentNullException">path is null.</exception>
    /// <exception cref="FileNotFoundException">There is no such file.</exception>
    /// <exception cref="DataFormatException">The file is not a well-formed ubyte IDX file (the message says why).</exception>
    public static IdxData ReadRaw(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        using var file = File.OpenRead(path);
        Span<byte> gz = stackalloc byte[2];
        bool gzipped = file.ReadAtLeast(gz, 2, throwOnEndOfStream: false) == 2 && gz[0] == 0x1F && gz[1] == 0x8B;
        file.Position = 0;
        try
        {
            using var stream = gzipped ? new GZipStream(file, CompressionMode.Decompress) : (Stream)file;
            var dims = ReadHeader(path, stream);
            long size = 1;
            foreach (int d in dims) size *= d; // each < 2^31, and the product is checked after every factor
            if (!gzipped)
            {
                long left = file.Length - 4 - 4L * dims.Length;
                if (size > left)
                    throw new DataFormatException(path, $"truncated: the header declares dims {Shapes.Format(dims)} = {size} bytes " +
                        $"of data, but only {left} follow it.");
                if (size < left)
                    throw new DataFormatException(path, $"{left - size} bytes after the {size} bytes of data that dims " +
                        $"{Shapes.Format(dims)} declare.");
            }
            var data = ReadData(path, stream, (int)size, gzipped);
            if (gzipped) CheckGzipFooter(path, file, dims, data);
            return new IdxData(dims, data);
        }
        catch (InvalidDataException e)
        {
            throw new DataFormatException(path, $"corrupt gzip data: {e.Message}", e);
        }
    }

    private static int[] ReadHeader(string path, Stream s)
    {
        Span<byte> magic = stackalloc byte[4];
        Fill(path, s, magic, "the 4-byte magic");
        if (magic[0] != 0 || magic[1] != 0)
            throw new DataFormatException(path, $"wrong magic {Convert.ToHexString(magic)}: not an IDX file (an IDX file starts " +
                "with 00 00, then the element type and the number of dims).");
        if (magic[2] != 0x08)
            throw new DataFormatException(path, $"element type 0x{magic[2]:X2} ({TypeName(magic[2])}) is not supported; only " +
                "unsigned bytes (0x08) are, as in MNIST and Fashion-MNIST.");
        if (magic[3] == 0) throw new DataFormatException(path, "the header declares 0 dims.");
        Span<byte> raw = stackalloc byte[4 * magic[3]];
        Fill(path, s, raw, $"the {magic[3]} dims of the header");
        var dims = new int[magic[3]];
        long size = 1;
        for (int i = 0; i < dims.Length; i++)
        {
            uint d = BinaryPrimitives.ReadUInt32BigEndian(raw[(4 * i)..]);
            size *= d;
            if (d > int.MaxValue || size > Array.MaxLength)
                throw new DataFormatException(path, $"the header declares dim {i} = {d} (dims so far {size} bytes), more than " +
                    $"the {Array.MaxLength} bytes one array can hold.");
            dims[i] = (int)d;
        }
        return dims;
    }

    private static string TypeName(byte type) => type switch
    {
        0x09 => "signed byte",
        0x0B => "int16",
        0x0C => "int32",
        0x0D => "float32",
        0x0E => "float64",
        _ => "not an IDX type",
    };

    private static void Fill(string path, Stream s, Span<byte> buffer, string what)
    {
        int got = s.ReadAtLeast(buffer, buffer.Length, throwOnEndOfStream: false);
        if (got < buffer.Length)
            throw new DataFormatException(path, $"truncated: the file ends after {got} of the {buffer.Length} bytes of {what}.");
    }

    /// <summary>Reads exactly <paramref name="size"/> bytes, growing the buffer only as they arrive (a forged size costs
    /// nothing), then checks that nothing follows.</summary>
    private static byte[] ReadData(string path, Stream s, int size, bool gzipped)
    {
        var data = new byte[gzipped ? Math.Min(size, ChunkBytes) : size];
        int got = 0;
        while (got < size)
        {
            if (got == data.Length) Array.Resize(ref data, (int)Math.Min(size, Math.Max(2L * data.Length, ChunkBytes)));
            int n = s.Read(data, got, data.Length - got);
            if (n == 0)
                throw new DataFormatException(path, $"truncated: the data ends after {got} of the {size} bytes the header declares.");
            got += n;
        }
        Span<byte> probe = stackalloc byte[1];
        if (s.Read(probe) != 0)
            throw new DataFormatException(path, $"more data follows the {size} bytes the header declares{(gzipped ? " (gzip)" : "")}.");
        return data;
    }

    /// <summary>Checks the gzip footer (RFC 1952: CRC-32 and length of the uncompressed bytes, little-endian) at the end
    /// of the file, which GZipStream does not: a file cut inside its footer, or damaged so that the data still inflates,
    /// is refused instead of read.</summary>
    private static void CheckGzipFooter(string path, FileStream file, int[] dims, byte[] data)
    {
        var header = new byte[4 + 4 * dims.Length];
        header[2] = 0x08;
        header[3] = (byte)dims.Length;
        for (int i = 0; i < dims.Length; i++) BinaryPrimitives.WriteInt32BigEndian(header.AsSpan(4 + 4 * i), dims[i]);
        var crc = new System.IO.Hashing.Crc32();
        crc.Append(header);
        crc.Append(data);
        Span<byte> footer = stackalloc byte[8];
        if (file.Length < 18 || RandomAccess.Read(file.SafeFileHandle, footer, file.Length - 8) != 8 ||
            BinaryPrimitives.ReadUInt32LittleEndian(footer) != crc.GetCurrentHashAsUInt32() ||
            BinaryPrimitives.ReadUInt32LittleEndian(footer[4..]) != (uint)(header.Length + (long)data.Length))
            throw new DataFormatException(path, "corrupt or truncated gzip: the CRC-32 and size at the end of the file do not " +
                "match the data (a single-member gzip file is expected, as gzip writes).");
    }

    /// <summary>An image file [N, H, W] as float32 [N, 1, H, W], each byte divided by 255 (torchvision's <c>ToTensor</c>),
    /// on the CPU.</summary>
    /// <exception cref="ArgumentNullException">path is null.</exception>
    /// <exception cref="FileNotFoundException">There is no such file.</exception>
    /// <exception cref="DataFormatException">The file is not a ubyte IDX file of 3 dims.</exception>
    public static Tensor ReadImages(string path)
    {
        var (pixels, shape) = ReadImagesHost(path, null);
        return Tensor.FromArray(pixels, shape);
    }

    /// <summary>A label file [N] as int64 [N] on the CPU; with <paramref name="classes"/> &gt; 0 every label must be below
    /// it.</summary>
    /// <exception cref="ArgumentNullException">path is null.</exception>
    /// <exception cref="ArgumentOutOfRangeException">classes is negative.</exception>
    /// <exception cref="FileNotFoundException">There is no such file.</exception>
    /// <exception cref="DataFormatException">The file is not a ubyte IDX file of 1 dim, or a label is not below
    /// classes.</exception>
    public static Tensor ReadLabels(string path, int classes = 0) => Tensor.FromArray(ReadLabelsHost(path, classes));

    /// <summary>The pixels of an image file scaled to [0, 1] and their shape [N, 1, H, W]; with <paramref name="size"/>,
    /// the images must be that size.</summary>
    internal static (float[] Pixels, int[] Shape) ReadImagesHost(string path, (int H, int W)? size)
    {
        var raw = ReadRaw(path);
        if (raw.Dims.Length != 3)
            throw new DataFormatException(path, $"an image file has 3 dims [count, height, width], this one {raw.Dims.Length}: " +
                $"{Shapes.Format(raw.Dims)}.");
        if (size is { } s && (raw.Dims[1] != s.H || raw.Dims[2] != s.W))
            throw new DataFormatException(path, $"the images are {raw.Dims[1]}x{raw.Dims[2]}, expected {s.H}x{s.W}.");
        var pixels = new float[raw.Data.Length];
        for (int i = 0; i < pixels.Length; i++) pixels[i] = raw.Data[i] / 255f;
        return (pixels, [raw.Dims[0], 1, raw.Dims[1], raw.Dims[2]]);
    }

    internal static long[] ReadLabelsHost(string path, int classes)
    {
        if (classes < 0)
            throw new ArgumentOutOfRangeException(nameof(classes), classes, "Idx.ReadLabels: the class count must be >= 0 (0: any).");
        var raw = ReadRaw(path);
        if (raw.Dims.Length != 1)
            throw new DataFormatException(path, $"a label file has 1 dim [count], this one {raw.Dims.Length}: " +
                $"{Shapes.Format(raw.Dims)}.");
        var labels = new long[raw.Data.Length];
        for (int i = 0; i < labels.Length; i++)
        {
            labels[i] = raw.Data[i];
            if (classes > 0 && labels[i] >= classes)
                throw new DataFormatException(path, $"label {labels[i]} at index {i} is outside the {classes} classes [0, {classes}).");
        }
        return labels;
    }

    /// <summary>Writes an IDX file of unsigned bytes (gzipped when <paramref name="gzip"/>).</summary>
    /// <exception cref="ArgumentNullException">path, dims or data is null.</exception>
    /// <exception cref="ArgumentException">There are no dims or more than 255, a dim is negative, or the product of the
    /// dims differs from data's length.</exception>
    public static void Write(string path, int[] dims, byte[] data, bool gzip = false)
    {
        ArgumentNullException.ThrowIfNull(path);
        ArgumentNullException.ThrowIfNull(dims);
        ArgumentNullException.ThrowIfNull(data);
        if (dims.Length is 0 or > 255)
            throw new ArgumentException($"Idx.Write: an IDX file has 1 to 255 dims, got {dims.Length}.", nameof(dims));
        if (Shapes.Numel(dims, nameof(dims)) != data.Length)
            throw new ArgumentException($"Idx.Write: dims {Shapes.Format(dims)} hold {Shapes.Numel(dims, nameof(dims))} bytes but " +
                $"data has {data.Length}.", nameof(data));
        using var file = File.Create(path);
        using var s = gzip ? new GZipStream(file, CompressionLevel.Fastest) : (Stream)file;
        var header = new byte[4 + 4 * dims.Length];
        header[2] = 0x08;
        header[3] = (byte)dims.Length;
        for (int i = 0; i < dims.Length; i++) BinaryPrimitives.WriteInt32BigEndian(header.AsSpan(4 + 4 * i), dims[i]);
        s.Write(header);
        s.Write(data);
    }
}
