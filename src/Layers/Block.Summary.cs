using System.Text;

namespace DeepSharp.Layers;

public abstract partial class Block
{
    [ThreadStatic] private static List<(Block Block, int[] Shape)>? _recorder;

    /// <summary>
    /// Runs one batch of <paramref name="inputShape"/> (no gradients) and prints each block's output shape, its own
    /// parameter count, how many of those are shared with another block, and its device; then the totals.
    /// </summary>
    public string Summary(int[] inputShape, Device? device = null)
    {
        ArgumentNullException.ThrowIfNull(inputShape);
        var calls = new List<(Block Block, int[] Shape)>();
        _recorder = calls;
        try { using (Autograd.NoGrad()) Call(Tensor.Zeros(inputShape, DType.Float32, device ?? _device)); }
        finally { _recorder = null; }
        var paths = new Dictionary<Block, string>(ReferenceEqualityComparer.Instance);
        foreach (var (path, b) in NamedBlocks()) paths.TryAdd(b, path.Length == 0 ? "(root)" : path);
        var owners = new Dictionary<Parameter, int>(ReferenceEqualityComparer.Instance);
        foreach (var (_, b) in NamedBlocks()) foreach (var (_, p) in b._parameters) owners[p] = owners.GetValueOrDefault(p) + 1;
        var sb = new StringBuilder($"{"block",-22} {"type",-14} {"output",-18} {"params",10} {"shared",8}  device\n");
        foreach (var (b, shape) in calls)
        {
            long own = b._parameters.Sum(p => (long)p.Parameter.Data.Count);
            long shared = b._parameters.Where(p => owners[p.Parameter] > 1).Sum(p => (long)p.Parameter.Data.Count);
            var dev = b._parameters.Select(p => p.Parameter.Data.Device.ToString()).FirstOrDefault() ?? "-";
            sb.Append(
                $"{paths.GetValueOrDefault(b, "?"),-22} {b.GetType().Name,-14} {Layout.Format(shape),-18} {own,10:N0} {shared,8:N0}  " +
                $"{dev}\n");
        }
        long total = Parameters().Sum(p => (long)p.Data.Count);
        return sb.Append($"total: {total:N0} parameters ({Parameters().Count()} tensors), input {Layout.Format(inputShape)}\n").ToString();
    }

    private static void Record(Block b, Tensor y) => _recorder?.Add((b, y.Shape));
}
