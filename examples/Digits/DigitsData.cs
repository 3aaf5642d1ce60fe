using DeepSharp;
using System.Globalization;
using System.IO.Compression;

/// <summary>The digits set: pixels scaled to [0, 1], and a fixed 80/20 train/test split (a seeded permutation).</summary>
public sealed class DigitsData
{
    public required float[] Pixels { get; init; }
    public required long[] Labels { get; init; }
    public int Count => Labels.Length;

    public static DigitsData Load(string path)
    {
        var pixels = new List<float>(); var labels = new List<long>();
        using var reader = new StreamReader(new GZipStream(File.OpenRead(path), CompressionMode.Decompress));
        while (reader.ReadLine() is { Length: > 0 } line)
        {
            var cells = line.Split(',');
            if (cells.Length != 65) throw new InvalidDataException($"{path}: expected 65 columns, found {cells.Length}.");
            for (int i = 0; i < 64; i++) pixels.Add(float.Parse(cells[i], CultureInfo.InvariantCulture) / 16f);
            labels.Add(long.Parse(cells[64], CultureInfo.InvariantCulture));
        }
        return new DigitsData { Pixels = pixels.ToArray(), Labels = labels.ToArray() };
    }

    /// <summary>Row indices of the train and test parts (the same for every run).</summary>
    public (int[] Train, int[] Test) Split()
    {
        var order = Enumerable.Range(0, Count).ToArray();
        new Random(20261126).Shuffle(order);
        int train = Count * 4 / 5;
        return (order[..train], order[train..]);
    }

    /// <summary>Rows as tensors: x [n, 64] (or [n, 1, 8, 8] for images), y [n] int64.</summary>
    public (Tensor X, Tensor Y) Batch(int[] rows, bool images, Device device)
    {
        var x = new float[rows.Length * 64]; var y = new long[rows.Length];
        for (int r = 0; r < rows.Length; r++)
        {
            Array.Copy(Pixels, rows[r] * 64, x, r * 64, 64);
            y[r] = Labels[rows[r]];
        }
        return (Tensor.FromArray(x, images ? [rows.Length, 1, 8, 8] : [rows.Length, 64], device), Tensor.FromArray(y, device: device));
    }
}
