using System.Globalization;

/// <summary>Command-line options shared by the Fashion-MNIST apps (LeNet, BatchNorm, ResNet); all optional.</summary>
public sealed record VisionOptions(int Epochs, int BatchSize, float LearningRate, string? Device, ulong Seed, string Out, bool Resume,
    string? Data, int Subset, float MinAccuracy, int Threads)
{
    public static string Usage(string app, VisionOptions d) =>
        $"usage: {app} [--epochs N={d.Epochs}] [--batch-size N={d.BatchSize}] [--lr X={d.LearningRate.ToString(CultureInfo.InvariantCulture)}] " +
        "[--device cpu|cuda:0|…] [--seed N=0] [--out DIR] [--resume] [--data FOLDER (default: Debian's dataset-fashion-mnist)] " +
        "[--subset N (the first N training and N/6 test images)] [--min-accuracy X (exit 1 below it)] [--threads N]";

    /// <summary>Parses <paramref name="args"/> over the app's defaults <paramref name="d"/>.</summary>
    public static VisionOptions Parse(string app, string[] args, VisionOptions d)
    {
        var o = d;
        for (int i = 0; i < args.Length; i++)
        {
            string Next() => i + 1 < args.Length ? args[++i] : throw new ArgumentException($"{args[i]} needs a value. {Usage(app, d)}");
            o = args[i] switch
            {
                "--epochs" => o with { Epochs = int.Parse(Next(), CultureInfo.InvariantCulture) },
                "--batch-size" => o with { BatchSize = int.Parse(Next(), CultureInfo.InvariantCulture) },
                "--lr" => o with { LearningRate = float.Parse(Next(), CultureInfo.InvariantCulture) },
                "--device" => o with { Device = Next() },
                "--seed" => o with { Seed = ulong.Parse(Next(), CultureInfo.InvariantCulture) },
                "--out" => o with { Out = Next() },
                "--resume" => o with { Resume = true },
                "--data" => o with { Data = Next() },
                "--subset" => o with { Subset = int.Parse(Next(), CultureInfo.InvariantCulture) },
                "--min-accuracy" => o with { MinAccuracy = float.Parse(Next(), CultureInfo.InvariantCulture) },
                "--threads" => o with { Threads = int.Parse(Next(), CultureInfo.InvariantCulture) },
                "--help" or "-h" => throw new ArgumentException(Usage(app, d)),
                _ => throw new ArgumentException($"unknown option '{args[i]}'. {Usage(app, d)}"),
            };
        }
        if (o.Epochs < 1 || o.BatchSize < 1 || o.LearningRate <= 0 || o.Subset < 0 || o.Threads < 0)
            throw new ArgumentException($"epochs, batch size and learning rate must be positive, subset and threads >= 0. {Usage(app, d)}");
        return o;
    }
}
