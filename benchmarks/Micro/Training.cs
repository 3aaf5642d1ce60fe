using BenchmarkDotNet.Attributes;

namespace DeepSharp.Micro;

/// <summary>One Adam step (the fused CPU update of parameter and both moments) on a parameter of 1 M floats, on
/// Device.CpuThreads threads.</summary>
[MemoryDiagnoser]
public class AdamStep
{
    Tensor _p = null!;
    Optim.Adam _opt = null!;

    [GlobalSetup]
    public void Setup()
    {
        var g = new Generator(4);
        _p = Tensor.Randn([1 << 20], generator: g).RequiresGradient();
        _p.Grad = Tensor.Randn([1 << 20], generator: g);
        _opt = new Optim.Adam([_p], lr: 1e-3f);
        _opt.Step(); // the moments are allocated on the first step
    }

    [GlobalCleanup]
    public void Cleanup() => _p.Dispose();

    [Benchmark]
    public void Step() => _opt.Step();
}

/// <summary>The chapter's MLP (20-256-10, ReLU) training step on one thread, as users write it: forward, cross-entropy,
/// backward, SGD update, inside a TensorScope that returns every intermediate to the pool.</summary>
[MemoryDiagnoser]
public class MlpStep
{
    /// <summary>Rows per step.</summary>
    [Params(2, 256)] public int Batch;

    Tensor _w1 = null!, _b1 = null!, _w2 = null!, _b2 = null!, _x = null!, _labels = null!;
    Optim.Sgd _opt = null!;
    int _threads;

    [GlobalSetup]
    public void Setup()
    {
        var g = new Generator(1);
        _w1 = Tensor.Randn([20, 256], 0, 0.1f, g).RequiresGradient(); _b1 = Tensor.Zeros([256]).RequiresGradient();
        _w2 = Tensor.Randn([256, 10], 0, 0.1f, g).RequiresGradient(); _b2 = Tensor.Zeros([10]).RequiresGradient();
        _opt = new Optim.Sgd([_w1, _b1, _w2, _b2], lr: 0.01f);
        _x = Tensor.Randn([Batch, 20], generator: g);
        _labels = Tensor.FromArray(Enumerable.Range(0, Batch).Select(i => (long)(i % 10)).ToArray());
        _threads = Device.CpuThreads;
        Device.CpuThreads = 1;
    }

    [GlobalCleanup]
    public void Cleanup() => Device.CpuThreads = _threads;

    [Benchmark]
    public void Step()
    {
        using var scope = TensorScope.Begin();
        _opt.ZeroGrad();
        Functional.CrossEntropy((_x.MatMul(_w1) + _b1).Relu().MatMul(_w2) + _b2, _labels).Backward();
        _opt.Step();
    }
}
