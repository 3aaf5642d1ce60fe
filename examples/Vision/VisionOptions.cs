using System.Globalization;

/// <summary>Command-line options shared by the Fashion-MNIST apps (LeNet, BatchNorm, ResNet); all optional.</summary>
public sealed record VisionOptions(int Epochs, int BatchSize, float LearningRate, string? Device, ulong Seed, string Out, bool Resume,
    string? Data, int Subset, float MinAccuracy, int Threads, string Activation = "sigmoid", string Pool = "avg", int Width = 1,
    bool Cosine = false)
{
    public static string Usage(string app, VisionOptions d) =>
        $"usage: {app} [--epochs N={d.Epochs}] [--batch-size N={d.BatchSize}] " +
        $"[--lr X={d.LearningRate.ToString(CultureInfo.InvariantCulture)}] " +
        "[--device cpu|cuda:0|…] [--seed N=0] [--out DIR] [--resume] [--data FOLDER (default: Debian's dataset-fashion-mnist)] " +
        "[--subset N (the first N training and N/6 test images)] [--min-accuracy X (exit 1 below it)] [--threads N] " +
        $"[--activation sigmoid|relu={d.Activation}] [--pool avg|max={d.Pool}] " +
        $"[--width N={d.Width} (LeNet, BatchNorm: channels ×N; ResNet: the first stage's channels)] " +
        "[--cosine (the learning rate falls from --lr to 0 along a half cosine over the run)]";

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
                "--activation" => o with
                {
                    Activation = Next() is "sigmoid" or "relu" ? args[i]
                        : throw new ArgumentException($"--activation: sigmoid or relu. {Usage(app, d)}"),
                },
                "--pool" => o with
                {
                    Pool = Next() is "avg" or "max" ? args[i] : throw new ArgumentException($"--pool: avg or max. {Usage(app, d)}"),
                },
                "--cosine" => o with { Cosine = true },
                "--width" => o with { Width = int.Parse(Next(), CultureInfo.InvariantCulture) },
                "--help" or "-h" => throw new ArgumentException(Usage(app, d)),
                _ => throw new ArgumentException($"unknown option '{args[i]}'. {Usage(app, d)}"),
            };
        }
        if (o.Epochs < 1 || o.BatchSize < 1 || o.LearningRate <= 0 || o.Subset < 0 || o.Threads < 0 || o.Width < 1)
            throw new ArgumentException($"epochs, batch size, learning rate and width must be positive, subset and threads >= 0. " +
                Usage(app, d));
        return o;
    }

    /// <summary>The activation layer <c>--activation</c> names.</summary>
    public DeepSharp.Layers.Block MakeActivation() => Activation == "relu" ? new DeepSharp.Layers.Relu() : new DeepSharp.Layers.Sigmoid();

    /// <summary>The 2×2 pooling layer (stride 2) <c>--pool</c> names.</summary>
    public DeepSharp.Layers.Block MakePool() => Pool == "max" ? new DeepSharp.Layers.MaxPool2d(2, 2) : new DeepSharp.Layers.AvgPool2d(2, 2);
}
