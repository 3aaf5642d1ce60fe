using System.Diagnostics;
using DeepSharp.Data;
using DeepSharp.Layers;
using DeepSharp.Optim;

/// <summary>
/// The Fashion-MNIST training job shared by the LeNet, BatchNorm and ResNet apps: the data from Debian's
/// <c>dataset-fashion-mnist</c> (or <c>--data</c>), batches from a <see cref="DataLoader"/> prepared in the background,
/// a live progress line, an atomic checkpoint per epoch (<c>--resume</c> continues exactly), then test accuracy per class,
/// <c>metrics.csv</c> and <c>metrics.png</c>.
/// </summary>
public static class Trainer
{
    /// <summary>Runs the job for the model <paramref name="build"/> makes; returns the process exit code.</summary>
    public static int Run(string app, string[] args, VisionOptions defaults, Func<VisionOptions, Block> build,
        ITransform? trainTransform = null)
    {
        var clock = Stopwatch.StartNew();
        VisionOptions o;
        try { o = VisionOptions.Parse(app, args, defaults); }
        catch (Exception e) when (e is ArgumentException or FormatException or OverflowException)
        {
            Console.Error.WriteLine(e.Message);
            return 2;
        }
        if (o.Threads > 0) Device.CpuThreads = o.Threads;
        var device = o.Device is null ? Device.TryGpu() : Device.Parse(o.Device);
        if (!device.IsAvailable)
        {
            Console.Error.WriteLine($"--device {device}: this machine has no such device. What it has:\n{Device.Describe()}");
            return 2;
        }
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
        if (o.Resume && File.Exists(ckpt)) RunState.Resume(ckpt, device, net, history);
        var opt = new Sgd(net.Parameters(), lr: o.LearningRate);
        var trainLoader = new DataLoader(train, o.BatchSize, shuffle: true, seed: o.Seed, transform: trainTransform, device: device);
        var testLoader = new DataLoader(test, 1000, device: device);

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
                var logits = net.Call(x);
                var loss = Functional.CrossEntropy(logits, y);
                loss.Backward();
                opt.Step();
                lossSum += loss.Item();
                correct += Correct(logits, y);
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
            float testAcc = Evaluate(net, testLoader, null);
            history.Add(((float)(lossSum / Math.Max(b, 1)), trainAcc, testAcc));
            if (Console.IsOutputRedirected)
                Console.Write($"epoch {epoch + 1,3}/{o.Epochs} loss {lossSum / Math.Max(b, 1):F4}  " +
                    $"{seen / epochClock.Elapsed.TotalSeconds:F0} img/s");
            Console.WriteLine($"  train acc {trainAcc:P1}  test acc {testAcc:P1}  ({epochClock.Elapsed.TotalSeconds:F1} s)");
            RunState.Save(ckpt, net, history, args);
        }

        var perClass = new long[10, 2];
        float final = Evaluate(net, testLoader, perClass);
        Console.WriteLine($"\ntest accuracy: {final:P2}");
        for (int c = 0; c < 10; c++)
            Console.WriteLine($"  {FashionMnist.Classes[c],-12} {(double)perClass[c, 0] / Math.Max(perClass[c, 1], 1),7:P1}");
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

    private static long Correct(Tensor logits, Tensor labels)
    {
        using var _ = Autograd.NoGrad();
        return (long)logits.ArgMax(1).To(DType.Float32).Eq(labels.To(DType.Float32)).Sum().Item();
    }

    /// <summary>Test accuracy in evaluation mode (batch norm uses its running statistics); per class when
    /// <paramref name="perClass"/> is given ([class, 0] correct, [class, 1] seen).</summary>
    private static float Evaluate(Block net, DataLoader loader, long[,]? perClass)
    {
        net.Eval();
        long correct = 0, seen = 0;
        using (Autograd.NoGrad())
            foreach (var batch in loader)
            {
                using var scope = TensorScope.Begin();
                using var _ = batch;
                var pred = net.Call(batch.Features).ArgMax(1);
                correct += (long)pred.To(DType.Float32).Eq(batch.Labels.To(DType.Float32)).Sum().Item();
                seen += batch.Size;
                if (perClass is null) continue;
                var p = pred.ToArray<long>();
                var t = batch.Labels.ToArray<long>();
                for (int i = 0; i < p.Length; i++)
                {
                    perClass[t[i], 1]++;
                    if (p[i] == t[i]) perClass[t[i], 0]++;
                }
            }
        net.Train();
        return (float)correct / Math.Max(seen, 1);
    }
}
