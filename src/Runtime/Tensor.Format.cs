using System.Globalization;
using System.Text;

namespace DeepSharp;

public sealed partial class Tensor
{
    private const int SummarizeAbove = 1000, EdgeItems = 3;

    /// <summary>
    /// Prints like PyTorch: <c>tensor([[1., 1., 1.]], device='cuda:0')</c>. Floats use 4 decimals, integral floats a trailing
    /// dot, wide ranges scientific notation; more than 1000 elements are summarized with "...". Reads the values to the host.
    /// </summary>
    public override string ToString()
    {
        if (_disposed) return "tensor(<disposed>)";
        var values = ToDoubleArray();
        var fmt = ChooseFormat(values, DType.IsFloat());
        var suffix = new StringBuilder();
        if (Count == 0 && Rank != 1) suffix.Append(", size=(").Append(string.Join(", ", Layout.ShapeArray)).Append(Rank == 1 ? ",)" : ")");
        if (Device != Device.Cpu) suffix.Append($", device='{Device}'");
        if (DType is not (DType.Float32 or DType.Int64)) suffix.Append($", dtype=torch.{DType.Name()}");
        string body = Rank == 0 ? fmt(values[0]) : Block(values, 0, 0, Count > SummarizeAbove, fmt, 7);
        return $"tensor({body}{suffix})";
    }

    /// <summary>Formats dims [dim..] of the elements starting at flat index <paramref name="start"/>.</summary>
    private string Block(double[] v, int dim, int start, bool summarize, Func<double, string> fmt, int indent)
    {
        int n = Layout.ShapeArray[dim], stride = Layout.Count == 0 ? 0 : Prod(Layout.ShapeArray, dim + 1, Rank);
        var items = new List<string>();
        for (int i = 0; i < n; i++)
        {
            if (summarize && n > 2 * EdgeItems && i == EdgeItems) { items.Add("..."); i = n - EdgeItems - 1; continue; }
            items.Add(dim == Rank - 1 ? fmt(v[start + i]) : Block(v, dim + 1, start + i * stride, summarize, fmt, indent + 1));
        }
        if (dim == Rank - 1) return "[" + string.Join(", ", items) + "]";
        string sep = "," + new string('\n', Rank - dim - 1) + new string(' ', indent + 1);
        return "[" + string.Join(sep, items) + "]";
    }

    private static Func<double, string> ChooseFormat(double[] values, bool isFloat)
    {
        if (!isFloat)
        {
            static string Int(double x) => ((long)x).ToString(CultureInfo.InvariantCulture);
            int w = values.Length == 0 ? 1 : values.Max(x => Int(x).Length);
            return x => Int(x).PadLeft(w);
        }
        var finite = values.Where(double.IsFinite).Select(Math.Abs).ToArray();
        bool integral = finite.All(x => x == Math.Floor(x) && x < 1e8);
        double max = finite.Length > 0 ? finite.Max() : 0, minNz = finite.Where(x => x > 0).DefaultIfEmpty(0).Min();
        bool sci = !integral && (max >= 1e8 || (minNz > 0 && (minNz < 1e-4 || max / minNz > 1000)));
        string One(double x) =>
            double.IsNaN(x) ? "nan" : double.IsPositiveInfinity(x) ? "inf" : double.IsNegativeInfinity(x) ? "-inf"
            : integral ? x.ToString("0", CultureInfo.InvariantCulture) + "."
            : sci ? x.ToString("0.0000e+00", CultureInfo.InvariantCulture)
            : x.ToString("0.0000", CultureInfo.InvariantCulture);
        int width = values.Length == 0 ? 1 : values.Max(x => One(x).Length);
        return x => One(x).PadLeft(width);
    }
}
