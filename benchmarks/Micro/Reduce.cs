using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Configs;
using TensorPrimitives = System.Numerics.Tensors.TensorPrimitives;

namespace DeepSharp.Micro;

/// <summary>Sum of a square matrix of N floats over its last axis (one sum per row) and its first axis (one per column),
/// against TensorPrimitives (Sum per row; Add of row after row into the result).</summary>
[MemoryDiagnoser, GroupBenchmarksBy(BenchmarkLogicalGroupRule.ByCategory), CategoriesColumn]
public class Reduce
{
    /// <summary>Floats in the matrix: 256 × 256 and 1024 × 1024.</summary>
    [Params(1 << 16, 1 << 20)] public int N;

    int _side;
    float[] _x = null!, _dst = null!;
    Tensor _t = null!;

    [GlobalSetup]
    public void Setup()
    {
        _side = (int)Math.Sqrt(N);
        _x = new float[N]; _dst = new float[_side];
        for (int i = 0; i < N; i++) _x[i] = i % 11 - 5;
        _t = Tensor.From(_x).Reshape(_side, _side);
    }

    [GlobalCleanup]
    public void Cleanup() => _t.Dispose();

    [Benchmark(Baseline = true), BenchmarkCategory("sum last axis")]
    public void SumLastTensorPrimitives()
    {
        for (int r = 0; r < _side; r++) _dst[r] = TensorPrimitives.Sum(_x.AsSpan(r * _side, _side));
    }

    [Benchmark, BenchmarkCategory("sum last axis")]
    public void SumLast() => _t.Sum(axis: 1).Dispose();

    [Benchmark(Baseline = true), BenchmarkCategory("sum first axis")]
    public void SumFirstTensorPrimitives()
    {
        _x.AsSpan(0, _side).CopyTo(_dst);
        for (int r = 1; r < _side; r++) TensorPrimitives.Add(_dst, _x.AsSpan(r * _side, _side), _dst);
    }

    [Benchmark, BenchmarkCategory("sum first axis")]
    public void SumFirst() => _t.Sum(axis: 0).Dispose();
}
