using System.CommandLine;

/// <summary>Command-line options of the digits trainer (all optional; <c>--help</c> lists them with their defaults).</summary>
public sealed record Options(int Epochs, int BatchSize, float LearningRate, string Model, string? Device, ulong Seed, string Out,
    bool Resume, OptimizerChoice Optimizer)
{
    /// <summary>Parses <paramref name="args"/>: the options, or null with the exit code when the app should stop (0 after
    /// <c>--help</c>, 2 after a bad command line, explained on one line of standard error).</summary>
    public static Options? Parse(string[] args, out int exitCode)
    {
        var epochs = Cli.Int("--epochs", 40, 1, "passes over the training set");
        var batchSize = Cli.Int("--batch-size", 32, 1, "images per step");
        var lr = Cli.Positive("--lr", 0.1f, "the learning rate");
        var optimizer = OptimizerChoice.Options.Create();
        var model = Cli.Choice("--model", "mlp", ["mlp", "cnn"], "the network: an MLP (64-128-10) or a small CNN");
        var device = Cli.Device();
        var seed = Cli.Number("--seed", 0UL, _ => true, "a whole number ≥ 0", "seeds the weights and the shuffle");
        var output = Cli.Text("--out", Path.Combine("runs", "digits"), "where the checkpoint, metrics.csv and the charts go", "DIR");
        var resume = Cli.Flag("--resume", "continue from DIR/checkpoint.ckpt (ends exactly where an uninterrupted run ends)");
        var root = new RootCommand("Trains a classifier on the UCI handwritten digits (1797 8×8 images), checkpoints each epoch, " +
            "then prints the test accuracy and a confusion matrix and writes metrics.csv, metrics.png and metrics.svg.")
        { epochs, batchSize, lr, model, device, seed, output, resume, optimizer.Name, optimizer.Momentum, optimizer.WeightDecay };
        if (Cli.Parse(root, args, out var r) is { } code)
        {
            exitCode = code;
            return null;
        }
        exitCode = 0;
        return new Options(r.GetValue(epochs), r.GetValue(batchSize), r.GetValue(lr), r.GetValue(model)!, r.GetValue(device),
            r.GetValue(seed), r.GetValue(output)!, r.GetValue(resume), optimizer.Read(r));
    }
}
