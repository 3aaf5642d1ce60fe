using System.Runtime.InteropServices;

namespace DeepSharp.Data;

/// <summary>One column of an in-memory data set (the features or the labels): rows of <see cref="RowShape"/> in a host
/// array of the dtype's own element type, so a batch is gathered with one span copy per row.</summary>
internal abstract class HostColumn
{
    protected HostColumn(DType dtype, int[] rowShape, int rows)
    {
        DType = dtype;
        RowShape = rowShape;
        RowSize = Shapes.Numel(rowShape, nameof(rowShape));
        Rows = rows;
    }

    public DType DType { get; }
    public int[] RowShape { get; }
    public int RowSize { get; }
    public int Rows { get; }
    public int RowBytes => RowSize * DType.SizeOf();

    /// <summary>Copies row <paramref name="row"/>'s bytes into <paramref name="destination"/>.</summary>
    public abstract void CopyRow(int row, Span<byte> destination);

    /// <summary>Row <paramref name="row"/> as a new CPU tensor of <see cref="RowShape"/>.</summary>
    public abstract Tensor RowTensor(int row);

    /// <summary>A new column of the given rows, in that order (indices already checked).</summary>
    public abstract HostColumn Select(IReadOnlyList<int> rows);

    /// <summary>The column of a tensor [rows, …rowShape], copied to the host.</summary>
    public static HostColumn Of(Tensor t)
    {
        var shape = t.Shape;
        int[] row = shape[1..];
        return t.DType switch
        {
            DType.Float32 => new HostColumn<float>(t.ToArray<float>(), DType.Float32, row, shape[0]),
            DType.Float64 => new HostColumn<double>(t.ToArray<double>(), DType.Float64, row, shape[0]),
            DType.Int32 => new HostColumn<int>(t.ToArray<int>(), DType.Int32, row, shape[0]),
            DType.Int64 => new HostColumn<long>(t.ToArray<long>(), DType.Int64, row, shape[0]),
            DType.Float16 => new HostColumn<Half>(t.ToArray<Half>(), DType.Float16, row, shape[0]),
            _ => new HostColumn<BFloat16>(t.ToArray<BFloat16>(), DType.BFloat16, row, shape[0]),
        };
    }
}

/// <summary>A <see cref="HostColumn"/> over a T[] (T is the dtype's element type).</summary>
internal sealed class HostColumn<T>(T[] data, DType dtype, int[] rowShape, int rows) : HostColumn(dtype, rowShape, rows)
    where T : unmanaged
{
    public T[] Data { get; } = data;

    public override void CopyRow(int row, Span<byte> destination) =>
        MemoryMarshal.AsBytes(Data.AsSpan(row * RowSize, RowSize)).CopyTo(destination);

    public override Tensor RowTensor(int row) => Tensor.FromSpan<T>(Data.AsSpan(row * RowSize, RowSize), RowShape);

    public override HostColumn Select(IReadOnlyList<int> rows)
    {
        var data = new T[(long)rows.Count * RowSize];
        for (int i = 0; i < rows.Count; i++) Data.AsSpan(rows[i] * RowSize, RowSize).CopyTo(data.AsSpan(i * RowSize, RowSize));
        return new HostColumn<T>(data, DType, RowShape, rows.Count);
    }
}
