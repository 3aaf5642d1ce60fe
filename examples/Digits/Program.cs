// The main job: train a classifier on the UCI handwritten digits (1797 8×8 images) on the best device, with a live
// progress line, an atomic checkpoint per epoch (--resume continues exactly), then test accuracy, a confusion matrix,
// metrics.csv and loss/accuracy charts (PNG and SVG). Exits non-zero if the MLP ends below 95 % test accuracy. Options: --help.
using System.Diagnostics;
using DeepSharp;
using DeepSharp.Layers;
using DeepSharp.Optim;

if (Options.Parse(args, out int exitCode) is not { } o) return exitCode;

var device = o.Device is null ? Device.TryGpu() : Device.Parse(o.Device); // --device was checked while parsing
Console.WriteLine($"device: {device} — {Device.List().First(i => i.Device == device).Name}");
var data = DigitsData.Load(Path.Combine(AppContext.BaseDirectory, "data", "digits.csv.gz"));
var (trainRows, testRows) = data.Split();
Console.WriteLine(
    $"data: {data.Count} images (UCI digits, E. Alpaydin & C. Kaynak, CC BY 4.0); train {trainRows.Length}, test {testRows.Length}");

bool cnn = o.Model == "cnn";
Init.ManualSeed(o.Seed);
Block net = cnn
    ? new Sequential(new Conv2d(16, 3, padding: 1), new Relu(), new MaxPool2d(2), new Conv2d(32, 3, padding: 1), new Relu(),
        new MaxPool2d(2),
                     new Flatten(), new Dense(10))
    : new Sequential(new Dense(128), new Relu(), new Dense(10));
net.Materialize(cnn ? [1, 1, 8, 8] : [1, 64], device);
Console.WriteLine(net);

Directory.CreateDirectory(o.Out);
string ckpt = Path.Combine(o.Out, "checkpoint.ckpt");
var history = new List<(float Loss, float TrainAcc, float TestAcc)>();
int start = 0;
var opt = o.Optimizer.Make(net.Parameters(), o.LearningRate);
if (o.Resume && File.Exists(ckpt))
{
    RunState.Resume(ckpt, device, net, opt, history);
    start = history.Count;
}

float Accuracy(int[] rows)
{
    using var scope = TensorScope.Begin();
    using var _ = Autograd.NoGrad();
    net.Eval();
    var (x, y) = data.Batch(rows, cnn, device);
    float acc = Metrics.Accuracy(net.Call(x), y).Item();
    net.Train();
    return acc;
}

for (int epoch = start; epoch < o.Epochs; epoch++)
{
    // The shuffle depends only on (seed, epoch), so a resumed run sees exactly the batches an uninterrupted one would.
    var order = (int[])trainRows.Clone();
    new Random(unchecked((int)(o.Seed * 1_000_003UL + (ulong)epoch))).Shuffle(order); // not HashCode: it is randomized per process
    var clock = Stopwatch.StartNew();
    double lossSum = 0; int batches = (order.Length + o.BatchSize - 1) / o.BatchSize;
    for (int b = 0; b < batches; b++)
    {
        using var scope = TensorScope.Begin();
        var rows = order[(b * o.BatchSize)..Math.Min(order.Length, (b + 1) * o.BatchSize)];
        var (x, y) = data.Batch(rows, cnn, device);
        opt.ZeroGrad();
        var loss = Functional.CrossEntropy(net.Call(x), y);
        loss.Backward();
        opt.Step();
        lossSum += loss.Item();
        if (!Console.IsOutputRedirected && (b % 5 == 0 || b == batches - 1)) // a live bar on terminals; one line per epoch in logs
        {
            int filled = 30 * (b + 1) / batches;
            Console.Write($"\repoch {epoch + 1,3}/{o.Epochs} [{new string('#', filled)}{new string('.', 30 - filled)}] " +
                          $"loss {lossSum / (b + 1):F4}  " +
                          $"{(b + 1) * o.BatchSize / Math.Max(clock.Elapsed.TotalSeconds, 1e-9):F0} img/s");
        }
    }
    float trainAcc = Accuracy(trainRows), testAcc = Accuracy(testRows);
    history.Add(((float)(lossSum / batches), trainAcc, testAcc));
    if (Console.IsOutputRedirected)
        Console.Write($"epoch {epoch + 1,3}/{o.Epochs} loss {lossSum / batches:F4}  {order.Length / clock.Elapsed.TotalSeconds:F0} img/s");
    Console.WriteLine($"  train acc {trainAcc:P1}  test acc {testAcc:P1}");
    RunState.Save(ckpt, net, opt, history, args);
}

// Results: accuracy, confusion matrix, CSV, plot.
float final = Accuracy(testRows);
long[] confusion; // [true digit, predicted digit], row-major
using (Autograd.NoGrad())
{
    net.Eval();
    var (x, y) = data.Batch(testRows, cnn, device);
    confusion = Metrics.ConfusionMatrix(net.Call(x), y).ToArray<long>();
}
Console.WriteLine($"\ntest accuracy: {final:P2}\nconfusion matrix (rows: true digit, columns: predicted):");
Console.WriteLine("     " + string.Concat(Enumerable.Range(0, 10).Select(c => $"{c,4}")));
for (int r = 0; r < 10; r++)
    Console.WriteLine($"  {r}: " + string.Concat(Enumerable.Range(0, 10).Select(c => $"{confusion[r * 10 + c],4}")));
RunState.WriteMetrics(o.Out, history, ckpt);
if (device != Device.Cpu)
{
    var st = device.Stats;
    Console.WriteLine(
        $"{device}: {st.KernelLaunches} kernel launches, {st.KernelsCompiled} kernels compiled in " +
        $"{st.CompileTime.TotalMilliseconds:F0} ms, peak {st.PeakBytesInUse / 1048576.0:F1} MiB in use, " +
        $"{(DateTime.Now - Process.GetCurrentProcess().StartTime).TotalSeconds:F1} s since the process started");
}
if (!cnn && final < 0.95f) { Console.Error.WriteLine($"FAILED: the MLP should reach 95 % test accuracy, got {final:P2}"); return 1; }
return 0;
