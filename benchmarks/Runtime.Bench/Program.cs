// A small benchmark harness: medians of repeated runs, printed next to a peer measured in the same process.
// Usage: dotnet run -c Release --project benchmarks/Runtime.Bench
//   [mlp|io|gpu [device]|all|gemm <device> [n ...]|ptx <dir>|peer [text]|coldstart <device>|softmax|seq <device>]
//   (all: mlp, io and gpu; seq: the sequence models' steps and their launches on one device).
// Micro-benchmarks of the CPU kernels (GEMM, elementwise, reductions, conv, Adam; against TensorPrimitives, with memory
// diagnostics) are in benchmarks/Micro (BenchmarkDotNet).
using System.Diagnostics;
using DeepSharp;
using DeepSharp.Backends;
using DeepSharp.Backends.Cpu;
using static Harness;

string[] modes = ["mlp", "io", "gpu", "all", "gemm", "ptx", "peer", "coldstart", "softmax", "seq"];
string what = args.Length > 0 ? args[0] : "";
if (!modes.Contains(what))
{
    Console.Error.WriteLine("Usage: dotnet run -c Release --project benchmarks/Runtime.Bench " +
        "[mlp|io|gpu [device]|all|gemm <device> [n ...]|ptx <dir>|peer [text]|coldstart <device>|softmax|seq <device>]\n" +
        "CPU kernel micro-benchmarks (against TensorPrimitives, with allocations per op): " +
        "dotnet run -c Release --project benchmarks/Micro -- --filter '*' (see benchmarks/NOTES.md).");
    return 2;
}
Console.WriteLine($"DeepSharp runtime benchmarks — {DateTime.UtcNow:yyyy-MM-dd HH:mm} UTC, " +
    $"{Environment.ProcessorCount} cores, .NET {Environment.Version}");
if (what is "mlp" or "all") { Mlp(Device.Cpu, threads: Environment.ProcessorCount); Mlp(Device.Cpu, threads: 1); BlockMlpCpu(); }
if (what is "io" or "all") Io();
if (what is "gpu" or "all") Gpu(args.Length > 1 ? Device.Parse(args[1]) : Device.TryGpu());
if (what is "gemm") GemmTable(args.Length > 1 ? Device.Parse(args[1]) : Device.TryGpu(), args.Skip(2).Select(int.Parse).ToArray());
if (what is "ptx") PtxDump.Run(args.Length > 1 ? args[1] : "ptx");
if (what is "peer") Peer.Run(args.Length > 1 ? args[1] : null);
if (what is "softmax") SoftmaxBench.Run();
if (what is "seq") SequenceBench.Run(args.Length > 1 ? Device.Parse(args[1]) : Device.TryGpu(), reps: Quick() ? 1 : 31);
if (what is "coldstart") ColdStart(args.Length > 1 ? Device.Parse(args[1]) : Device.TryGpu());
return 0;

// The chapter's MLP (20-256-10): forward, and one SGD training step (forward, cross-entropy, backward, update); the
// workloads are OursSide's (Peer.cs), the ones `peer` times against libtorch.
static void Mlp(Device d, int threads)
{
    CpuParallel.Threads = threads;
    var ours = new OursSide(d);
    Action? sync = d == Device.Cpu ? null : d.Synchronize;
    Console.WriteLine($"\n## MLP 20-256-10 on {d}" +
        $"{(d == Device.Cpu ? $" ({threads} thread{(threads > 1 ? "s" : "")})" : " (incl. synchronize)")}, µs per call — median");
    Console.WriteLine("| batch | forward (no grad) | training step |");
    Console.WriteLine("|---|---|---|");
    foreach (int batch in new[] { 2, 256 })
    {
        int reps = batch == 2 ? 2001 : 301;
        double fwd = Median(reps, ours.MlpForward(batch), sync) * 1e6;
        var step = ours.MlpStep(batch);
        double stepTime = Median(reps, step, sync) * 1e6;
        long before = GC.GetAllocatedBytesForCurrentThread();
        for (int i = 0; i < 100; i++) step();
        long perStep = (GC.GetAllocatedBytesForCurrentThread() - before) / 100;
        Console.WriteLine($"| {batch} | {fwd:F1} | {stepTime:F1} | {perStep / 1024.0:F1} KiB managed allocations per step (this thread) |");
    }
    CpuParallel.Threads = Environment.ProcessorCount;
}

// The same MLP written with Blocks (Sequential of Dense and Relu: the bias is fused into the product), one thread.
static void BlockMlpCpu()
{
    CpuParallel.Threads = 1;
    var ours = new OursSide();
    Console.WriteLine("\n## The MLP as Blocks (Sequential, Dense, Relu) on cpu (1 thread), µs per call — median");
    Console.WriteLine("| batch | forward (no grad) | training step |");
    Console.WriteLine("|---|---|---|");
    foreach (int batch in new[] { 2, 256 })
    {
        int reps = batch == 2 ? 2001 : 301;
        Console.WriteLine($"| {batch} | {Median(reps, ours.BlockForward(batch)) * 1e6:F1} | " +
            $"{Median(reps, ours.BlockStep(batch)) * 1e6:F1} |");
    }
    CpuParallel.Threads = Environment.ProcessorCount;
}

// Save and load a 784-1024-1024-10 MLP (1.86 M parameters, 7.45 MB of float32), as issue 5 asks.
static void Io()
{
    var net = OursSide.CheckpointModel();
    var dir = Directory.CreateTempSubdirectory("deepsharp-bench-").FullName;
    var path = Path.Combine(dir, "mlp.ckpt");
    var st = Path.Combine(dir, "mlp.safetensors");
    try
    {
        double save = Median(21, () => DeepSharp.IO.ModelCheckpoint.Save(net, path)) * 1e3;
        double load = Median(21, () => DeepSharp.IO.ModelCheckpoint.Load(net, path)) * 1e3;
        double saveSt = Median(21, () => DeepSharp.IO.ModelCheckpoint.SaveSafeTensors(net, st)) * 1e3;
        double loadSt = Median(21, () => DeepSharp.IO.ModelCheckpoint.LoadSafeTensors(net, st)) * 1e3;
        Console.WriteLine($"\n## Checkpoint of a 784-1024-1024-10 MLP ({new FileInfo(path).Length / 1e6:F2} MB), ms — median");
        Console.WriteLine("| format | save (atomic, fsync) | load (into the model) |");
        Console.WriteLine("|---|---|---|");
        Console.WriteLine($"| DeepSharp checkpoint | {save:F2} | {load:F2} |");
        Console.WriteLine($"| safetensors | {saveSt:F2} | {loadSt:F2} |");
    }
    finally { Directory.Delete(dir, true); }
}

static void Gpu(Device d)
{
    if (d == Device.Cpu) { Console.WriteLine("\nNo GPU: GPU benchmarks skipped.\n" + Device.Describe()); return; }
    Console.WriteLine($"\n## {d}: {Device.List().First(i => i.Device == d).Name}");
    GemmTable(d, []);
    ElementwiseAndLaunches(d);
    if (!Quick()) Mlp(d, Environment.ProcessorCount);
    Console.WriteLine("\n## Training steps with Blocks (Sequential + Dense, cross-entropy, SGD), µs — median; " +
        "launches per step; device memory");
    Console.WriteLine("| model | batch | step (cuBLAS on) | step (C# GEMM only) | launches | peak MiB after 10 steps | after 1000 |");
    Console.WriteLine("|---|---|---|---|---|---|---|");
    BlockStep(d, "20-256-10", [20, 256, 10], 2);
    if (!Quick()) BlockStep(d, "20-256-10", [20, 256, 10], 256);
    if (!Quick()) BlockStep(d, "784-1024-1024-10", [784, 1024, 1024, 10], 128);
    ConvStep(d);
    CnnStep(d);
    SequenceBench.Run(d, reps: Quick() ? 1 : 31);
}


// GEMM of square n on an accelerator: cuBLAS (CUDA) against the C# kernels, with each dispatch option switched once.
// Sizes default to 1024, 2048, 4096 (64 in quick mode).
static void GemmTable(Device d, int[] sizes)
{
    var backend = DeviceManager.Ilgpu(d);
    bool cuda = d.Kind == DeviceKind.Cuda;
    Console.WriteLine($"\nILGPU optimization level: {Environment.GetEnvironmentVariable("DEEPSHARP_ILGPU_OPT") ?? "O1"}; " +
        $"C# kernel launch bounds {(backend.GemmLaunchBounds ? "on" : "off")}" +
        (cuda ? $" (groups/SM: general {Try(() => backend.GemmOccupancy(backend.Tile))}, " +
            $"vector-staged {Try(() => backend.GemmVectorOccupancy())})" : ""));
    // The device's fp32 rate as a C# kernel reaches it, to read both GEMMs against (a failure here must not stop the run).
    double ceiling = double.NaN;
    try
    {
        ceiling = FfmaCeiling.Measure(d, Quick());
        Console.WriteLine($"FFMA ceiling (16 chains per thread, 2048 threads per SM): {ceiling:F2} TFLOP/s");
    }
    catch (Exception e) { Console.WriteLine($"FFMA ceiling: n/a ({e.GetType().Name}: {e.Message})"); }
    Console.WriteLine("| GEMM n | cuBLAS TFLOP/s | C# kernel TFLOP/s | C# / cuBLAS | of the FFMA ceiling: cuBLAS, C# |");
    Console.WriteLine("|---|---|---|---|---|");
    if (sizes.Length == 0) sizes = Quick() ? [64] : [1024, 2048, 4096];
    foreach (int n in sizes)
    {
        var a = Tensor.Rand([n, n], device: d); var b = Tensor.Rand([n, n], device: d);
        double flops = 2.0 * n * n * n;
        double Tflops() => flops / Median(10, () => Tensor.MatMul(a, b).Dispose(), d.Synchronize) / 1e12;
        backend.UseCuBlas = true;
        double cublas = cuda ? Tflops() : double.NaN;
        backend.UseCuBlas = false;
        double ours = Tflops();
        Console.WriteLine($"| {n} | {(cuda ? $"{cublas:F2} ({backend.CuBlasStatus})" : "n/a")} | {Fmt(ours)} | " +
            $"{ours / cublas:F2} | {cublas / ceiling:F2}, {ours / ceiling:F2} |");
        void Variant(string name, Action flip)
        {
            flip();
            double v = Tflops();
            flip();
            Console.WriteLine($"|   {name} | | {Fmt(v)} | {v / cublas:F2} | {v / ceiling:F2} |");
        }
        // Split-K where the single product's 128×128 grid is smaller than two groups per SM (an H100 at n ≤ 2048).
        if (n <= 2048) Variant("split-K off", () => backend.UseSplitK = !backend.UseSplitK);
        if (cuda && (n >= 2048 || Quick())) Variant($"launch bounds {(backend.GemmLaunchBounds ? "off" : "on")}",
            () => backend.GemmLaunchBounds = !backend.GemmLaunchBounds);
        // The general tiled kernel instead of the vector-staged one (both operands here allow 16-byte runs).
        Variant("vector staging off", () => backend.UseVectorGemm = !backend.UseVectorGemm);
        backend.UseCuBlas = true;
        if (cuda) // the C# tensor-core kernel on bfloat16 operands (float32 accumulation, a bfloat16 result); vs PyTorch's bf16 @
        {
            using var a16 = a.To(DType.BFloat16);
            using var b16 = b.To(DType.BFloat16);
            bool saved = backend.TensorCoreGemm;
            backend.TensorCoreGemm = true;
            double tc = flops / Median(10, () => Tensor.MatMul(a16, b16).Dispose(), d.Synchronize) / 1e12;
            backend.TensorCoreGemm = saved;
            Console.WriteLine($"|   C# tensor cores, bf16 | | {Fmt(tc)} | | (torch_bench.py prints cuBLAS's bf16) |");
        }
    }
}

// TFLOP/s with enough digits for a CPU-hosted OpenCL device.
static string Fmt(double tflops) => tflops.ToString(tflops >= 1 ? "F2" : "F4");

// A diagnostic that must not stop the run: its value, or why there is none.
static string Try(Func<int> f)
{
    try { return f().ToString(); }
    catch (Exception e) { return $"n/a ({e.GetType().Name})"; }
}

static void ElementwiseAndLaunches(Device d)
{
    int m = Quick() ? 1 << 14 : 16 << 20;
    var x = Tensor.Rand([m], device: d); var y = Tensor.Rand([m], device: d);
    double add = 12.0 * m / Median(20, () => (x + y).Dispose(), d.Synchronize) / 1e9;
    double relu = 8.0 * m / Median(20, () => x.Relu().Dispose(), d.Synchronize) / 1e9;
    Console.WriteLine($"\nadd on 16M floats: {add:F0} GB/s; relu: {relu:F0} GB/s");
    var s = Tensor.Rand([2, 20], device: d);
    double launch = Median(200, () => (s + 1f).Dispose(), d.Synchronize) * 1e6;
    Console.WriteLine($"one small elementwise op incl. synchronize: {launch:F1} µs");
    // Host cost of a launch: 200 small ops back to back, one synchronize.
    double perOp = Median(20, () => { for (int i = 0; i < 200; i++) (s + 1f).Dispose(); }, d.Synchronize) / 200 * 1e6;
    Console.WriteLine($"small elementwise op, 200 queued then one synchronize: {perOp:F2} µs per op");
}

// A Sequential MLP trained the way users write it; the same model and loop as torch_bench.py.
static void BlockStep(Device d, string name, int[] sizes, int batch)
{
    var backend = DeviceManager.Ilgpu(d);
    var net = new DeepSharp.Layers.Sequential();
    for (int i = 1; i < sizes.Length; i++)
    {
        net.Add(new DeepSharp.Layers.Dense(sizes[i], sizes[i - 1]));
        if (i < sizes.Length - 1) net.Add(new DeepSharp.Layers.Relu());
    }
    net.Initialize();
    net.To(d);
    var x = Tensor.Randn([batch, sizes[0]], generator: new Generator(2), device: d);
    var labels = Tensor.FromArray(Enumerable.Range(0, batch).Select(i => (long)(i % sizes[^1])).ToArray(), device: d);
    var opt = new DeepSharp.Optim.Sgd(net.Parameters().Select(p => p.Data), lr: 0.01f);
    void Step()
    {
        using var scope = TensorScope.Begin();
        opt.ZeroGrad();
        Functional.CrossEntropy(net.Call(x), labels).Backward();
        opt.Step();
    }
    double withCublas = Median(batch <= 2 ? 2001 : 301, Step, d.Synchronize) * 1e6;
    backend.UseCuBlas = false;
    double oursOnly = Median(batch <= 2 ? 2001 : 301, Step, d.Synchronize) * 1e6;
    backend.UseCuBlas = true;
    long l0 = d.Stats.KernelLaunches;
    Step();
    long launches = d.Stats.KernelLaunches - l0;
    d.Synchronize();
    d.ResetPeakMemory();
    for (int i = 0; i < 10; i++) Step();
    double peak10 = d.Stats.PeakBytesInUse / 1048576.0;
    for (int i = 0; i < (Quick() ? 10 : 990); i++) Step();
    d.Synchronize();
    double peak1000 = d.Stats.PeakBytesInUse / 1048576.0;
    Console.WriteLine($"| {name} | {batch} | {withCublas:F1} | {oursOnly:F1} | {launches} | {peak10:F2} | {peak1000:F2} |");
}

// Conv2d 3→32, kernel 3, padding 1, on [32, 3, 32, 32]: forward and backward (weight and bias gradients; the input is data).
static void ConvStep(Device d)
{
    var step = TimedStep(d, "\nConv2d 3→32 k3 p1 on [32, 3, 32, 32], forward + backward", new OursSide(d).ConvStep());
    // The weight gradient is 32 products of 32×27 with K = 1024: one block each, or four K slices each with split-K.
    var backend = DeviceManager.Ilgpu(d);
    backend.UseSplitK = false;
    double t = Median(301, step, d.Synchronize) * 1e6;
    backend.UseSplitK = true;
    Console.WriteLine($"  split-K off: {t:F1} µs");
}

// The main job's CNN (examples/Digits --model cnn): a training step on a batch of 32 8×8 images.
static void CnnStep(Device d) => TimedStep(d, "digits CNN training step, batch 32 of 8×8", new OursSide(d).CnnStep());

// Prints a step's median time and its launches; returns the step.
static Action TimedStep(Device d, string name, Action step)
{
    double t = Median(301, step, d.Synchronize) * 1e6;
    long l0 = d.Stats.KernelLaunches;
    step();
    Console.WriteLine($"{name}: {t:F1} µs ({d.Stats.KernelLaunches - l0} launches)");
    return step;
}

// Cold start: a fresh process's first training step of the main example's model (kernel compilation included).
static void ColdStart(Device d)
{
    var total = Stopwatch.StartNew();
    bool warm = Environment.GetEnvironmentVariable("BENCH_WARMUP") == "1";
    if (warm) _ = d.WarmUp();
    var net = new DeepSharp.Layers.Sequential(new DeepSharp.Layers.Flatten(), new DeepSharp.Layers.Dense(128),
        new DeepSharp.Layers.Relu(), new DeepSharp.Layers.Dense(10));
    var x = Tensor.Randn([64, 1, 8, 8], device: d);
    var labels = Tensor.FromArray(Enumerable.Range(0, 64).Select(i => (long)(i % 10)).ToArray(), device: d);
    net.Materialize([64, 1, 8, 8]);
    net.To(d);
    var opt = new DeepSharp.Optim.Sgd(net.Parameters().Select(p => p.Data), lr: 0.1f);
    double setup = total.Elapsed.TotalMilliseconds;
    var first = Stopwatch.StartNew();
    void Step()
    {
        using var scope = TensorScope.Begin();
        opt.ZeroGrad();
        Functional.CrossEntropy(net.Call(x), labels).Backward();
        opt.Step();
        d.Synchronize();
    }
    Step();
    double firstMs = first.Elapsed.TotalMilliseconds;
    var second = Stopwatch.StartNew();
    Step();
    double secondMs = second.Elapsed.TotalMilliseconds;
    var st = d.Stats;
    Console.WriteLine($"cold start on {d}{(warm ? " (Device.WarmUp() started first)" : "")}: " +
        $"device + model setup {setup:F0} ms; first training step {firstMs:F0} ms; second step {secondMs:F2} ms; " +
        $"{setup + firstMs:F0} ms to the end of the first step; {st.KernelsCompiled} kernels compiled so far, " +
        $"{st.CompileTime.TotalMilliseconds:F0} ms of compile time (summed over threads)");
}
