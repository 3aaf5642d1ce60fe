using System.Globalization;
using DeepSharp.IO;
using DeepSharp.Layers;

/// <summary>
/// What the training apps (Digits and the Fashion-MNIST apps) keep between epochs: the model's state and the metrics so
/// far, in one atomic checkpoint per epoch, so <c>--resume</c> continues exactly; and the metrics as CSV and chart.
/// </summary>
public static class RunState
{
    /// <summary>Saves <paramref name="net"/>'s state dict and <paramref name="history"/> (one row per epoch), with the
    /// command line as metadata.</summary>
    public static void Save(string path, Block net, List<(float Loss, float TrainAcc, float TestAcc)> history, string[] args)
    {
        var model = new OrderedDictionary<string, CheckpointValue>();
        foreach (var (k, v) in net.StateDict()) model.Add(k, v);
        Checkpoint.Save(path, new DictValue(new OrderedDictionary<string, CheckpointValue>
        {
            ["model"] = new DictValue(model),
            ["history"] = Tensor.FromArray(history.SelectMany(h => new[] { h.Loss, h.TrainAcc, h.TestAcc }).ToArray()),
        }), new Dictionary<string, string> { ["options"] = string.Join(' ', args) });
    }

    /// <summary>Loads what <see cref="Save"/> wrote into <paramref name="net"/> (on <paramref name="device"/>) and
    /// <paramref name="history"/>.</summary>
    public static void Resume(string path, Device device, Block net, List<(float Loss, float TrainAcc, float TestAcc)> history)
    {
        var (value, meta) = Checkpoint.LoadWithMeta(path, device);
        var d = value.AsDict();
        var state = new OrderedDictionary<string, Tensor>();
        foreach (var (k, v) in d["model"].AsDict()) state.Add(k, v.AsTensor());
        net.LoadStateDict(state);
        var h = d["history"].AsTensor().ToArray<float>();
        for (int i = 0; i + 2 < h.Length; i += 3) history.Add((h[i], h[i + 1], h[i + 2]));
        Console.WriteLine($"resumed from {path} after epoch {history.Count} ({meta.GetValueOrDefault("options")})");
    }

    /// <summary>Writes <c>metrics.csv</c>, <c>metrics.png</c> and <c>metrics.svg</c> into <paramref name="folder"/> and says so.</summary>
    public static void WriteMetrics(string folder, List<(float Loss, float TrainAcc, float TestAcc)> history, string checkpoint)
    {
        string csv = Path.Combine(folder, "metrics.csv");
        File.WriteAllLines(csv, ["epoch,loss,train_accuracy,test_accuracy",
            .. history.Select((h, i) =>
                string.Create(CultureInfo.InvariantCulture, $"{i + 1},{h.Loss:F6},{h.TrainAcc:F6},{h.TestAcc:F6}"))]);
        var (png, svg) = Charts.Write(Path.Combine(folder, "metrics"), [ChartPanel.Loss([.. history.Select(h => (double)h.Loss)]),
            ChartPanel.Accuracy([.. history.Select(h => (double)h.TrainAcc)], [.. history.Select(h => (double)h.TestAcc)])]);
        Console.WriteLine($"wrote {csv}, {png}, {svg} and {checkpoint}");
    }
}
