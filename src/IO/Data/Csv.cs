using System.Globalization;

namespace DeepSharp.Data;

/// <summary>
/// Reads comma-separated numbers (one row per line, an optional header line of names) into float32 matrices, and splits
/// a label column off for a <see cref="TensorDataset"/>. Fields may be quoted; empty lines are skipped. A field that is
/// not a number, or a row of another width, is a <see cref="DataFormatException"/> naming the line and column.
/// </summary>
public static class Csv
{
    /// <summary>The numbers of the file at <paramref name="path"/> as float32 [rows, columns] on the CPU.</summary>
    /// <param name="path">The file.</param>
    /// <param name="hasHeader">Whether the first line holds names; null: it does when one of its fields is not a
    /// number.</param>
    /// <param name="separator">The field separator.</param>
    /// <exception cref="ArgumentNullException">path is null.</exception>
    /// <exception cref="FileNotFoundException">There is no such file.</exception>
    /// <exception cref="DataFormatException">A field is not a number, rows differ in width, or there are no rows.</exception>
    public static Tensor Read(string path, bool? hasHeader = null, char separator = ',')
    {
        var (values, rows, cols) = ReadHost(path, hasHeader, separator);
        return Tensor.FromArray(values, [rows, cols]);
    }

    /// <summary>A data set of the file's rows: column <paramref name="labelColumn"/> (negative counts from the end; the
    /// last by default) as int64 class labels [N], the other columns as float32 features [N, columns − 1].</summary>
    /// <exception cref="ArgumentNullException">path is null.</exception>
    /// <exception cref="ArgumentOutOfRangeException">labelColumn is outside the columns.</exception>
    /// <exception cref="FileNotFoundException">There is no such file.</exception>
    /// <exception cref="DataFormatException">As <see cref="Read"/>, or a label is not a whole number ≥ 0.</exception>
    public static TensorDataset ReadDataset(string path, int labelColumn = -1, bool? hasHeader = null, char separator = ',')
    {
        var (values, rows, cols) = ReadHost(path, hasHeader, separator);
        int label = Column(labelColumn, cols);
        var features = new float[rows * (cols - 1)];
        var labels = new long[rows];
        for (int r = 0; r < rows; r++)
        {
            float v = values[r * cols + label];
            if (!(v >= 0) || v != MathF.Floor(v) || v > 1 << 24)
                throw new DataFormatException(path, $"row {r}, column {label}: the label {v} is not a whole number >= 0 (and at " +
                    $"most 2^24, which float32 holds exactly).");
            labels[r] = (long)v;
            for (int c = 0, k = 0; c < cols; c++)
                if (c != label) features[r * (cols - 1) + k++] = values[r * cols + c];
        }
        return new TensorDataset(new HostColumn<float>(features, DType.Float32, [cols - 1], rows),
            new HostColumn<long>(labels, DType.Int64, [], rows));
    }

    private static int Column(int column, int cols)
    {
        int c = column < 0 ? cols + column : column;
        if (c < 0 || c >= cols || cols < 2)
            throw new ArgumentOutOfRangeException(nameof(column), column, $"Csv: the label column {column} is outside the {cols} " +
                "columns (a data set needs a label and at least one feature).");
        return c;
    }

    private static (float[] Values, int Rows, int Cols) ReadHost(string path, bool? hasHeader, char separator)
    {
        ArgumentNullException.ThrowIfNull(path);
        var values = new List<float>();
        int cols = -1, rows = 0, lineNo = 0;
        bool first = true;
        foreach (var line in File.ReadLines(path))
        {
            lineNo++;
            if (string.IsNullOrWhiteSpace(line)) continue;
            var fields = line.Split(separator);
            if (first)
            {
                first = false;
                bool header = hasHeader ?? fields.Any(f => !TryNumber(f, out _));
                cols = fields.Length;
                if (header) continue;
            }
            if (fields.Length != cols)
                throw new DataFormatException(path, $"line {lineNo} has {fields.Length} fields; the first line has {cols}.");
            for (int c = 0; c < fields.Length; c++)
            {
                if (!TryNumber(fields[c], out float v))
                    throw new DataFormatException(path, $"line {lineNo}, column {c}: '{fields[c].Trim()}' is not a number.");
                values.Add(v);
            }
            rows++;
            if ((long)rows * cols > Array.MaxLength)
                throw new DataFormatException(path, $"more than {Array.MaxLength} numbers, which one array cannot hold.");
        }
        if (rows == 0) throw new DataFormatException(path, "no rows of numbers.");
        return (values.ToArray(), rows, cols);
    }

    private static bool TryNumber(string field, out float value)
    {
        var s = field.AsSpan().Trim();
        if (s.Length >= 2 && s[0] == '"' && s[^1] == '"') s = s[1..^1].Trim();
        return float.TryParse(s, NumberStyles.Float, CultureInfo.InvariantCulture, out value);
    }
}
