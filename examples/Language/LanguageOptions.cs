using System.CommandLine;

/// <summary>Command-line options of the language-model app (all optional; <c>--help</c> lists them with their defaults).</summary>
public sealed record LanguageOptions(string Model, int Layers, int Hidden, int Heads, float Dropout, int Steps, int BatchSize,
    int Epochs, float LearningRate, bool Cosine, float Clip, OptimizerChoice Optimizer, string Sampling, string? Device, ulong Seed,
    string Out, bool Resume, string? Text, string Prefix, int Predict, int Subset, float MaxPerplexity, int Threads,
    string Autocast = "none")
{
    /// <summary>The models <c>--model</c> offers.</summary>
    public static readonly string[] Models = ["rnn", "gru", "lstm", "transformer"];

    /// <summary>The model the options describe, over <paramref name="vocabSize"/> tokens.</summary>
    public LanguageModel Build(int vocabSize) => Model == "transformer"
        ? new TransformerLm(vocabSize, Hidden, Heads, Layers, Dropout, Steps)
        : new RecurrentLm(Model, vocabSize, Hidden, Layers, Dropout);

    /// <summary>Parses <paramref name="args"/>: the options, or null with the exit code when the app should stop (0 after
    /// <c>--help</c>, 2 after a bad command line, explained on one line of standard error).</summary>
    public static LanguageOptions? Parse(string[] args, out int exitCode)
    {
        var model = Cli.Choice("--model", "lstm", Models,
            "the network: the book's RNN (§9.6), GRU (§10.2) or LSTM (§10.1), or a causal transformer");
        var layers = Cli.Int("--layers", 1, 1, "stacked recurrent or transformer layers (transformer: 2 unless given)");
        var hidden = Cli.Int("--hidden", 256, 1, "hidden units per layer, the transformer's width (transformer: 128 unless given)");
        var heads = Cli.Int("--heads", 4, 1, "the transformer's attention heads (they must divide --hidden)");
        var dropout = Cli.Number("--dropout", 0f, v => v is >= 0 and < 1, "a number in [0, 1)",
            "dropout between recurrent layers, or in the transformer (a resumed run then draws other masks)", "X");
        var steps = Cli.Int("--steps", 35, 1, "time steps per subsequence (tokens back-propagated through)");
        var batchSize = Cli.Int("--batch-size", 32, 1, "subsequences per step");
        var epochs = Cli.Int("--epochs", 500, 1, "passes over the text (the book's count)");
        var lr = Cli.Positive("--lr", 1f, "the learning rate, the book's for its RNN, GRU and LSTM (transformer: 0.003 unless given)");
        var cosine = Cli.Flag("--cosine", "the learning rate falls from --lr to 0 along a half cosine over the run");
        var clip = Cli.Positive("--clip", 1f, "clip the gradients' global L2 norm to this (the book's grad_clipping)");
        var optimizer = OptimizerChoice.Options.Create();
        optimizer.Name.Description += " (transformer: adam unless given)";
        var sampling = Cli.Choice("--sampling", "sequential", ["sequential", "random"],
            "sequential partitioning carries the state across batches; random sampling starts each batch afresh (§9.3)");
        var device = Cli.Device();
        var seed = Cli.Number("--seed", 0UL, _ => true, "a whole number ≥ 0", "seeds the weights and the batches' offsets");
        var output = Cli.Text("--out", Path.Combine("runs", "language"), "where the checkpoint, metrics.csv and the charts go", "DIR");
        var resume = Cli.Flag("--resume", "continue from DIR/checkpoint.ckpt (ends exactly where an uninterrupted run ends)");
        var text = Cli.ExistingFile("--text",
            "train on this text file (UTF-8; letters only, lower case) [default: The Time Machine, H. G. Wells]");
        var prefix = Cli.Text("--prefix", "time traveller", "the text that starts the generated sample", "TEXT");
        prefix.Validators.Add(r =>
        {
            if (r.Tokens.Count == 0) return;
            string value = r.Tokens[^1].Value;
            if (DeepSharp.Data.Text.LettersOnly(value).Length == 0) r.AddError($"--prefix must hold a letter, got '{value}'.");
        });
        var predict = Cli.Int("--predict", 50, 0, "characters to generate after the prefix");
        var subset = Cli.Int("--subset", 10_000, 0, "train on the first N characters of the text (the book's max_tokens; 0: all)");
        var maxPerplexity = Cli.Number("--max-perplexity", 0f, v => v == 0 || v >= 1 && float.IsFinite(v), "0 or a number ≥ 1",
            "exit with code 1 when the last epoch's perplexity ends above it (0: no check)", "X");
        var threads = Cli.Int("--threads", 0, 0, "CPU threads (0: every core)");
        var autocast = Precision.Option();
        var root = new RootCommand("Trains the book's character-level language model (Dive into Deep Learning §9.5–§10.2) on " +
            "The Time Machine or your own text, with a checkpoint per epoch, then prints text generated from --prefix and writes " +
            "metrics.csv, metrics.png and metrics.svg.")
        {
            model, layers, hidden, heads, dropout, steps, batchSize, epochs, lr, cosine, clip, optimizer.Name, optimizer.Momentum,
            optimizer.WeightDecay, sampling, device, seed, output, resume, text, prefix, predict, subset, maxPerplexity, threads,
            autocast,
        };
        if (Cli.Parse(root, args, out var r) is { } code)
        {
            exitCode = code;
            return null;
        }
        string name = r.GetValue(model)!;
        bool transformer = name == "transformer";
        // The transformer's own defaults, where the command line leaves them (Adam: it barely moves with SGD at lr 1).
        T Pick<T>(Option<T> option, T forTransformer) => transformer && r.GetResult(option) is not { Implicit: false }
            ? forTransformer : r.GetValue(option)!;
        var optimizerChoice = optimizer.Read(r);
        if (transformer && r.GetResult(optimizer.Name) is not { Implicit: false })
            optimizerChoice = optimizerChoice with { Name = "adam" };
        if (transformer && Pick(hidden, 128) % r.GetValue(heads) != 0)
        {
            Console.Error.WriteLine($"{root.Name}: --heads {r.GetValue(heads)} must divide --hidden {Pick(hidden, 128)} " +
                "(--help lists the options)");
            exitCode = 2;
            return null;
        }
        exitCode = 0;
        return new LanguageOptions(name, Pick(layers, 2), Pick(hidden, 128), r.GetValue(heads), r.GetValue(dropout), r.GetValue(steps),
            r.GetValue(batchSize), r.GetValue(epochs), Pick(lr, 3e-3f), r.GetValue(cosine), r.GetValue(clip), optimizerChoice,
            r.GetValue(sampling)!, r.GetValue(device), r.GetValue(seed), r.GetValue(output)!, r.GetValue(resume), r.GetValue(text),
            r.GetValue(prefix)!, r.GetValue(predict), r.GetValue(subset), r.GetValue(maxPerplexity), r.GetValue(threads),
            r.GetValue(autocast)!);
    }
}
