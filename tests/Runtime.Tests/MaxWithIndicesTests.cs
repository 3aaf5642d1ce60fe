using DeepSharp;

namespace DeepSharp.Tests;

/// <summary>PyTorch's <c>torch.max(x, dim)</c> / <c>torch.min(x, dim)</c>: values and int64 indices, the first index on
/// ties, NaN as the extreme, and the whole gradient at the returned index.</summary>
public class MaxWithIndicesTests
{
    private const float NaN = float.NaN;

    public static readonly (int[] Shape, int Axis)[] Cases =
    [
        ([7], 0), ([7], -1), ([3, 4], 0), ([3, 4], 1), ([3, 4], -1), ([2, 3, 4], 1), ([2, 3, 4], 0), ([2, 3, 4], 2), ([4, 1, 3], 1),
        ([2, 37], 1),
    ];

    public static TheoryData<string, int, bool> AllCases()
    {
        var d = new TheoryData<string, int, bool>();
        foreach (var dev in TestDevices.Names) for (int c = 0; c < Cases.Length; c++) { d.Add(dev, c, false); d.Add(dev, c, true); }
        return d;
    }

    /// <summary>Reference: along the axis, the first index whose value beats all before it (a NaN beats everything).</summary>
    private static (long[] Index, int Outer, int N, int Inner) Reference(float[] x, int[] shape, int axis, bool max)
    {
        int outer = shape[..axis].Aggregate(1, (a, b) => a * b), n = shape[axis], inner = shape[(axis + 1)..].Aggregate(1, (a, b) => a * b);
        var index = new long[outer * inner];
        for (int o = 0; o < outer; o++)
            for (int j = 0; j < inner; j++)
            {
                int best = 0;
                float At(int k) => x[(o * n + k) * inner + j];
                for (int k = 1; k < n; k++)
                    if (!float.IsNaN(At(best)) && (float.IsNaN(At(k)) || (max ? At(k) > At(best) : At(k) < At(best)))) best = k;
                index[o * inner + j] = best;
            }
        return (index, outer, n, inner);
    }

    [Theory, MemberData(nameof(AllCases))]
    public void ValuesIndicesAndGradientMatchReference(string device, int c, bool keepDim)
    {
        var d = TestDevices.Use(device);
        var (shape, axis0) = Cases[c];
        int axis = axis0 < 0 ? axis0 + shape.Length : axis0;
        // Few distinct values, so that ties are common; a NaN in some of the slices.
        var data = Ref.Random(shape.Aggregate(1, (a, b) => a * b), 40 + c).Select(v => MathF.Round(v * 1.5f)).ToArray();
        if (data.Length > 5) data[5] = NaN;
        foreach (bool max in new[] { true, false })
        {
            var x = Tensor.FromArray(data, shape, d).RequiresGradient();
            var (values, indices) = max ? x.MaxWithIndices(axis0, keepDim) : x.MinWithIndices(axis0, keepDim);
            var (index, outer, n, inner) = Reference(data, shape, axis, max);
            var outShape = keepDim ? shape.Select((s, i) => i == axis ? 1 : s).ToArray() : shape.Where((_, i) => i != axis).ToArray();
            Assert.Equal(outShape, values.Shape);
            Assert.Equal(outShape, indices.Shape);
            Assert.Equal(DType.Int64, indices.DType);
            Assert.Equal(index, indices.ToArray<long>());
            var expected = index.Select((k, t) => data[((t / inner) * n + (int)k) * inner + t % inner]).ToArray();
            Assert.Equal(expected, values.ToArray<float>()); // bit for bit: the values are the elements at the indices
            if (max) Assert.Equal(index, x.ArgMax(axis0, keepDim).ToArray<long>());

            var g = Ref.Random(index.Length, 7);
            values.Backward(Tensor.FromArray(g, outShape, d));
            var dx = new float[data.Length];
            for (int t = 0; t < index.Length; t++) dx[((t / inner) * n + (int)index[t]) * inner + t % inner] = g[t];
            Assert.Equal(dx, x.Grad!.ToArray<float>());
        }
    }

    [Theory, MemberData(nameof(TestDevices.All), MemberType = typeof(TestDevices))]
    public void TheWholeGradientGoesToTheFirstTieOrNaN(string device)
    {
        // x.max(1)[0].backward(tensor([2., -1., inf])) for x = [[1, 3, 3], [2, 2, 2], [1, nan, nan]] (PyTorch 1.13):
        // [[0, 2, 0], [-1, 0, 0], [0, inf, 0]]; x.min(1) sends it to [0, 0, 1] of those rows.
        var d = TestDevices.Use(device);
        float[] x = [1, 3, 3, 2, 2, 2, 1, NaN, NaN], g = [2, -1, float.PositiveInfinity];
        var a = Tensor.FromArray(x, [3, 3], d).RequiresGradient();
        var (v, i) = a.MaxWithIndices(1);
        Assert.Equal(new long[] { 1, 0, 1 }, i.ToArray<long>());
        Assert.Equal(new float[] { 3, 2, NaN }, v.ToArray<float>());
        v.Backward(Tensor.FromArray(g, device: d));
        Assert.Equal(new float[] { 0, 2, 0, -1, 0, 0, 0, float.PositiveInfinity, 0 }, a.Grad!.ToArray<float>());

        var b = Tensor.FromArray(x, [3, 3], d).RequiresGradient();
        var (vm, im) = b.MinWithIndices(-1, keepDim: true);
        Assert.Equal(new long[] { 0, 0, 1 }, im.ToArray<long>());
        Assert.Equal(new[] { 3, 1 }, vm.Shape);
        vm.Backward(Tensor.FromArray(g, [3, 1], d));
        Assert.Equal(new float[] { 2, 0, 0, -1, 0, 0, 0, float.PositiveInfinity, 0 }, b.Grad!.ToArray<float>());

        // Used twice and through a composite: gradients add at the index.
        var s = Tensor.FromArray(new float[] { 4, 1, 4 }, device: d).RequiresGradient();
        var (m, _) = s.MaxWithIndices(0);
        (m * 3f + m.Square()).Backward();
        Assert.Equal(new float[] { 11, 0, 0 }, s.Grad!.ToArray<float>());
    }

    [Theory, MemberData(nameof(TestDevices.All), MemberType = typeof(TestDevices))]
    public void ScalarsEmptyDimsAndBadArguments(string device)
    {
        var d = TestDevices.Use(device);
        var s = Tensor.FromArray(new float[] { 5 }, device: d).Reshape().RequiresGradient();
        var (v, i) = s.MaxWithIndices(0);
        Assert.Equal(Array.Empty<int>(), v.Shape);
        Assert.Equal(0L, i.Item<long>());
        v.Backward();
        Assert.Equal(1f, s.Grad!.Item());

        var e = Assert.Throws<ArgumentException>(() => Tensor.Zeros([2, 0], device: d).MaxWithIndices(1));
        Assert.Contains("MaxWithIndices", e.Message);
        var range = Assert.Throws<ArgumentOutOfRangeException>(() => Tensor.Zeros([2, 3], device: d).MinWithIndices(2));
        Assert.Contains("MinWithIndices", range.Message);
        Assert.Throws<NotSupportedException>(() => Tensor.FromArray(new long[] { 1, 2 }, device: d).MaxWithIndices(0));
        // Not recorded when nothing needs a gradient, and the indices carry none.
        var (nv, ni) = Tensor.Ones([2, 2], device: d).MaxWithIndices(0);
        Assert.Null(nv.GradFn);
        Assert.False(ni.RequiresGrad);
    }
}
