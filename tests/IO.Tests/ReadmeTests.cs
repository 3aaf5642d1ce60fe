using DeepSharp.Data;
using DeepSharp.IO;
using DeepSharp.Layers;
using DeepSharp.Optim;

namespace DeepSharp.IO.Tests;

/// <summary>The README's file tour, run as written (inside a temporary folder).</summary>
public class ReadmeTests
{
    [Fact]
    public void FileTourRuns()
    {
        using var dir = new TempDir();
        var old = Environment.CurrentDirectory;
        Environment.CurrentDirectory = dir.Path;
        try
        {
            var x = Tensor.Arange(4);
            var net = new Sequential(new Dense(256), new Relu(), new Dense(10));
            net.Call(Tensor.Rand([2, 20]));
            Checkpoint.Save("x-file", x);
            var x2 = Checkpoint.LoadTensor("x-file", device: Device.Cpu);
            Assert.Equal(x.ToArray<float>(), x2.ToArray<float>());
            net.Save("mlp.params");
            var clone = new Sequential(new Dense(256), new Relu(), new Dense(10));
            clone.Load("mlp.params");
            net.SaveSafeTensors("mlp.safetensors");
            var fromSt = new Sequential(new Dense(256), new Relu(), new Dense(10));
            fromSt.LoadSafeTensors("mlp.safetensors");
            var input = Tensor.Rand([3, 20]);
            Assert.Equal(net.Call(input).ToArray<float>(), clone.Call(input).ToArray<float>());
            Assert.Equal(net.Call(input).ToArray<float>(), fromSt.Call(input).ToArray<float>());
        }
        finally { Environment.CurrentDirectory = old; }
    }

    /// <summary>The README's CNN on your own IDX files, as written (on 64 generated images, one epoch, the CPU): it runs and
    /// learns (the loss of a second pass is below the first's).</summary>
    [Fact]
    public void CnnOnIdxFilesRuns()
    {
        using var dir = new TempDir();
        var old = Environment.CurrentDirectory;
        Environment.CurrentDirectory = dir.Path;
        try
        {
            var rng = new Random(3);
            var labels = Enumerable.Range(0, 64).Select(i => (byte)(i % 10)).ToArray();
            // Each class is a bright square at its own place: learnable in a few steps.
            var pixels = new byte[64 * 28 * 28];
            for (int i = 0; i < 64; i++)
                for (int r = 0; r < 6; r++)
                    for (int c = 0; c < 6; c++)
                        pixels[i * 784 + (2 + r + labels[i] % 3 * 8) * 28 + 2 + c + labels[i] / 3 * 6] = (byte)rng.Next(200, 256);
            Data.Idx.Write("train-images.gz", [64, 28, 28], pixels, gzip: true);
            Data.Idx.Write("train-labels.gz", [64], labels, gzip: true);

            var train = new Data.TensorDataset(Data.Idx.ReadImages("train-images.gz"), Data.Idx.ReadLabels("train-labels.gz", classes: 10));
            var loader = new Data.DataLoader(train, batchSize: 16, shuffle: true, seed: 0, device: Device.Cpu);
            var net = new Sequential(new Conv2d(32, 3, padding: 1), new BatchNorm2d(32), new Relu(), new MaxPool2d(2),
                new Conv2d(64, 3, padding: 1), new BatchNorm2d(64), new Relu(), new AdaptiveAvgPool2d(1), new Flatten(), new Dense(10));
            var opt = new Optim.Sgd(net.Parameters(), lr: 0.1f);
            var losses = new List<float>();
            for (int epoch = 0; epoch < 3; epoch++)
            {
                float sum = 0;
                foreach (var batch in loader)
                {
                    using var scope = TensorScope.Begin();
                    opt.ZeroGrad();
                    var loss = Functional.CrossEntropy(net.Call(batch.Features), batch.Labels);
                    loss.Backward();
                    opt.Step();
                    sum += loss.Item();
                }
                losses.Add(sum);
            }
            Assert.True(losses[^1] < losses[0], $"the loss should fall: {string.Join(", ", losses)}");
        }
        finally { Environment.CurrentDirectory = old; }
    }

    /// <summary>The README's text example, as written (the file from the test's copy of examples/Shared/data): its counts
    /// and every batch's shape and shift.</summary>
    [Fact]
    public void TextExampleRuns()
    {
        var lines = Text.ReadLettersOnly(Path.Combine(AppContext.BaseDirectory, "data", "timemachine.txt"));
        var tokens = Text.Tokenize(lines, TokenKind.Char);
        var vocab = new Vocab(tokens);
        int[] corpus = vocab.Encode(tokens.SelectMany(line => line));
        var batches = new SequenceBatches(corpus, batchSize: 32, numSteps: 35, SequenceSampling.Sequential, seed: 0);
        Assert.Equal(28, vocab.Count);
        Assert.Equal(170_580, corpus.Length);
        int n = 0;
        foreach (var (x, y) in batches)
            using (x) using (y)
            {
                Assert.Equal([32, 35], x.Shape);
                Assert.Equal(x.ToArray<long>()[1..35], y.ToArray<long>()[..34]);
                n++;
            }
        Assert.Equal(batches.CountOf(0), n);
        Assert.Equal(152, n); // ⌊(170,580 − offset − 1) / 32⌋ / 35 for every offset in [0, 35]
    }

    /// <summary>The README's language model on your own text, as written but for the count of epochs (3, on the first 200 lines
    /// of The Time Machine, the CPU): it runs and learns (the last epoch's mean loss is below the first's).</summary>
    [Fact]
    public void LanguageModelOnYourTextRuns()
    {
        using var dir = new TempDir();
        var old = Environment.CurrentDirectory;
        Environment.CurrentDirectory = dir.Path;
        try
        {
            File.WriteAllLines("my-text.txt", File.ReadLines(Path.Combine(AppContext.BaseDirectory, "data", "timemachine.txt")).Take(200));
            var losses = new List<float>();
            var tokens = Text.Tokenize(Text.ReadLettersOnly("my-text.txt"), TokenKind.Char);
            var vocab = new Vocab(tokens);
            var batches = new SequenceBatches(vocab.Encode(tokens.SelectMany(line => line)), batchSize: 32, numSteps: 35);
            var lstm = new Lstm(vocab.Count, 256);
            var output = new Dense(vocab.Count, 256);
            IParameter[] parameters = [.. lstm.Parameters(), .. output.Parameters()];
            var opt = new Sgd(parameters, lr: 1f);
            for (int epoch = 0; epoch < 3; epoch++)
            {
                float sum = 0, n = 0;
                foreach (var (x, y) in batches)                    // x, y: [32, 35] int64; y is x one character later
                    using (x) using (y) using (TensorScope.Begin())
                    {
                        var (h, _) = lstm.Call((Functional.OneHot(x.T, vocab.Count), null)); // [35, 32, vocab] → [35, 32, 256]
                        var loss = Functional.CrossEntropy(output.Call(h.Reshape(-1, 256)), y.T.Reshape(-1));
                        opt.ZeroGrad();
                        loss.Backward();
                        ClipGrad.Norm(parameters, maxNorm: 1f);
                        opt.Step();
                        sum += loss.Item();
                        n++;
                    }
                losses.Add(sum / n);
            }
            Assert.True(losses[^1] < losses[0] - 0.1f, $"the loss should fall: {string.Join(", ", losses)}");
        }
        finally { Environment.CurrentDirectory = old; }
    }
}

[CollectionDefinition(nameof(ReadmeResumeTests), DisableParallelization = true)]
[Collection(nameof(ReadmeResumeTests))]
public class ReadmeResumeTests
{
    /// <summary>The README's saving-and-resuming loop, as written (the CPU, a tiny batch set): a run stopped after 4 epochs
    /// and restarted ends with the same weights, bit for bit, as one that ran all 10 epochs.</summary>
    [Fact]
    public void ResumeLoopRuns()
    {
        using var dir = new TempDir();
        var old = Environment.CurrentDirectory;
        Environment.CurrentDirectory = dir.Path;
        try
        {
            var g = new Generator(5);
            var features = Tensor.Randn([12, 6], generator: g);
            var batches = new[] { (features.Slice(0, 0, 6), features.Slice(0, 0, 6).Slice(1, 0, 3).ArgMax(1)),
                (features.Slice(0, 6, 12), features.Slice(0, 6, 12).Slice(1, 0, 3).ArgMax(1)) };
            Init.ManualSeed(3);
            float[] Run(int stopAfter)
            {
                var net = new Sequential(new Dense(64), new Relu(), new Dense(10));
                var opt = new Optim.AdamW(net.Parameters(), lr: 1e-3f);
                var sched = new Optim.CosineAnnealingLR(opt, tMax: 10);
                if (File.Exists("run.ckpt")) net.Load("run.ckpt", opt, sched);   // resume where the last run stopped
                for (int epoch = sched.LastEpoch; epoch < 10; epoch++)
                {
                    foreach (var (x, y) in batches)
                    {
                        using var scope = TensorScope.Begin();
                        opt.ZeroGrad();
                        Functional.CrossEntropy(net.Call(x), y).Backward();
                        opt.Step();
                    }
                    sched.Step();
                    net.Save("run.ckpt", opt, sched);                              // atomic: a crash mid-save keeps the last file
                    if (epoch + 1 == stopAfter) break;                            // (the test's interruption)
                }
                return net.StateDict().Values.SelectMany(t => t.ToArray<float>()).ToArray();
            }
            var whole = Run(10);
            File.Delete("run.ckpt");
            Init.ManualSeed(3);
            Run(4);
            Assert.Equal(whole, Run(10));
        }
        finally { Environment.CurrentDirectory = old; }
    }
}
