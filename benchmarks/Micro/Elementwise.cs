using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Configs;
using TensorPrimitives = System.Numerics.Tensors.TensorPrimitives;

namespace DeepSharp.Micro;

/// <summary>Elementwise ops on N floats (the row broadcast: [N / 1024, 1024] + [1024]) against TensorPrimitives (the
/// baseline of each category). Ours allocates its output from the pool and returns it (Dispose), on Device.CpuThreads
/// threads; TensorPrimitives writes into a preallocated array on one thread.</summary>
[MemoryDiagnoser, GroupBenchmarksBy(BenchmarkLogicalGroupRule.ByCategory), CategoriesColumn]
public class Elementwise
{
    const int Cols = 1024;

    /// <summary>Floats per operand.</summary>
    [Params(1 << 16, 1 << 20)] public int N;

    float[] _x = null!, _y = null!, _row = null!, _dst = null!;
    Tensor _tx = null!, _ty = null!, _tm = null!, _trow = null!;

    [GlobalSetup]
    public void Setup()
    {
        _x = new float[N]; _y = new float[N]; _dst = new float[N]; _row = new float[Cols];
        for (int i = 0; i < N; i++) { _x[i] = i % 7 - 3; _y[i] = i % 5; }
        for (int i = 0; i < Cols; i++) _row[i] = i % 3 - 1;
        _tx = Tensor.From(_x); _ty = Tensor.From(_y);
        _tm = _tx.Reshape(N / Cols, Cols); _trow = Tensor.From(_row);
    }

    [GlobalCleanup]
    public void Cleanup() { _tm.Dispose(); _tx.Dispose(); _ty.Dispose(); _trow.Dispose(); }

    [Benchmark(Baseline = true), BenchmarkCategory("relu")]
    public void ReluTensorPrimitives() => TensorPrimitives.Max(_x, 0f, _dst);

    [Benchmark, BenchmarkCategory("relu")]
    public void Relu() => _tx.Relu().Dispose();

    [Benchmark(Baseline = true), BenchmarkCategory("exp")]
    public void ExpTensorPrimitives() => TensorPrimitives.Exp(_x, _dst);

    [Benchmark, BenchmarkCategory("exp")]
    public void Exp() => _tx.Exp().Dispose();

    [Benchmark(Baseline = true), BenchmarkCategory("add")]
    public void AddTensorPrimitives() => TensorPrimitives.Add(_x, _y, _dst);

    [Benchmark, BenchmarkCategory("add")]
    public void Add() => (_tx + _ty).Dispose();

    [Benchmark(Baseline = true), BenchmarkCategory("add row")]
    public void AddRowTensorPrimitives()
    {
        for (int r = 0; r < N; r += Cols) TensorPrimitives.Add(_x.AsSpan(r, Cols), _row, _dst.AsSpan(r, Cols));
    }

    [Benchmark, BenchmarkCategory("add row")]
    public void AddRow() => (_tm + _trow).Dispose();
}
