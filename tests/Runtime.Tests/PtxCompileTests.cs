using System.Reflection;
using DeepSharp.Backends;
using DeepSharp.Backends.Ilgpu;
using DeepSharp.Ops;
using ILGPU;
using ILGPU.Backends.EntryPoints;
using ILGPU.Backends.PTX;
using ILGPU.Runtime;
using ILGPU.Runtime.Cuda;

namespace DeepSharp.Tests;

/// <summary>
/// Compiles every ILGPU kernel instantiation the runtime can launch to PTX for sm_90 with ILGPU's PTXBackend — no GPU
/// needed — so a kernel that would fail on CUDA fails CI here. The list is built by reflection over the op structs, so a
/// new op is covered without touching this file.
/// </summary>
public class PtxCompileTests
{
    private static readonly Type[] OpTypes = typeof(IUnaryOp).Assembly.GetTypes().Where(t => t.IsValueType && !t.IsGenericTypeDefinition)
        .ToArray();
    private static IEnumerable<Type> Implementing(Type itf) => OpTypes.Where(t => itf.IsAssignableFrom(t));
    private static readonly (Type T, Type E)[] Elements = [(typeof(float), typeof(F32)), (typeof(double), typeof(F64)),
        (typeof(int), typeof(I32)), (typeof(long), typeof(I64)), (typeof(ushort), typeof(F16)), (typeof(ushort), typeof(BF16))];

    /// <summary>The element types of the element-generic kernels.</summary>
    private static readonly Type[] Floats = [typeof(float), typeof(double)];

    public static IEnumerable<(MethodInfo Method, bool Explicit)> AllKernels()
    {
        MethodInfo K(string name) => typeof(Kernels).GetMethod(name)!;
        var binary = Implementing(typeof(IBinaryOp)).ToList();
        var unary = Implementing(typeof(IUnaryOp)).Concat(binary.SelectMany(b => new[]
            { typeof(RightScalar<>).MakeGenericType(b), typeof(LeftScalar<>).MakeGenericType(b) })).ToList();
        foreach (var u in unary)
        {
            foreach (var t in Floats) yield return (K(nameof(Kernels.Unary)).MakeGenericMethod(t, u), false);
            yield return (K(nameof(Kernels.UnaryDense)).MakeGenericMethod(u), false);
        }
        foreach (var b in binary)
        {
            foreach (var t in Floats) yield return (K(nameof(Kernels.Binary)).MakeGenericMethod(t, b), false);
            yield return (K(nameof(Kernels.BinaryDense)).MakeGenericMethod(b), false);
        }
        foreach (var r in Implementing(typeof(IReduceOp)))
        {
            foreach (var t in Floats)
            {
                yield return (K(nameof(Kernels.ReduceRows)).MakeGenericMethod(t, r), true);
                yield return (K(nameof(Kernels.ReduceColumns)).MakeGenericMethod(t, r), false);
            }
        }
        foreach (var (t, e) in Elements)
        {
            yield return (K(nameof(Kernels.Copy)).MakeGenericMethod(t), false);
            yield return (K(nameof(Kernels.Fill)).MakeGenericMethod(t, typeof(FillOp<>).MakeGenericType(t)), false);
            yield return (K(nameof(Kernels.Fill)).MakeGenericMethod(t, typeof(ArangeOp<,>).MakeGenericType(t, e)), false);
            foreach (var (t2, e2) in Elements.Where(x => x.E != e))
                yield return (K(nameof(Kernels.Convert)).MakeGenericMethod(t, e, t2, e2), false);
        }
        yield return (K(nameof(Kernels.Fill)).MakeGenericMethod(typeof(float), typeof(RandomOp)), false);
        foreach (var t in Floats)
        {
            yield return (K(nameof(Kernels.Where)).MakeGenericMethod(t), false);
            yield return (K(nameof(Kernels.ArgReduce)).MakeGenericMethod(t), false);
            yield return (K(nameof(Kernels.ScatterAlong)).MakeGenericMethod(t), false);
            yield return (K(nameof(Kernels.GemmDirect)).MakeGenericMethod(t), false);
        }
        yield return (K(nameof(Kernels.Gemm)).MakeGenericMethod(typeof(DynamicTiles)), true);
        yield return (K(nameof(Kernels.Gemm)).MakeGenericMethod(typeof(StaticTiles)), true);
        foreach (var ta in new[] { typeof(KRun), typeof(MnRun) })
            foreach (var tb in new[] { typeof(KRun), typeof(MnRun) })
                yield return (K(nameof(Kernels.GemmVector)).MakeGenericMethod(ta, tb), true);
        yield return (K(nameof(Kernels.GemmMma)).MakeGenericMethod(typeof(MmaBFloat16)), true);
        yield return (K(nameof(Kernels.GemmMma)).MakeGenericMethod(typeof(MmaHalf)), true);
        yield return (K(nameof(Kernels.GemmMmaTf32)), true);
        yield return (K(nameof(Kernels.AttentionSoftmax)), true);
        yield return (K(nameof(Kernels.AttentionSoftmaxBackward)), true);
        yield return (K(nameof(Kernels.Unfold)), false);
        yield return (K(nameof(Kernels.Fold)), false);
        yield return (K(nameof(Kernels.MaxPoolBack)), false);
        yield return (K(nameof(Kernels.AvgPool)), false);
        yield return (K(nameof(Kernels.MaxPool)), false);
        yield return (K(nameof(Kernels.AvgPoolBack)), false);
        yield return (K(nameof(Kernels.AdaptiveMax)), false);
        yield return (K(nameof(Kernels.AdaptiveMaxBack)), false);
        foreach (var (t, add) in new[] { (typeof(float), typeof(AtomicF32)), (typeof(double), typeof(AtomicF64)) })
            foreach (var (idx, e) in new[] { (typeof(int), typeof(I32)), (typeof(long), typeof(I64)) })
            {
                yield return (K(nameof(Kernels.GatherRows)).MakeGenericMethod(t, idx, e), false);
                yield return (K(nameof(Kernels.IndexAddRows)).MakeGenericMethod(t, add, idx, e), false);
            }
        foreach (var (t, e) in new[] { (typeof(int), typeof(I32)), (typeof(long), typeof(I64)) })
        {
            yield return (K(nameof(Kernels.CrossEntropy)).MakeGenericMethod(t, e), false);
            yield return (K(nameof(Kernels.CrossEntropyBackward)).MakeGenericMethod(t, e), false);
            yield return (K(nameof(Kernels.CrossEntropyReduced)).MakeGenericMethod(t, e), true);
        }
        yield return (K(nameof(Kernels.SoftmaxRows)), true);
        yield return (K(nameof(Kernels.SoftmaxBackRows)), true);
        yield return (K(nameof(Kernels.SoftmaxColumns)), false);
        yield return (K(nameof(Kernels.SoftmaxBackColumns)), false);
        foreach (var u in Implementing(typeof(IUpdateOp)))
            foreach (var t in Floats) yield return (K(nameof(Kernels.Update)).MakeGenericMethod(t, u), false);
        foreach (var t in Floats) yield return (K(nameof(Kernels.GradNormPartials)).MakeGenericMethod(t), false);
        yield return (K(nameof(Kernels.NormStats)), true);
        yield return (K(nameof(Kernels.NormGradSums)), true);
        yield return (K(nameof(Kernels.NormForward)), false);
        yield return (K(nameof(Kernels.NormBackward)), false);
        yield return (K(nameof(Kernels.LstmCell)), false);
        yield return (K(nameof(Kernels.LstmCellBackward)), false);
        yield return (K(nameof(Kernels.LstmSequenceCell)), false);
        yield return (K(nameof(Kernels.LstmSequenceCellBackward)), false);
        yield return (K(nameof(Kernels.GruSequenceCell)), false);
        yield return (K(nameof(Kernels.GruSequenceCellBackward)), false);
        yield return (K(nameof(Kernels.GruCell)), false);
        yield return (K(nameof(Kernels.GruCellBackward)), false);
    }

    /// <summary>
    /// The element-generic kernels' float32 instantiations hold no float64 instruction: generic over the element type, they
    /// must compile to what a float32 kernel written by hand would (a double constant or conversion slipped into the shared
    /// code would cost consumer GPUs, with their 1/32 or 1/64 rate of double arithmetic, many times over).
    /// </summary>
    [Fact]
    public void TheFloat32FormsOfTheElementGenericKernelsUseNoDoubles()
    {
        using var context = Context.Create(b => b.EnableAlgorithms().Optimize(OptimizationLevel.O1));
        using var backend = new PTXBackend(context, CudaArchitecture.SM_90, CudaInstructionSet.ISA_80, null!);
        string[] generic = [nameof(Kernels.Unary), nameof(Kernels.Binary), nameof(Kernels.Where), nameof(Kernels.ReduceRows),
            nameof(Kernels.ReduceColumns), nameof(Kernels.ArgReduce), nameof(Kernels.ScatterAlong), nameof(Kernels.GemmDirect),
            nameof(Kernels.Update), nameof(Kernels.GradNormPartials), nameof(Kernels.GatherRows), nameof(Kernels.IndexAddRows)];
        // Known, and not the generic code's doing: ILGPU's MathF.Pow tests its argument in double (the pow ops, and the
        // p-norm's |x|^p), and an index tensor's elements convert to long through IElement.ToDouble (exact).
        static bool Known(MethodInfo m) => m.Name == nameof(Kernels.GradNormPartials) || m.GetGenericArguments().Any(a =>
            a.Name.Contains("Pow", StringComparison.Ordinal) || a == typeof(I32) || a == typeof(I64)
            || a.IsGenericType && a.GetGenericArguments().Any(g => g.Name.Contains("Pow", StringComparison.Ordinal)));
        var kernels = AllKernels().Where(k => generic.Contains(k.Method.Name) && k.Method.GetGenericArguments()[0] == typeof(float)
            && !Known(k.Method)).ToList();
        Assert.True(kernels.Count > 100, $"only {kernels.Count} float32 kernels enumerated");
        var doubles = new List<string>();
        foreach (var (method, isExplicit) in kernels)
        {
            var entry = isExplicit ? EntryPointDescription.FromExplicitlyGroupedKernel(method)
                : EntryPointDescription.FromImplicitlyGroupedKernel(method);
            var ptx = ((PTXCompiledKernel)backend.Compile(entry, default)).PTXAssembly;
            // Double arithmetic or conversions; loading an op's unused double field (ld.param) costs nothing.
            var lines = ptx.Split('\n').Where(l => l.Contains(".f64", StringComparison.Ordinal)
                && !l.TrimStart().StartsWith(".reg", StringComparison.Ordinal) && !l.Contains("ld.param", StringComparison.Ordinal));
            if (lines.Any())
                doubles.Add($"{method.Name}<{string.Join(", ", method.GetGenericArguments().Select(a => a.Name))}>: " +
                    lines.First().Trim());
        }
        Assert.True(doubles.Count == 0, "float64 instructions in: " + string.Join(", ", doubles));
    }

    [Fact]
    public void EveryKernelCompilesToPtxForSm90()
    {
        using var context = Context.Create(b => b.EnableAlgorithms().Optimize(OptimizationLevel.O1));
        using var backend = new PTXBackend(context, CudaArchitecture.SM_90, CudaInstructionSet.ISA_80, null!);
        var kernels = AllKernels().ToList();
        Assert.True(kernels.Count > 60, $"only {kernels.Count} kernels enumerated");
        var failures = new List<string>();
        foreach (var (method, isExplicit) in kernels)
        {
            try
            {
                var entry = isExplicit ? EntryPointDescription.FromExplicitlyGroupedKernel(method)
                    : EntryPointDescription.FromImplicitlyGroupedKernel(method);
                var compiled = (PTXCompiledKernel)backend.Compile(entry, default);
                Assert.Contains(".target sm_", compiled.PTXAssembly);
            }
            catch (Exception e)
            {
                string name = $"{method.Name}<{string.Join(", ", method.GetGenericArguments().Select(a => a.Name))}>";
                failures.Add($"{name}: {e.GetType().Name}: {e.Message}");
            }
        }
        Assert.True(failures.Count == 0, string.Join("\n", failures));
    }
    /// <summary>
    /// The tiled GEMM kernels, compiled as CUDA loads them (launch bounds: 256 threads — 128 for GemmVector — and 2 groups per SM),
    /// assembled to sm_90
    /// machine code by NVIDIA's ptxas: no register spills. (Past 128 registers a second group stopped fitting on an SM and
    /// the kernel lost 20 % on an H100; the bounds now cap registers, so the cost would show up as spills.) Needs ptxas:
    /// DEEPSHARP_PTXAS or PATH; .ci/run fetches one with tools/get-ptxas.sh. Skips with a reason without it.
    /// </summary>
    [Fact]
    public void GemmKernelsAssembleForSm90WithoutSpills()
    {
        var ptxas = Environment.GetEnvironmentVariable("DEEPSHARP_PTXAS") is { Length: > 0 } p ? p
            : (Environment.GetEnvironmentVariable("PATH") ?? "").Split(':').Select(d => Path.Combine(d, "ptxas"))
                .FirstOrDefault(File.Exists);
        if (ptxas == null || !File.Exists(ptxas)) Assert.Skip("ptxas not found (set DEEPSHARP_PTXAS, or run tools/get-ptxas.sh)");
        var version = Run(ptxas, "--version");
        // ptxas 11.x reads PTX ISA up to 7.8; ILGPU writes 8.0 for the same sm_80-level instructions.
        bool lower = System.Text.RegularExpressions.Regex.Match(version, @"release (\d+)\.") is { Success: true } m
            && int.Parse(m.Groups[1].Value) < 12;
        using var context = Context.Create(b => b.EnableAlgorithms().Optimize(OptimizationLevel.O1));
        using var backend = new PTXBackend(context, CudaArchitecture.SM_90, CudaInstructionSet.ISA_80, null!);
        // The tiled GEMM kernels from the list above (every instantiation).
        var kernels = AllKernels().Where(k => k.Explicit && k.Method.Name.StartsWith("Gemm", StringComparison.Ordinal))
            .Select(k => k.Method).ToList();
        // The general one twice (dynamic, static tiles), GemmVector for four staging pairs, the tensor-core ones for bfloat16,
        // float16 and TF32 (assembling also checks their mma instructions' operand types and counts).
        Assert.Equal(9, kernels.Count);
        string dir = Directory.CreateTempSubdirectory("deepsharp-ptxas").FullName;
        var report = new List<string>();
        foreach (var method in kernels)
        {
            int threads = Kernels.ThreadsPerGemmGroup(method), cap = Math.Min(255, 65536 / (2 * threads)); // two groups per SM
            var compiled = (PTXCompiledKernel)backend.Compile(EntryPointDescription.FromExplicitlyGroupedKernel(method),
                new KernelSpecialization(threads, 2));
            string ptx = Path.Combine(dir, "kernel.ptx");
            File.WriteAllText(ptx, lower ? compiled.PTXAssembly.Replace(".version 8.0", ".version 7.8") : compiled.PTXAssembly);
            string info = Run(ptxas, $"-arch=sm_90 -O3 -v {ptx} -o {Path.Combine(dir, "kernel.cubin")}");
            int registers = int.Parse(System.Text.RegularExpressions.Regex.Match(info, @"Used (\d+) registers").Groups[1].Value);
            var spills = System.Text.RegularExpressions.Regex.Matches(info, @"(\d+) bytes spill")
                .Select(x => int.Parse(x.Groups[1].Value)).Sum();
            int stack = System.Text.RegularExpressions.Regex.Matches(info, @"(\d+) bytes stack frame")
                .Select(x => int.Parse(x.Groups[1].Value)).Sum();
            string name = $"{method.Name}<{string.Join(", ", method.GetGenericArguments().Select(a => a.Name))}>";
            report.Add($"{name}: {registers} registers, {spills} bytes spilled, {stack} bytes of stack");
            // No spills, and no local memory but GemmMma's epilogue: it reads its 32 accumulators out of PTX registers once
            // through ILGPU's inline-PTX outputs, which ILGPU stages through locals (128 bytes); inside its loop the operands
            // are inputs and stay in registers (tools/sass_stats.sh shows no LDL/STL there). An mma whose operands went
            // through locals (CudaAsm.EmitRef) had 320 bytes and 96 STL.64 per loop iteration.
            int stackAllowed = method.Name.StartsWith(nameof(Kernels.GemmMma), StringComparison.Ordinal) ? 128 : 0;
            Assert.True(registers <= cap && spills == 0 && stack <= stackAllowed, string.Join("\n", report));
        }
        Directory.Delete(dir, true);
        TestContext.Current.SendDiagnosticMessage(string.Join("; ", report));

        static string Run(string exe, string args)
        {
            var start = new System.Diagnostics.ProcessStartInfo(exe, args)
            {
                RedirectStandardOutput = true, RedirectStandardError = true,
            };
            using var process = System.Diagnostics.Process.Start(start)!;
            string output = process.StandardOutput.ReadToEnd() + process.StandardError.ReadToEnd();
            process.WaitForExit();
            Assert.True(process.ExitCode == 0, $"{Path.GetFileName(exe)} {args} failed:\n{output}");
            return output;
        }
    }
}
