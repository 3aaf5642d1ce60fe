// The book's character-level language model (Dive into Deep Learning §9.5–§10.2): The Time Machine's first 10,000
// characters (or --text, --subset), letters only, one token per character, 35 time steps, batches of 32, an RNN, GRU or
// LSTM of 256 hidden units on one-hot inputs, SGD with the gradients clipped to norm 1. A live progress line, an atomic
// checkpoint per epoch (--resume continues exactly), perplexity and tokens/s per epoch, then greedy text from --prefix,
// metrics.csv and a perplexity chart. --model transformer: a small causal transformer instead (TransformerLm.cs). Exits
// non-zero when the perplexity ends above --max-perplexity. Options: --help.
using System.Diagnostics;
using System.Globalization;
using DeepSharp.Data;
using DeepSharp.Layers;

if (LanguageOptions.Parse(args, out int exitCode) is not { } o) return exitCode;
var clock = Stopwatch.StartNew();
if (o.Threads > 0) Device.CpuThreads = o.Threads;
var device = o.Device is null ? Device.TryGpu() : Device.Parse(o.Device); // --device was checked while parsing
string textPath = o.Text ?? Path.Combine(AppContext.BaseDirectory, "data", "timemachine.txt");
var tokens = Text.Tokenize(Text.ReadLettersOnly(textPath), TokenKind.Char);
var vocab = new Vocab(tokens);
int[] corpus = vocab.Encode(tokens.SelectMany(line => line));
if (o.Subset > 0) corpus = corpus[..Math.Min(o.Subset, corpus.Length)];
SequenceBatches batches;
try
{
    batches = new SequenceBatches(corpus, o.BatchSize, o.Steps,
        o.Sampling == "random" ? SequenceSampling.Random : SequenceSampling.Sequential, o.Seed, device);
}
catch (ArgumentOutOfRangeException e)
{
    Console.Error.WriteLine($"Language: {e.Message.Split(" (Parameter")[0]} Use a longer text or a smaller --batch-size or --steps.");
    return 2;
}

Console.WriteLine($"device: {device} — {Device.List().First(i => i.Device == device).Name}" +
    (device == Device.Cpu ? $", {Device.CpuThreads} threads" : ""));
Console.WriteLine($"data: {(o.Text is null ? "The Time Machine (H. G. Wells, 1895, public domain)" : o.Text)}: " +
    $"{corpus.Length:N0} characters, {vocab.Count} tokens");

Init.ManualSeed(o.Seed);
var net = o.Build(vocab.Count);
using (TensorScope.Begin()) net.Materialize((Tensor.Zeros([1, 1], DType.Int64, device), null)); // one token: the weights' data
Console.WriteLine(net);
Console.WriteLine($"options: {string.Join(' ', args)}");
Console.WriteLine($"{net.Parameters().Sum(p => (long)p.Data.Count):N0} parameters, {batches.CountOf(0)} batches per epoch");

Directory.CreateDirectory(o.Out);
string ckpt = Path.Combine(o.Out, "checkpoint.ckpt");
var opt = o.Optimizer.Make(net.Parameters(), o.LearningRate);
var history = new List<float>(); // mean cross-entropy per token, per epoch
var precision = new Precision(o.Autocast);
if (o.Resume && File.Exists(ckpt)) history.AddRange(RunState.Resume(ckpt, device, net, opt, columns: 1, precision.Scaler));
for (int epoch = history.Count; epoch < o.Epochs; epoch++)
{
    batches.Epoch = epoch; // the offsets depend on (seed, epoch): a resumed run sees the same batches
    var epochClock = Stopwatch.StartNew();
    int e = epoch; // a function of the position in the run only, so --resume continues the same schedule
    Func<float, float>? rate = o.Cosine ? done => o.LearningRate * 0.5f * (1 + MathF.Cos(MathF.PI * (e + done) / o.Epochs)) + 1e-6f : null;
    var (loss, tokensPerSecond) = Epoch.Run(net, opt, batches, o.Clip, $"epoch {epoch + 1,3}/{o.Epochs}", precision, rate);
    history.Add((float)loss);
    if (Console.IsOutputRedirected) // a terminal shows the finished bar instead
        Console.Write($"epoch {epoch + 1,3}/{o.Epochs} perplexity {Math.Exp(loss):F3}  {tokensPerSecond:F0} tokens/s");
    Console.WriteLine($"  ({epochClock.Elapsed.TotalSeconds:F1} s)");
    RunState.Save(ckpt, net, opt, [.. history], args, precision.Scaler);
}

string prefix = Text.LettersOnly(o.Prefix);
var generated = net.Predict(vocab.Encode(Text.Tokenize([prefix], TokenKind.Char)[0]), o.Predict, o.Steps, device);
Console.WriteLine($"\n{string.Concat(vocab.Decode(generated))}\n");
double final = history.Count == 0 ? double.NaN : Metrics.Perplexity(history[^1]);
Console.WriteLine($"perplexity: {final:F3} after {history.Count} epochs" +
    (history.Count > 1 ? $" (epoch 1: {Metrics.Perplexity(history[0]):F3})" : ""));

string csv = Path.Combine(o.Out, "metrics.csv");
File.WriteAllLines(csv, ["epoch,loss,perplexity", .. history.Select((h, i) =>
    string.Create(CultureInfo.InvariantCulture, $"{i + 1},{h:F6},{Metrics.Perplexity(h):F6}"))]);
var (png, svg) = Charts.Write(Path.Combine(o.Out, "metrics"), [ChartPanel.Perplexity([.. history.Select(h => (double)h)])]);
Console.WriteLine($"wrote {csv}, {png}, {svg} and {ckpt}");
if (device != Device.Cpu)
{
    var st = device.Stats;
    Console.WriteLine($"{device}: {st.KernelLaunches} kernel launches, {st.KernelsCompiled} kernels compiled in " +
        $"{st.CompileTime.TotalMilliseconds:F0} ms, peak {st.PeakBytesInUse / 1048576.0:F1} MiB in use");
}
double total = (DateTime.Now - Process.GetCurrentProcess().StartTime).TotalSeconds;
Console.WriteLine($"{total:F1} s for the whole process ({clock.Elapsed.TotalSeconds:F1} s in the job)");
if (o.MaxPerplexity > 0 && !(final <= o.MaxPerplexity))
{
    Console.Error.WriteLine($"FAILED: perplexity {final:F3} is above --max-perplexity {o.MaxPerplexity:F3}");
    return 1;
}
return 0;
