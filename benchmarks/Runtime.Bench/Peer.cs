using DeepSharp;
using DeepSharp.Backends.Cpu;
using DeepSharp.IO;
using DeepSharp.Layers;
using static Harness;

/// <summary>One side of the CPU comparison: each method builds a workload's inputs and returns one run of it.</summary>
interface ICpuSide
{
    string Name { get; }
    void SetThreads(int threads);
    Action Gemm(int n);
    Action Unary(string op, int n);   // relu or exp, output allocated
    Action Add(int n);
    Action MlpForward(int batch);     // 20-256-10 written with tensors: x·W1 + b1, relu, ·W2 + b2
    Action MlpStep(int batch);        // zero grads, forward, cross-entropy, backward, SGD
    Action BlockForward(int batch);   // the same MLP as Sequential(Linear, ReLU, Linear)
    Action BlockStep(int batch);
    Action ConvStep();                // Conv2d 3→32 k3 p1 on [32, 3, 32, 32], forward + backward
    Action CnnStep();                 // the main job's CNN (examples/Digits --model cnn) on a batch of 32 8×8 images, SGD
    Action LeNetStep(bool batchNorm); // examples/LeNet (§7.6) or examples/BatchNorm (§8.5) on [256, 1, 28, 28], SGD
    Action ResNetStep();              // ResNet-18 with a 3×3 stem (examples/ResNet) on [32, 1, 28, 28], SGD
    (Action Save, Action Load) Checkpoint(string dir);  // a 784-1024-1024-10 MLP's parameters to a file and back
    Action LstmStep();                // d2l's LSTM language model (§9.5/§10.1) on one batch: one-hot, LSTM(256), Linear, clip, SGD
    Action? TransformerStep();        // Embedding(1000, 128), 2 encoder layers (4 heads, FFN 512), Linear, Adam (null: not built)
}

/// <summary>`peer`: the CPU workloads of issue 7, ours and libtorch's (through TorchSharp) in the same process, each pair
/// timed back to back with the same thread count (`peer TEXT`: only the rows whose name contains TEXT). The peer exists
/// only in a build with -p:TorchPeer=true (benchmarks/cpu-peer.sh builds it and supplies the libstdc++ that libtorch 2.10
/// needs on Debian 12).</summary>
static class Peer
{
    public static void Run(string? filter)
    {
#if TORCH_PEER
        Compare(new OursSide(), new TorchSide(), filter);
#else
        Console.WriteLine("\nThe libtorch peer is not in this build: run benchmarks/cpu-peer.sh (it builds with -p:TorchPeer=true).");
#endif
    }

    static void Compare(ICpuSide ours, ICpuSide peer, string? filter)
    {
        int all = Environment.ProcessorCount;
        Console.WriteLine($"\n## CPU: DeepSharp against {peer.Name}, same process, medians; " +
            "ratio = peer's time / ours (> 1: ours is faster)");
        Console.WriteLine("| workload | threads | DeepSharp | peer | unit | ratio |");
        Console.WriteLine("|---|---|---|---|---|---|");
        foreach (int n in new[] { 128, 256, 512, 1024 })
            foreach (int t in new[] { 1, all })
                Row($"GEMM n = {n}", t, n <= 256 ? 101 : n <= 512 ? 15 : 5, "GFLOP/s", 2.0 * n * n * n / 1e9, s => s.Gemm(n));
        foreach (int n in new[] { 1 << 16, 1 << 20, 1 << 24 })
        {
            int reps = n >= 1 << 24 ? 7 : 51;
            Row($"relu, {n:N0} floats", all, reps, "GB/s", 8.0 * n / 1e9, s => s.Unary("relu", n));
            Row($"add, {n:N0} floats", all, reps, "GB/s", 12.0 * n / 1e9, s => s.Add(n));
            Row($"exp, {n:N0} floats", all, reps, "GB/s", 8.0 * n / 1e9, s => s.Unary("exp", n));
        }
        foreach (int batch in new[] { 2, 256 })
        {
            int reps = batch == 2 ? 2001 : 301;
            Row($"MLP 20-256-10 forward (tensors), batch {batch}", 1, reps, "µs", 0, s => s.MlpForward(batch));
            Row($"MLP 20-256-10 training step (tensors), batch {batch}", 1, reps, "µs", 0, s => s.MlpStep(batch));
            Row($"MLP 20-256-10 forward (Sequential), batch {batch}", 1, reps, "µs", 0, s => s.BlockForward(batch));
            Row($"MLP 20-256-10 training step (Sequential), batch {batch}", 1, reps, "µs", 0, s => s.BlockStep(batch));
        }
        Row("Conv2d 3→32 k3 p1 on [32, 3, 32, 32], forward + backward", all, 51, "ms", 0, s => s.ConvStep());
        foreach (int t in new[] { 1, all })
            Row("digits CNN training step, batch 32 of 8×8", t, 501, "µs", 0, s => s.CnnStep());
        foreach (int t in new[] { 1, all })
        {
            Row("LeNet (§7.6) training step, batch 256 of 28×28", t, 31, "ms", 0, s => s.LeNetStep(batchNorm: false));
            Row("BatchNorm LeNet (§8.5) training step, batch 256 of 28×28", t, 31, "ms", 0, s => s.LeNetStep(batchNorm: true));
            Row("ResNet-18, 3×3 stem, training step, batch 32 of 28×28", t, 5, "ms", 0, s => s.ResNetStep());
        }
        foreach (int t in new[] { 1, all })
        {
            Row("LSTM language-model step, one-hot [35, 32, 28] → LSTM(256) → Linear(28)", t, 31, "ms", 0, s => s.LstmStep());
            Row("Transformer step, Embedding(1000, 128) + 2 encoder layers (4 heads, FFN 512) + Linear, [64, 32] tokens, Adam", t, 15,
                "ms", 0, s => s.TransformerStep());
        }
        if (filter is null || "LSTM language ceiling".Contains(filter, StringComparison.OrdinalIgnoreCase)) Ceiling();
        var dir = Directory.CreateTempSubdirectory("deepsharp-peer-").FullName;
        try
        {
            Row("save a 784-1024-1024-10 MLP (7.5 MB)", all, 21, "ms", 0, s => s.Checkpoint(dir).Save);
            Row("load it into the model", all, 21, "ms", 0, s => s.Checkpoint(dir).Load);
        }
        finally { Directory.Delete(dir, true); }
        CpuParallel.Threads = all;

        // work > 0: a rate (work per second in the unit); otherwise a time in the unit (µs or ms).
        void Row(string name, int threads, int reps, string unit, double work, Func<ICpuSide, Action?> make)
        {
            if (filter != null && !name.Contains(filter, StringComparison.OrdinalIgnoreCase)) return;
            double Time(ICpuSide side)
            {
                side.SetThreads(threads);
                var run = make(side);
                return run is null ? double.NaN : Median(reps, run);
            }
            // NaN: that side has no such workload in this build. Measured the other way round once: the conv row's peer time did
            // not move.
            double a = Time(ours), b = Time(peer);
            string Show(double s) => work > 0 ? $"{work / s:F1}" : (unit == "µs" ? $"{s * 1e6:F1}" : $"{s * 1e3:F2}");
            Console.WriteLine($"| {name} | {threads} | {Show(a)} | {Show(b)} | {unit} | {b / a:F2} |");
        }
    }

    /// <summary>The table's ceiling row: one core's fp32 multiply-add rate, and the fastest the LSTM step's products could
    /// run at it (so the LSTM row's ratio can be read against what the hardware allows).</summary>
    static void Ceiling()
    {
        double rate = CpuFmaCeiling.Measure();
        const int T = OursSide.LmSteps, B = OursSide.LmBatch, V = OursSide.LmVocab, H = OursSide.LmHidden;
        // Recurrent products forward, for dh and for dW_hh; input projection and its weight gradient; the output layer's
        // three products.
        double flops = 2.0 * T * B * (3.0 * 4 * H * H + 2.0 * 4 * H * V + 3.0 * H * V);
        Console.WriteLine($"| fp32 multiply-add ceiling of one core (12 register FMA chains); the LSTM step's products " +
            $"({flops / 1e9:F2} GFLOP) at it take {flops / rate / 1e6:F2} ms | 1 | {rate:F1} | — | GFLOP/s | — |");
    }
}

/// <summary>DeepSharp's side, on any device: the workloads of this harness (the `mlp`, `io` and conv benchmarks build
/// their models here too).</summary>
sealed partial class OursSide(Device? device = null) : ICpuSide
{
    private readonly Device _d = device ?? Device.Cpu;

    public string Name => "DeepSharp";

    public void SetThreads(int threads) => CpuParallel.Threads = threads;

    public Action Gemm(int n)
    {
        var a = Tensor.Rand([n, n], device: _d); var b = Tensor.Rand([n, n], device: _d);
        return () => Tensor.MatMul(a, b).Dispose();
    }

    public Action Unary(string op, int n)
    {
        var x = Tensor.Randn([n], device: _d);
        return op == "relu" ? () => x.Relu().Dispose() : () => x.Exp().Dispose();
    }

    public Action Add(int n)
    {
        var x = Tensor.Randn([n], device: _d); var y = Tensor.Randn([n], device: _d);
        return () => (x + y).Dispose();
    }

    sealed record Mlp(Func<Tensor, Tensor> Net, DeepSharp.Optim.Sgd Opt, Tensor X, Tensor Labels);

    Mlp Tensors(int batch)
    {
        var g = new Generator(1);
        var w1 = Tensor.Randn([20, 256], 0, 0.1f, g, _d).RequiresGradient(); var b1 = Tensor.Zeros([256], device: _d).RequiresGradient();
        var w2 = Tensor.Randn([256, 10], 0, 0.1f, g, _d).RequiresGradient(); var b2 = Tensor.Zeros([10], device: _d).RequiresGradient();
        return new(x => (x.MatMul(w1) + b1).Relu().MatMul(w2) + b2, new([w1, b1, w2, b2], lr: 0.01f),
            Tensor.Randn([batch, 20], generator: g, device: _d), Labels(batch));
    }

    Mlp Blocks(int batch)
    {
        var net = new Sequential(new Dense(256, 20), new Relu(), new Dense(10, 256));
        net.Initialize();
        net.To(_d);
        return new(net.Call, new(net.Parameters().Select(p => p.Data), lr: 0.01f),
            Tensor.Randn([batch, 20], generator: new Generator(1), device: _d), Labels(batch));
    }

    Tensor Labels(int batch) => Tensor.FromArray(Enumerable.Range(0, batch).Select(i => (long)(i % 10)).ToArray(), device: _d);

    static Action Forward(Mlp m) => () =>
    {
        using var scope = TensorScope.Begin();
        using var _ = Autograd.NoGrad();
        m.Net(m.X);
    };

    static Action Step(Mlp m) => () =>
    {
        using var scope = TensorScope.Begin();
        m.Opt.ZeroGrad();
        Functional.CrossEntropy(m.Net(m.X), m.Labels).Backward();
        m.Opt.Step();
    };

    public Action MlpForward(int batch) => Forward(Tensors(batch));
    public Action MlpStep(int batch) => Step(Tensors(batch));
    public Action BlockForward(int batch) => Forward(Blocks(batch));
    public Action BlockStep(int batch) => Step(Blocks(batch));

    public Action ConvStep()
    {
        var conv = new Conv2d(32, 3, padding: 1, inChannels: 3);
        conv.Initialize();
        conv.To(_d);
        var x = Tensor.Randn([32, 3, 32, 32], generator: new Generator(3), device: _d);
        var gy = Tensor.Randn([32, 32, 32, 32], generator: new Generator(4), device: _d);
        return () =>
        {
            using var scope = TensorScope.Begin();
            foreach (var p in conv.Parameters()) p.Data.Grad = null;
            conv.Call(x).Backward(gy);
        };
    }

    public Action CnnStep()
    {
        var net = new Sequential(new Conv2d(16, 3, padding: 1), new Relu(), new MaxPool2d(2), new Conv2d(32, 3, padding: 1), new Relu(),
            new MaxPool2d(2), new Flatten(), new Dense(10));
        net.Materialize([1, 1, 8, 8], _d);
        var g = new Generator(5);
        return Step(new(net.Call, new(net.Parameters().Select(p => p.Data), lr: 0.01f),
            Tensor.Rand([32, 1, 8, 8], generator: g, device: _d), Labels(32)));
    }

    public Action LeNetStep(bool batchNorm)
    {
        var net = batchNorm
            ? new Sequential(new Conv2d(6, 5), new BatchNorm2d(6), new Sigmoid(), new AvgPool2d(2, 2),
                new Conv2d(16, 5), new BatchNorm2d(16), new Sigmoid(), new AvgPool2d(2, 2),
                new Flatten(), new Dense(120), new BatchNorm1d(120), new Sigmoid(), new Dense(84), new BatchNorm1d(84), new Sigmoid(),
                new Dense(10))
            : new Sequential(new Conv2d(6, 5, padding: 2), new Sigmoid(), new AvgPool2d(2, 2), new Conv2d(16, 5), new Sigmoid(),
                new AvgPool2d(2, 2), new Flatten(), new Dense(120), new Sigmoid(), new Dense(84), new Sigmoid(), new Dense(10));
        return Image(net, 256);
    }

    public Action ResNetStep() => Image(ResNet.ResNet18(10, smallImages: true), 32);

    Action Image(Block net, int batch)
    {
        net.Materialize([1, 1, 28, 28], _d);
        var g = new Generator(5);
        return Step(new(net.Call, new(net.Parameters().Select(p => p.Data), lr: 0.01f),
            Tensor.Rand([batch, 1, 28, 28], generator: g, device: _d), Labels(batch)));
    }

    /// <summary>The checkpoint workload's model: a 784-1024-1024-10 MLP (1.86 M parameters, 7.45 MB of float32).</summary>
    public static Sequential CheckpointModel()
    {
        var net = new Sequential(new Dense(1024, 784), new Relu(), new Dense(1024, 1024), new Relu(), new Dense(10, 1024));
        net.Initialize();
        return net;
    }

    public (Action Save, Action Load) Checkpoint(string dir)
    {
        var net = CheckpointModel();
        var path = Path.Combine(dir, "ours.ckpt");
        net.Save(path);
        return (() => net.Save(path), () => net.Load(path));
    }
}
