using System.Reflection;
using DeepSharp.Backends.Ilgpu;
using ILGPU;
using ILGPU.Backends.EntryPoints;
using ILGPU.Backends.PTX;
using ILGPU.Runtime;
using ILGPU.Runtime.Cuda;

/// <summary>
/// `ptx [dir]`: writes the PTX that CUDA would JIT for the GEMM kernels (sm_90, with the launch bounds the backend uses)
/// and for the FFMA-ceiling loop,
/// without a GPU, so tools/sass_stats.sh can count registers, spills and the inner loop's instructions with ptxas.
/// </summary>
static class PtxDump
{
    public static void Run(string dir)
    {
        Directory.CreateDirectory(dir);
        using var context = Context.Create(b => b.EnableAlgorithms().Optimize(OptimizationLevel.O1));
        using var backend = new PTXBackend(context, CudaArchitecture.SM_90, CudaInstructionSet.ISA_80, null!);
        var methods = typeof(Kernels).GetMethods(BindingFlags.Public | BindingFlags.Static)
            .Where(m => m.Name.StartsWith("Gemm", StringComparison.Ordinal))
            .SelectMany(m => m.IsGenericMethodDefinition ? Instances(m) : [m])
            .Append(typeof(FfmaCeiling).GetMethod("Chains", BindingFlags.NonPublic | BindingFlags.Static)!);
        foreach (var method in methods)
        {
            bool grouped = method.GetParameters()[0].ParameterType != typeof(Index1D);
            var entry = grouped
                ? EntryPointDescription.FromExplicitlyGroupedKernel(method)
                : EntryPointDescription.FromImplicitlyGroupedKernel(method);
            var spec = grouped ? new KernelSpecialization(Kernels.ThreadsPerGemmGroup(method), 2) : default;
            var compiled = (PTXCompiledKernel)backend.Compile(entry, spec);
            string path = Path.Combine(dir, string.Join("_", [method.Name, .. method.GetGenericArguments().Select(t => t.Name)]) + ".ptx");
            File.WriteAllText(path, compiled.PTXAssembly);
            Console.WriteLine($"{path}: {compiled.PTXAssembly.Length:N0} characters");
        }
    }

    // Every instantiation: each type parameter ranges over the kernel assembly's structs that meet its interface constraint.
    private static IEnumerable<MethodInfo> Instances(MethodInfo m)
    {
        IEnumerable<Type[]> args = [[]];
        foreach (var p in m.GetGenericArguments())
        {
            var options = typeof(Kernels).Assembly.GetTypes()
                .Where(t => t.IsValueType && p.GetGenericParameterConstraints().All(c => c.IsAssignableFrom(t))).ToArray();
            args = args.SelectMany(prefix => options.Select(o => (Type[])[.. prefix, o]));
        }
        return args.Select(a => m.MakeGenericMethod(a));
    }
}
