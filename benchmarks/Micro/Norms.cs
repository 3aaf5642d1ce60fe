using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Configs;
using TensorPrimitives = System.Numerics.Tensors.TensorPrimitives;

namespace DeepSharp.Micro;

/// <summary>The fused norms on the CPU: LayerNorm over rows of 768 (a transformer's width) against TensorPrimitives row by
/// row (mean, centered sum of squares, scale and shift: four passes), and BatchNorm2d in training mode, forward alone and
/// forward with backward.</summary>
[MemoryDiagnoser, GroupBenchmarksBy(BenchmarkLogicalGroupRule.ByCategory), CategoriesColumn]
public class Norms
{
    private const int Width = 768, Rows = 256;
    private float[] _x = null!, _y = null!, _w = null!, _b = null!;
    private Tensor _rows = null!, _weight = null!, _bias = null!, _image = null!, _bnWeight = null!, _bnBias = null!;

    [GlobalSetup]
    public void Setup()
    {
        _x = new float[Rows * Width]; _y = new float[Rows * Width];
        for (int i = 0; i < _x.Length; i++) _x[i] = i % 13 * 0.25f - 1.5f;
        _w = Enumerable.Repeat(1.25f, Width).ToArray(); _b = Enumerable.Repeat(0.5f, Width).ToArray();
        _rows = Tensor.FromArray(_x, [Rows, Width]);
        _weight = Tensor.From(_w); _bias = Tensor.From(_b);
        _image = Tensor.Rand([8, 64, 28, 28], generator: new Generator(1)).RequiresGradient();
        _bnWeight = Tensor.Ones([64]).RequiresGradient(); _bnBias = Tensor.Zeros([64]).RequiresGradient();
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        foreach (var t in new[] { _rows, _weight, _bias, _image, _bnWeight, _bnBias }) t.Dispose();
    }

    [Benchmark(Baseline = true), BenchmarkCategory("layer norm 256 x 768")]
    public void LayerNormTensorPrimitives()
    {
        for (int r = 0; r < Rows; r++)
        {
            var row = _x.AsSpan(r * Width, Width); var y = _y.AsSpan(r * Width, Width);
            float mean = TensorPrimitives.Sum(row) / Width;
            TensorPrimitives.Subtract(row, mean, y);
            float rstd = 1f / MathF.Sqrt(TensorPrimitives.SumOfSquares(y) / Width + 1e-5f);
            TensorPrimitives.Multiply(y, rstd, y);
            TensorPrimitives.FusedMultiplyAdd(y, _w, _b, y);
        }
    }

    [Benchmark, BenchmarkCategory("layer norm 256 x 768")]
    public void LayerNorm() => Functional.LayerNorm(_rows, [Width], _weight, _bias).Dispose();

    [Benchmark, BenchmarkCategory("batch norm 8 x 64 x 28 x 28")]
    public void BatchNormForward()
    {
        using var _ = Autograd.NoGrad();
        Functional.BatchNorm(_image, null, null, _bnWeight, _bnBias, training: true).Dispose();
    }

    [Benchmark, BenchmarkCategory("batch norm 8 x 64 x 28 x 28")]
    public void BatchNormForwardBackward()
    {
        using var y = Functional.BatchNorm(_image, null, null, _bnWeight, _bnBias, training: true);
        using var loss = y.Sum();
        loss.Backward();
        foreach (var t in new[] { _image, _bnWeight, _bnBias })
        {
            t.Grad?.Dispose();
            t.Grad = null;
        }
    }
}
