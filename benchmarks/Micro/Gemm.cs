using BenchmarkDotNet.Attributes;
using DeepSharp.Backends.Cpu;

namespace DeepSharp.Micro;

/// <summary>The GEMM micro-kernels a CPU GEMM can run.</summary>
public enum GemmKernel
{
    /// <summary>What the backend picks: 8×32 on Vector512 where the CPU runs it natively, else 6×16 on Vector256.</summary>
    Default,
    /// <summary>6×16 on Vector256 (AVX2).</summary>
    Vector256,
}

/// <summary>fp32 C = A·B of square n (2n³ flops; GFLOP/s = 2n³ / ns), on 1 thread and on every core, with each
/// micro-kernel. No .NET baseline: TensorPrimitives has no matrix product.</summary>
[MemoryDiagnoser]
public class Gemm
{
    /// <summary>Matrix side.</summary>
    [Params(64, 256, 512)] public int N;

    /// <summary>Device.CpuThreads during the benchmark.</summary>
    [ParamsSource(nameof(ThreadCounts))] public int Threads;

    /// <summary>The micro-kernel.</summary>
    [Params(GemmKernel.Default, GemmKernel.Vector256)] public GemmKernel Kernel;

    /// <summary>1 and every core.</summary>
    public static IEnumerable<int> ThreadCounts => Environment.ProcessorCount > 1 ? [1, Environment.ProcessorCount] : [1];

    Tensor _a = null!, _b = null!;
    int _threads;
    bool _wide;

    [GlobalSetup]
    public void Setup()
    {
        _a = Tensor.Rand([N, N], generator: new Generator(1)); _b = Tensor.Rand([N, N], generator: new Generator(2));
        _threads = Device.CpuThreads; _wide = CpuBackend.UseVector512;
        Device.CpuThreads = Threads;
        if (Kernel == GemmKernel.Vector256) CpuBackend.UseVector512 = false;
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        Device.CpuThreads = _threads; CpuBackend.UseVector512 = _wide;
        _a.Dispose(); _b.Dispose();
    }

    [Benchmark]
    public void MatMul() => Tensor.MatMul(_a, _b).Dispose();
}
