using System.Globalization;

/// <summary>Command-line options of the digits trainer (all optional).</summary>
public sealed record Options(int Epochs, int BatchSize, float LearningRate, string Model, string? Device, ulong Seed, string Out,
    bool Resume)
{
    public const string Usage =
        "usage: Digits [--epochs N=40] [--batch-size N=32] [--lr X=0.1] [--model mlp|cnn] [--device cpu|cuda:0|…] [--seed N=0] [--out " +
            "DIR=runs/digits] [--resume]";

    public static Options Parse(string[] args)
    {
        var o = new Options(40, 32, 0.1f, "mlp", null, 0, Path.Combine("runs", "digits"), false);
        for (int i = 0; i < args.Length; i++)
        {
            string Next() => i + 1 < args.Length ? args[++i] : throw new ArgumentException($"{args[i]} needs a value. {Usage}");
            o = args[i] switch
            {
                "--epochs" => o with { Epochs = int.Parse(Next(), CultureInfo.InvariantCulture) },
                "--batch-size" => o with { BatchSize = int.Parse(Next(), CultureInfo.InvariantCulture) },
                "--lr" => o with { LearningRate = float.Parse(Next(), CultureInfo.InvariantCulture) },
                "--model" => o with
                {
                    Model = Next() switch
                    {
                        "mlp" => "mlp",
                        "cnn" => "cnn",
                        var m => throw new ArgumentException($"--model must be mlp or cnn, got '{m}'. {Usage}"),
                    },
                },
                "--device" => o with { Device = Next() },
                "--seed" => o with { Seed = ulong.Parse(Next(), CultureInfo.InvariantCulture) },
                "--out" => o with { Out = Next() },
                "--resume" => o with { Resume = true },
                "--help" or "-h" => throw new ArgumentException(Usage),
                _ => throw new ArgumentException($"unknown option '{args[i]}'. {Usage}"),
            };
        }
        if (o.Epochs < 1 || o.BatchSize < 1 || o.LearningRate <= 0)
            throw new ArgumentException($"epochs, batch size and learning rate must be positive. {Usage}");
        return o;
    }
}
