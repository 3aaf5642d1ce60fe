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
    private static readonly Type[] OpTypes = typeof(IUnaryOp).Assembly.GetTypes().Where(t => t.IsValueType && !t.IsGenericTypeDefinition).ToArray();
    private static IEnumerable<Type> Implementing(Type itf) => OpTypes.Where(t => itf.IsAssignableFrom(t));
    private static readonly (Type T, Type E)[] Elements = [(typeof(float), typeof(F32)), (typeof(double), typeof(F64)), (typeof(int), typeof(I32)), (typeof(long), typeof(I64))];

    public static IEnumerable<(MethodInfo Method, bool Explicit)> AllKernels()
    {
        MethodInfo K(string name) => typeof(Kernels).GetMethod(name)!;
        var binary = Implementing(typeof(IBinaryOp)).ToList();
        var unary = Implementing(typeof(IUnaryOp)).Concat(binary.SelectMany(b => new[]
            { typeof(RightScalar<>).MakeGenericType(b), typeof(LeftScalar<>).MakeGenericType(b) })).ToList();
        foreach (var u in unary)
        {
            yield return (K(nameof(Kernels.Unary)).MakeGenericMethod(u), false);
            yield return (K(nameof(Kernels.UnaryDense)).MakeGenericMethod(u), false);
        }
        foreach (var b in binary)
        {
            yield return (K(nameof(Kernels.Binary)).MakeGenericMethod(b), false);
            yield return (K(nameof(Kernels.BinaryDense)).MakeGenericMethod(b), false);
        }
        foreach (var r in Implementing(typeof(IReduceOp)))
        {
            yield return (K(nameof(Kernels.ReduceRows)).MakeGenericMethod(r), true);
            yield return (K(nameof(Kernels.ReduceColumns)).MakeGenericMethod(r), false);
        }
        foreach (var (t, e) in Elements)
        {
            yield return (K(nameof(Kernels.Copy)).MakeGenericMethod(t), false);
            yield return (K(nameof(Kernels.Fill)).MakeGenericMethod(t, typeof(FillOp<>).MakeGenericType(t)), false);
            yield return (K(nameof(Kernels.Fill)).MakeGenericMethod(t, typeof(ArangeOp<,>).MakeGenericType(t, e)), false);
            foreach (var (t2, e2) in Elements.Where(x => x.T != t))
                yield return (K(nameof(Kernels.Convert)).MakeGenericMethod(t, e, t2, e2), false);
        }
        yield return (K(nameof(Kernels.Fill)).MakeGenericMethod(typeof(float), typeof(RandomOp)), false);
        yield return (K(nameof(Kernels.Where)), false);
        yield return (K(nameof(Kernels.ArgReduce)), false);
        yield return (K(nameof(Kernels.Gemm)).MakeGenericMethod(typeof(DynamicTiles)), true);
        yield return (K(nameof(Kernels.Gemm)).MakeGenericMethod(typeof(StaticTiles)), true);
        foreach (var ta in new[] { typeof(KRun), typeof(MnRun) })
            foreach (var tb in new[] { typeof(KRun), typeof(MnRun) })
                yield return (K(nameof(Kernels.GemmVector)).MakeGenericMethod(ta, tb), true);
        yield return (K(nameof(Kernels.GemmDirect)), false);
        yield return (K(nameof(Kernels.Unfold)), false);
        yield return (K(nameof(Kernels.Fold)), false);
        yield return (K(nameof(Kernels.GatherRows)).MakeGenericMethod(typeof(int), typeof(I32)), false);
        yield return (K(nameof(Kernels.GatherRows)).MakeGenericMethod(typeof(long), typeof(I64)), false);
        yield return (K(nameof(Kernels.IndexAddRows)).MakeGenericMethod(typeof(int), typeof(I32)), false);
        foreach (var (t, e) in new[] { (typeof(int), typeof(I32)), (typeof(long), typeof(I64)) })
        {
            yield return (K(nameof(Kernels.CrossEntropy)).MakeGenericMethod(t, e), false);
            yield return (K(nameof(Kernels.CrossEntropyBackward)).MakeGenericMethod(t, e), false);
            yield return (K(nameof(Kernels.CrossEntropyReduced)).MakeGenericMethod(t, e), true);
        }
        yield return (K(nameof(Kernels.IndexAddRows)).MakeGenericMethod(typeof(long), typeof(I64)), false);
        foreach (var u in Implementing(typeof(IUpdateOp))) yield return (K(nameof(Kernels.Update)).MakeGenericMethod(u), false);
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
                var entry = isExplicit ? EntryPointDescription.FromExplicitlyGroupedKernel(method) : EntryPointDescription.FromImplicitlyGroupedKernel(method);
                var compiled = (PTXCompiledKernel)backend.Compile(entry, default);
                Assert.Contains(".target sm_", compiled.PTXAssembly);
            }
            catch (Exception e) { failures.Add($"{method.Name}<{string.Join(", ", method.GetGenericArguments().Select(a => a.Name))}>: {e.GetType().Name}: {e.Message}"); }
        }
        Assert.True(failures.Count == 0, string.Join("\n", failures));
    }
}
