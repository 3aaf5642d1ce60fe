using BenchmarkDotNet.Attributes;

namespace DeepSharp.Micro;

/// <summary>The chapter's convolution forward (Conv2d 3→32, kernel 3, padding 1, with bias, on [32, 3, 32, 32]) and a
/// 2×2 max-pool of its output ([32, 32, 32, 32] → [32, 32, 16, 16]), a depthwise 3×3 convolution and global average
/// pooling of that output, on Device.CpuThreads threads, no autograd.</summary>
[MemoryDiagnoser]
public class Conv
{
    Tensor _x = null!, _w = null!, _b = null!, _y = null!, _depthwise = null!;

    [GlobalSetup]
    public void Setup()
    {
        var g = new Generator(3);
        _x = Tensor.Randn([32, 3, 32, 32], generator: g);
        _w = Tensor.Randn([32, 3, 3, 3], 0f, 0.2f, g);
        _b = Tensor.Randn([32], generator: g);
        _y = Tensor.Randn([32, 32, 32, 32], generator: g);
        _depthwise = Tensor.Randn([32, 1, 3, 3], 0f, 0.3f, g);
    }

    [GlobalCleanup]
    public void Cleanup() { _x.Dispose(); _w.Dispose(); _b.Dispose(); _y.Dispose(); _depthwise.Dispose(); }

    /// <summary>The output disposed, as inference code without a scope writes it: the intermediates (the window buffer, the
    /// product the output is a view of) are left to the garbage collector, and MemoryDiagnoser shows their bytes.</summary>
    [Benchmark]
    public void Conv2dForward() => Functional.Conv2d(_x, _w, _b, padding: 1).Dispose();

    /// <summary>Inside a TensorScope, as a training step runs it: every intermediate goes back to the pool.</summary>
    [Benchmark]
    public void Conv2dForwardScoped()
    {
        using var scope = TensorScope.Begin();
        Functional.Conv2d(_x, _w, _b, padding: 1);
    }

    [Benchmark]
    public void MaxPool2d() => Functional.MaxPool2d(_y, 2).Dispose();

    /// <summary>Depthwise: 32 groups of one channel, one product batched over the groups.</summary>
    [Benchmark]
    public void DepthwiseConv2dForward()
    {
        using var scope = TensorScope.Begin();
        Functional.Conv2d(_y, _depthwise, _b, 1, 1, 1, groups: 32);
    }

    [Benchmark]
    public void GlobalAvgPool() => Functional.AdaptiveAvgPool2d(_y, 1).Dispose();
}
