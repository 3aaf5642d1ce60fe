using System.Diagnostics;
using DeepSharp.Data;
using DeepSharp.Layers;
using DeepSharp.Optim;

/// <summary>
/// The Fashion-MNIST training job shared by the LeNet, BatchNorm and ResNet apps: the data from Debian's
/// <c>dataset-fashion-mnist</c> (or <c>--data</c>), batches from a <see cref="DataLoader"/> prepared in the background,
/// a live progress line, an atomic checkpoint per epoch (<c>--resume</c> continues exactly), then test accuracy per class,
/// <c>metrics.csv</c> and the charts <c>metrics.png</c> and <c>metrics.svg</c>.
/// </summary>
public static class Trainer
{
    /// <summary>Runs the job for the model <paramref name="build"/> makes; returns the process exit code.</summary>
    public static int Run(string app, string[] args, VisionOptions defaults, Func<VisionOptions, Block> build,
        ITransform? trainTransform = null)
    {
        var clock = Stopwatch.StartNew();
        if (VisionOptions.Parse(app, args, defaults, out int exitCode) is not { } o) return exitCode;
        if (o.Threads > 0) Device.CpuThreads = o.Threads;
        var device = o.Device is null ? Device.TryGpu() : Device.Parse(o.Device); // --device was checked while parsing
        Console.WriteLine($"device: {device} — {Device.List().First(i => i.Device == device).Name}" +
            (device == Device.Cpu ? $", {Device.CpuThreads} threads" : ""));

        TensorDataset train, test;
        try
        {
            train = FashionMnist.Load(train: true, o.Data);
            test = FashionMnist.Load(train: false, o.Data);
        }
        catch (FileNotFoundException e)
        {
            Console.Error.WriteLine(e.Message);
            return 2;
        }
        if (o.Subset > 0)
        {
            train = train.Subset([.. Enumerable.Range(0, Math.Min(o.Subset, train.Count))]);
            test = test.Subset([.. Enumerable.Range(0, Math.Min(Math.Max(o.Subset / 6, 1), test.Count))]);
        }
        Console.WriteLine($"data: Fashion-MNIST (Zalando Research, MIT licence): train {train.Count}, test {test.Count} images of " +
            $"{string.Join('×', train.FeatureShape)}");

        Init.ManualSeed(o.Seed);
        var net = build(o);
        net.Materialize([1, .. train.FeatureShape], device);
        Console.WriteLine(net);
        Console.WriteLine($"options: {string.Join(' ', args)}");
        Console.WriteLine($"{net.Parameters().Sum(p => (long)p.Data.Count):N0} parameters");

        Directory.CreateDirectory(o.Out);
        string ckpt = Path.Combine(o.Out, "checkpoint.ckpt");
        var history = new List<(float Loss, float TrainAcc, float TestAcc)>();
        var opt = (o.Optimizer ?? new OptimizerChoice("sgd", 0, 0)).Make(net.Parameters(), o.LearningRate);
        var precision = new Precision(o.Autocast);
        if (o.Resume && File.Exists(ckpt)) RunState.Resume(ckpt, device, net, opt, history, precision.Scaler);
        var trainLoader = new DataLoader(train, o.BatchSize, shuffle: true, seed: o.Seed, transform: trainTransform, device: device);
        var testLoader = new DataLoader(test, 256, device: device); // an evaluation keeps a batch's activations until it ends

        for (int epoch = history.Count; epoch < o.Epochs; epoch++)
        {
            trainLoader.Epoch = epoch; // the shuffle depends on (seed, epoch): a resumed run sees the same batches
            var epochClock = Stopwatch.StartNew();
            double lossSum = 0;
            long correct = 0, seen = 0;
            int b = 0, batches = trainLoader.Count;
            net.Train();
            foreach (var batch in trainLoader)
            {
                using var scope = TensorScope.Begin();
                using var _ = batch;
                var (x, y) = batch;
                // A function of the position in the run only, so --resume continues the same schedule.
                if (o.Cosine)
                    opt.LearningRate = o.LearningRate * 0.5f * (1 + MathF.Cos(MathF.PI * (epoch + (float)b / batches) / o.Epochs)) + 1e-6f;
                opt.ZeroGrad();
                Tensor logits, loss;
                using (precision.Scope())
                {
                    logits = net.Call(x);
                    loss = Functional.CrossEntropy(logits, y);
                }
                precision.BackwardAndStep(loss, opt);
                lossSum += loss.Item();
                correct += (long)Metrics.Accuracy(logits, y, reduction: Reduction.Sum).Item();
                seen += batch.Size;
                b++;
                if (!Console.IsOutputRedirected && (b % 10 == 0 || b == batches)) // a live bar on terminals; one line per epoch in logs
                {
                    int filled = 30 * b / batches;
                    Console.Write($"\repoch {epoch + 1,3}/{o.Epochs} [{new string('#', filled)}{new string('.', 30 - filled)}] " +
                        $"loss {lossSum / b:F4}  {seen / Math.Max(epochClock.Elapsed.TotalSeconds, 1e-9):F0} img/s");
                }
            }
            float trainAcc = (float)correct / Math.Max(seen, 1);
            float testAcc = Accuracy(Evaluate(net, testLoader, precision));
            history.Add(((float)(lossSum / Math.Max(b, 1)), trainAcc, testAcc));
            if (Console.IsOutputRedirected)
                Console.Write($"epoch {epoch + 1,3}/{o.Epochs} loss {lossSum / Math.Max(b, 1):F4}  " +
                    $"{seen / epochClock.Elapsed.TotalSeconds:F0} img/s");
            Console.WriteLine($"  train acc {trainAcc:P1}  test acc {testAcc:P1}  ({epochClock.Elapsed.TotalSeconds:F1} s)");
            RunState.Save(ckpt, net, opt, history, args, precision.Scaler);
        }

        var confusion = Evaluate(net, testLoader, precision);
        float final = Accuracy(confusion);
        Console.WriteLine($"\ntest accuracy: {final:P2}");
        for (int c = 0; c < 10; c++)
        {
            long seenOfClass = Enumerable.Range(0, 10).Sum(p => confusion[c * 10 + p]);
            Console.WriteLine($"  {FashionMnist.Classes[c],-12} {(double)confusion[c * 10 + c] / Math.Max(seenOfClass, 1),7:P1}");
        }
        RunState.WriteMetrics(o.Out, history, ckpt);
        if (device != Device.Cpu)
        {
            var st = device.Stats;
            Console.WriteLine($"{device}: {st.KernelLaunches} kernel launches, {st.KernelsCompiled} kernels compiled in " +
                $"{st.CompileTime.TotalMilliseconds:F0} ms, peak {st.PeakBytesInUse / 1048576.0:F1} MiB in use");
        }
        double total = (DateTime.Now - Process.GetCurrentProcess().StartTime).TotalSeconds;
        Console.WriteLine($"{total:F1} s for the whole process ({clock.Elapsed.TotalSeconds:F1} s in the job)");
        if (final < o.MinAccuracy)
        {
            Console.Error.WriteLine($"FAILED: test accuracy {final:P2} is below --min-accuracy {o.MinAccuracy:P0}");
            return 1;
        }
        return 0;
    }

    /// <summary>The test set's confusion matrix ([true class, predicted class], row-major) in evaluation mode (batch norm
    /// uses its running statistics).</summary>
    private static long[] Evaluate(Block net, DataLoader loader, Precision precision)
    {
        net.Eval();
        var confusion = new long[10 * 10];
        using (Autograd.NoGrad())
            foreach (var batch in loader)
            {
                using var scope = TensorScope.Begin();
                using var _ = batch;
                Tensor logits;
                using (precision.Scope()) logits = net.Call(batch.Features);
                var counts = Metrics.ConfusionMatrix(logits, batch.Labels, 10).ToArray<long>();
                for (int i = 0; i < counts.Length; i++) confusion[i] += counts[i];
            }
        net.Train();
        return confusion;
    }

    /// <summary>The fraction of a confusion matrix on its diagonal.</summary>
    private static float Accuracy(long[] confusion) =>
        (float)Enumerable.Range(0, 10).Sum(c => confusion[c * 10 + c]) / Math.Max(confusion.Sum(), 1);
}
