using System.CommandLine;

/// <summary>Command-line options shared by the Fashion-MNIST apps (LeNet, BatchNorm, ResNet); all optional, and
/// <c>--help</c> lists them with the app's defaults. An app whose model has no choice of activation or pooling (ResNet)
/// passes null for them, and does not offer those options.</summary>
public sealed record VisionOptions(int Epochs, int BatchSize, float LearningRate, string? Device, ulong Seed, string Out, bool Resume,
    string? Data, int Subset, float MinAccuracy, int Threads, string? Activation = "sigmoid", string? Pool = "avg", int Width = 1,
    bool Cosine = false, OptimizerChoice? Optimizer = null, string Autocast = "none")
{
    /// <summary>Parses <paramref name="args"/> over the app's defaults <paramref name="d"/>: the options, or null with the
    /// exit code when the app should stop (0 after <c>--help</c>, 2 after a bad command line, explained on one line).</summary>
    public static VisionOptions? Parse(string app, string[] args, VisionOptions d, out int exitCode)
    {
        var epochs = Cli.Int("--epochs", d.Epochs, 1, "passes over the training set");
        var batchSize = Cli.Int("--batch-size", d.BatchSize, 1, "images per step");
        var lr = Cli.Positive("--lr", d.LearningRate, "the learning rate (the peak with --cosine)");
        var optimizer = OptimizerChoice.Options.Create();
        var device = Cli.Device();
        var seed = Cli.Number("--seed", d.Seed, _ => true, "a whole number ≥ 0", "seeds the weights and the shuffle");
        var output = Cli.Text("--out", d.Out, "where the checkpoint, metrics.csv and the charts go", "DIR");
        var resume = Cli.Flag("--resume", "continue from DIR/checkpoint.ckpt (ends exactly where an uninterrupted run ends)");
        var data = Cli.ExistingFolder("--data", "the four Fashion-MNIST idx files [default: Debian's dataset-fashion-mnist]");
        var subset = Cli.Int("--subset", d.Subset, 0, "train on the first N images and test on the first N/6 (0: all)");
        var minAccuracy = Cli.Number("--min-accuracy", d.MinAccuracy, v => v is >= 0 and <= 1, "a number in [0, 1]",
            "exit with code 1 when the test accuracy ends below it", "X");
        var threads = Cli.Int("--threads", d.Threads, 0, "CPU threads (0: every core)");
        var activation = d.Activation is null ? null
            : Cli.Choice("--activation", d.Activation, ["sigmoid", "relu"], "the activation after each hidden layer");
        var pool = d.Pool is null ? null : Cli.Choice("--pool", d.Pool, ["avg", "max"], "the 2×2 pooling");
        var width = Cli.Int("--width", d.Width, 1, "LeNet, BatchNorm: channels ×N; ResNet: the first stage's channels");
        var cosine = Cli.Flag("--cosine", "the learning rate falls from --lr to 0 along a half cosine over the run");
        var autocast = Precision.Option();
        var root = new RootCommand($"{app} on Fashion-MNIST (Dive into Deep Learning): trains with a checkpoint per epoch, then " +
            "prints the test accuracy per class and writes metrics.csv, metrics.png and metrics.svg.")
        {
            epochs, batchSize, lr, device, seed, output, resume, data, subset, minAccuracy, threads, width, cosine,
            optimizer.Name, optimizer.Momentum, optimizer.WeightDecay, autocast,
        };
        foreach (var option in new[] { activation, pool }.OfType<Option<string>>()) root.Add(option);
        if (Cli.Parse(root, args, out var r) is { } code)
        {
            exitCode = code;
            return null;
        }
        exitCode = 0;
        return new VisionOptions(r.GetValue(epochs), r.GetValue(batchSize), r.GetValue(lr), r.GetValue(device), r.GetValue(seed),
            r.GetValue(output)!, r.GetValue(resume), r.GetValue(data), r.GetValue(subset), r.GetValue(minAccuracy),
            r.GetValue(threads), activation is null ? null : r.GetValue(activation), pool is null ? null : r.GetValue(pool),
            r.GetValue(width), r.GetValue(cosine), optimizer.Read(r),
            r.GetValue(autocast)!);
    }

    /// <summary>The activation layer <c>--activation</c> names.</summary>
    public DeepSharp.Layers.Block MakeActivation() => Activation == "relu" ? new DeepSharp.Layers.Relu() : new DeepSharp.Layers.Sigmoid();

    /// <summary>The 2×2 pooling layer (stride 2) <c>--pool</c> names.</summary>
    public DeepSharp.Layers.Block MakePool() => Pool == "max" ? new DeepSharp.Layers.MaxPool2d(2, 2) : new DeepSharp.Layers.AvgPool2d(2, 2);
}
