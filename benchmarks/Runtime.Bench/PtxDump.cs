using System.Reflection;
using DeepSharp.Backends.Ilgpu;
using ILGPU;
using ILGPU.Backends.EntryPoints;
using ILGPU.Backends.PTX;
using ILGPU.Runtime;
using ILGPU.Runtime.Cuda;

/// <summary>
/// `ptx [dir]`: writes the PTX that CUDA would JIT for the GEMM kernels (sm_90, with the launch bounds the backend uses),
/// without a GPU, so tools/sass_stats.sh can count registers, spills and the inner loop's instructions with ptxas.
/// </summary>
static class PtxDump
{
    public static void Run(string dir)
    {
        Directory.CreateDirectory(dir);
        using var context = Context.Create(b => b.EnableAlgorithms().Optimize(OptimizationLevel.O1));
        using var backend = new PTXBackend(context, CudaArchitecture.SM_90, CudaInstructionSet.ISA_80, null!);
        Type[] stages = [typeof(KRun), typeof(MnRun)];
        var methods = typeof(Kernels).GetMethods(BindingFlags.Public | BindingFlags.Static).Where(m => m.Name.StartsWith("Gemm", StringComparison.Ordinal))
            .SelectMany(m => m.IsGenericMethodDefinition ? stages.SelectMany(ta => stages.Select(tb => m.MakeGenericMethod(ta, tb))) : [m]);
        foreach (var method in methods)
        {
            bool grouped = method.GetParameters()[0].ParameterType != typeof(Index1D);
            var entry = grouped ? EntryPointDescription.FromExplicitlyGroupedKernel(method) : EntryPointDescription.FromImplicitlyGroupedKernel(method);
            var spec = grouped ? new KernelSpecialization(256, 2) : default;
            var compiled = (PTXCompiledKernel)backend.Compile(entry, spec);
            string path = Path.Combine(dir, string.Join("_", [method.Name, .. method.GetGenericArguments().Select(t => t.Name)]) + ".ptx");
            File.WriteAllText(path, compiled.PTXAssembly);
            Console.WriteLine($"{path}: {compiled.PTXAssembly.Length:N0} characters");
        }
    }
}
