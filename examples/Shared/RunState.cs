using System.Globalization;
using DeepSharp.IO;
using DeepSharp.Layers;
using DeepSharp.Optim;

/// <summary>
/// What the training apps (Digits, the Fashion-MNIST apps, Language) keep between epochs: the model's state, the optimizer's
/// (momentum buffers, moment estimates, step counts) and the metrics so far, in one atomic checkpoint per epoch, so
/// <c>--resume</c> continues exactly with any optimizer; and the metrics as CSV and chart.
/// </summary>
public static class RunState
{
    /// <summary>Saves <paramref name="net"/>'s and <paramref name="optimizer"/>'s state dicts and <paramref name="history"/>
    /// (one row per epoch), with the command line as metadata.</summary>
    public static void Save(string path, Block net, Optimizer optimizer, List<(float Loss, float TrainAcc, float TestAcc)> history,
        string[] args, GradScaler? scaler = null) =>
        Save(path, net, optimizer, [.. history.SelectMany(h => new[] { h.Loss, h.TrainAcc, h.TestAcc })], args, scaler);

    /// <summary>Saves <paramref name="net"/>'s and <paramref name="optimizer"/>'s state dicts and <paramref name="history"/>
    /// (the metrics so far, row after row, as <see cref="Resume(string, Device, Block, Optimizer, int, GradScaler?)"/> reads them
    /// back), and the loss scaler's state when there is one.</summary>
    public static void Save(string path, Block net, Optimizer optimizer, float[] history, string[] args, GradScaler? scaler = null)
    {
        using var scope = TensorScope.Begin();
        var model = new OrderedDictionary<string, CheckpointValue>();
        foreach (var (k, v) in net.StateDict()) model.Add(k, v);
        var state = optimizer.StateDict();
        var opt = new OrderedDictionary<string, CheckpointValue>();
        foreach (var (k, v) in state) opt.Add(k, v);
        try
        {
            var root = new OrderedDictionary<string, CheckpointValue>
            {
                ["model"] = new DictValue(model),
                ["optimizer"] = new DictValue(opt),
                ["history"] = Tensor.FromArray(history),
            };
            if (scaler is not null)
                root["scaler"] = new DictValue(new(scaler.StateDict()
                    .Select(kv => KeyValuePair.Create(kv.Key, (CheckpointValue)kv.Value))));
            Checkpoint.Save(path, new DictValue(root),
                new Dictionary<string, string> { ["options"] = string.Join(' ', args), ["optimizer"] = optimizer.GetType().Name });
        }
        finally
        {
            // The optimizer's buffers (state.i.exp_avg, …) are its live tensors; the rest was made for the dictionary.
            foreach (var (k, t) in state)
                if (!k.StartsWith("state.", StringComparison.Ordinal) || k.EndsWith(".step", StringComparison.Ordinal)) t.Dispose();
        }
    }

    /// <summary>Loads what <see cref="Save"/> wrote into <paramref name="net"/> (on <paramref name="device"/>),
    /// <paramref name="optimizer"/> (built as for the saved run) and <paramref name="history"/>.</summary>
    /// <remarks>A checkpoint of another optimizer, or one that does not fit the model or the optimizer, ends the app with one
    /// line on standard error and exit code 2 (the command line asked for something the file cannot give).</remarks>
    public static void Resume(string path, Device device, Block net, Optimizer optimizer,
        List<(float Loss, float TrainAcc, float TestAcc)> history, GradScaler? scaler = null)
    {
        var h = Resume(path, device, net, optimizer, columns: 3, scaler);
        for (int i = 0; i + 2 < h.Length; i += 3) history.Add((h[i], h[i + 1], h[i + 2]));
    }

    /// <summary>Loads what <see cref="Save(string, Block, Optimizer, float[], string[])"/> wrote into <paramref name="net"/>
    /// and <paramref name="optimizer"/>, and returns the saved metrics (<paramref name="columns"/> per epoch).</summary>
    /// <remarks>As the other overload, a file that does not fit ends the app with one line and exit code 2.</remarks>
    public static float[] Resume(string path, Device device, Block net, Optimizer optimizer, int columns, GradScaler? scaler = null)
    {
        var (value, meta) = Checkpoint.LoadWithMeta(path, device);
        var d = value.AsDict();
        if (meta.GetValueOrDefault("optimizer") is { } saved && saved != optimizer.GetType().Name)
            Stop($"{path} was written by a run with {saved}, not {optimizer.GetType().Name}: resume with the same --optimizer, " +
                "or start a new run with another --out.");
        if (!d.ContainsKey("optimizer"))
            Stop($"{path} has no optimizer state (an older checkpoint): start a new run with another --out.");
        var state = new OrderedDictionary<string, Tensor>();
        foreach (var (k, v) in d["model"].AsDict()) state.Add(k, v.AsTensor());
        var opt = new OrderedDictionary<string, Tensor>();
        foreach (var (k, v) in d["optimizer"].AsDict()) opt.Add(k, v.AsTensor());
        if (scaler is not null && !d.ContainsKey("scaler"))
            Stop($"{path} was written by a run without --autocast fp16 (no loss scaler state): resume with the same --autocast.");
        try
        {
            net.LoadStateDict(state);
            optimizer.LoadStateDict(opt);
            scaler?.LoadStateDict(d["scaler"].AsDict().ToDictionary(kv => kv.Key, kv => kv.Value.AsTensor()));
        }
        catch (Exception e) when (e is StateDictMismatchException or ArgumentException)
        {
            Stop($"{path} does not fit this run's model or optimizer settings: {e.Message.ReplaceLineEndings(" ")}");
        }
        var h = d["history"].AsTensor().ToArray<float>();
        Console.WriteLine($"resumed from {path} after epoch {h.Length / columns} ({meta.GetValueOrDefault("options")})");
        return h[..(h.Length / columns * columns)];
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

    private static void Stop(string message)
    {
        Console.Error.WriteLine(message);
        Environment.Exit(2);
    }
}
