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
    /// <summary>6×16 on Vector128 (what Arm64 runs; on x64 it has half the registers Arm64 has, so it spills).</summary>
    Vector128,
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
    [Params(GemmKernel.Default, GemmKernel.Vector256, GemmKernel.Vector128)] public GemmKernel Kernel;

    /// <summary>1 and every core.</summary>
    public static IEnumerable<int> ThreadCounts => Environment.ProcessorCount > 1 ? [1, Environment.ProcessorCount] : [1];

    Tensor _a = null!, _b = null!;
    int _threads;
    int _bits;

    [GlobalSetup]
    public void Setup()
    {
        _a = Tensor.Rand([N, N], generator: new Generator(1)); _b = Tensor.Rand([N, N], generator: new Generator(2));
        _threads = Device.CpuThreads; _bits = CpuBackend.VectorBits;
        Device.CpuThreads = Threads;
        if (Kernel == GemmKernel.Vector256) CpuBackend.VectorBits = 256;
        if (Kernel == GemmKernel.Vector128) CpuBackend.VectorBits = 128;
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        Device.CpuThreads = _threads; CpuBackend.VectorBits = _bits;
        _a.Dispose(); _b.Dispose();
    }

    [Benchmark]
    public void MatMul() => Tensor.MatMul(_a, _b).Dispose();
}
