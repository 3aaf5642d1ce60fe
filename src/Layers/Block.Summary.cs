using System.Text;

namespace DeepSharp.Layers;

public abstract partial class Block
{
    [ThreadStatic] private static List<(Block Block, string Output)>? _recorder;

    /// <summary>
    /// Runs one batch of <paramref name="inputShape"/> (no gradients) and prints each block's output shape, its own
    /// parameter count, how many of those are shared with another block, and its device; then the totals.
    /// </summary>
    public string Summary(int[] inputShape, Device? device = null)
    {
        ArgumentNullException.ThrowIfNull(inputShape);
        return SummaryOf(() => Call(Tensor.Zeros(inputShape, _dtype, device ?? _device)), Layout.Format(inputShape));
    }

    /// <summary>The summary table of one run of <paramref name="run"/> (no gradients); <paramref name="input"/> describes its
    /// input in the last line.</summary>
    private protected string SummaryOf(Action run, string input)
    {
        var calls = new List<(Block Block, string Output)>();
        _recorder = calls;
        try { using (Autograd.NoGrad()) run(); }
        finally { _recorder = null; }
        var paths = new Dictionary<Block, string>(ReferenceEqualityComparer.Instance);
        foreach (var (path, b) in NamedBlocks()) paths.TryAdd(b, path.Length == 0 ? "(root)" : path);
        var owners = new Dictionary<Parameter, int>(ReferenceEqualityComparer.Instance);
        foreach (var (_, b) in NamedBlocks()) foreach (var (_, p) in b._parameters) owners[p] = owners.GetValueOrDefault(p) + 1;
        var sb = new StringBuilder($"{"block",-22} {"type",-14} {"output",-18} {"params",10} {"shared",8}  device\n");
        foreach (var (b, output) in calls)
        {
            long own = b._parameters.Sum(p => (long)p.Parameter.Data.Count);
            long shared = b._parameters.Where(p => owners[p.Parameter] > 1).Sum(p => (long)p.Parameter.Data.Count);
            var dev = b._parameters.Select(p => p.Parameter.Data.Device.ToString()).FirstOrDefault() ?? "-";
            sb.Append(
                $"{paths.GetValueOrDefault(b, "?"),-22} {b.GetType().Name,-14} {output,-18} {own,10:N0} {shared,8:N0}  " +
                $"{dev}\n");
        }
        long total = Parameters().Sum(p => (long)p.Data.Count);
        return sb.Append($"total: {total:N0} parameters ({Parameters().Count()} tensors), input {input}\n").ToString();
    }

    private static void Record(Block b, object? y) =>
        _recorder?.Add((b, y is Tensor t ? Layout.Format(t.Shape) : Shapes(y)));

    /// <summary>The shapes of the tensors in a block's input or output: "[2, 3]", or "([2, 3], [2, 5])" for several.</summary>
    internal static string Shapes(object? value)
    {
        var shapes = BlockIO.Tensors(value).Select(t => Layout.Format(t.Shape)).ToList();
        return shapes.Count == 1 ? shapes[0] : $"({string.Join(", ", shapes)})";
    }
}
