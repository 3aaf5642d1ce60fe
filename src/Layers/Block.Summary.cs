using System.Text;

namespace DeepSharp.Layers;

public abstract partial class Block
{
    [ThreadStatic] private static List<(Block Block, string Output)>? _recorder;

    /// <summary>
    /// Runs one batch of <paramref name="inputShape"/> (no gradients) and returns a table with a row per block call: its path
    /// (a block used in several places: the path of that use), output shape, own parameter count, how many of those are
    /// shared (used in another place, by another block or by the same block placed twice), and its device; then the totals.
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
        // Every path of every block: a block used in two places (the book's tied layer) has two, and its parameters count as
        // shared, as does a parameter that two blocks register; the k-th call of a block is shown under its k-th path.
        var paths = new Dictionary<Block, List<string>>(ReferenceEqualityComparer.Instance);
        var owners = new Dictionary<Parameter, int>(ReferenceEqualityComparer.Instance);
        void Walk(string path, Block b)
        {
            if (!paths.TryGetValue(b, out var list)) paths[b] = list = [];
            list.Add(path.Length == 0 ? "(root)" : path);
            foreach (var (_, p) in b._parameters) owners[p] = owners.GetValueOrDefault(p) + 1;
            foreach (var child in b._children) Walk(Join(path, child.Name), child.Block);
        }
        Walk("", this);
        var callsSoFar = new Dictionary<Block, int>(ReferenceEqualityComparer.Instance);
        var sb = new StringBuilder($"{"block",-22} {"type",-14} {"output",-18} {"params",10} {"shared",8}  device\n");
        foreach (var (b, output) in calls)
        {
            int k = callsSoFar[b] = callsSoFar.GetValueOrDefault(b) + 1;
            string path = paths.TryGetValue(b, out var list) ? list[Math.Min(k, list.Count) - 1] : "?";
            long own = b._parameters.Sum(p => (long)p.Parameter.Data.Count);
            long shared = b._parameters.Where(p => owners[p.Parameter] > 1).Sum(p => (long)p.Parameter.Data.Count);
            var dev = b._parameters.Select(p => p.Parameter.Data.Device.ToString()).FirstOrDefault() ?? "-";
            sb.Append(
                $"{path,-22} {b.GetType().Name,-14} {output,-18} {own,10:N0} {shared,8:N0}  " +
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
