using DeepSharp;

namespace DeepSharp.Tests;

/// <summary>
/// The fused softmax and log-softmax (<see cref="Functional.Softmax"/>, <see cref="Functional.LogSoftmax"/>) against a
/// double-precision reference of PyTorch's definition, both ways, on every device: any axis, strided inputs, long and short
/// rows, logits near ±1e4, −inf masks (a fully masked row is NaN, as PyTorch), +inf and NaN entries, empty tensors.
/// </summary>
public class SoftmaxTests
{
    private const float NegInf = float.NegativeInfinity;

    /// <summary>Each case: the input's shape, the axis, and whether x is read through a transposed (strided) view.</summary>
    public static readonly Dictionary<string, (int[] Shape, int Axis, bool Transposed)> Cases = new()
    {
        ["rows"] = ([6, 7], -1, false),
        ["long rows"] = ([3, 1000], 1, false),
        ["rows of 8"] = ([4, 8], 1, false),
        ["middle axis"] = ([2, 5, 3], 1, false),
        ["first axis"] = ([5, 6], 0, false),
        ["wide inner"] = ([2, 3, 130], 1, false),
        ["transposed view"] = ([7, 6], 1, true),
        ["single element rows"] = ([4, 1], 1, false),
        ["scalar"] = ([], 0, false),
        ["no rows"] = ([0, 5], 1, false),
        ["empty rows"] = ([3, 0], 1, false),
    };

    public static TheoryData<string, string, bool> All()
    {
        var d = new TheoryData<string, string, bool>();
        foreach (var dev in TestDevices.Names) foreach (var c in Cases.Keys) foreach (bool log in new[] { false, true }) d.Add(dev, c, log);
        return d;
    }

    /// <summary>Values with special rows planted along the axis: near +1e4, near −1e4, partly masked, fully masked, one
    /// holding +inf, one holding NaN (only where the tensor has enough rows).</summary>
    private static float[] Values(int[] shape, int axis)
    {
        var v = Ref.Random(shape.Aggregate(1, (a, b) => a * b), 17, -3f, 3f);
        if (shape.Length == 0 || shape[axis] < 2) return v;
        var rows = Rows(shape, axis).ToList();
        void Row(int r, Func<int, float, float> f)
        {
            if (r < rows.Count) for (int k = 0; k < rows[r].Length; k++) v[rows[r][k]] = f(k, v[rows[r][k]]);
        }
        Row(0, (k, x) => 1e4f + x);
        Row(1, (k, x) => -1e4f + x * 10f);
        Row(2, (k, x) => k % 2 == 1 ? NegInf : x);
        Row(3, (k, x) => NegInf);
        Row(4, (k, x) => k == 1 ? float.PositiveInfinity : x);
        Row(5, (k, x) => k == 0 ? float.NaN : x);
        return v;
    }

    /// <summary>The flat indices of each row along the axis (row-major [outer, n, inner]).</summary>
    private static IEnumerable<int[]> Rows(int[] shape, int axis)
    {
        if (shape.Length == 0) { yield return [0]; yield break; }
        int outer = shape[..axis].Aggregate(1, (a, b) => a * b), n = shape[axis], inner = shape[(axis + 1)..].Aggregate(1, (a, b) => a * b);
        for (int o = 0; o < outer; o++)
            for (int i = 0; i < inner; i++)
                yield return Enumerable.Range(0, n).Select(k => (o * n + k) * inner + i).ToArray();
    }

    /// <summary>PyTorch's definition in double: m = max (NaN if any is), e = exp(x − m), softmax = e / Σe,
    /// log-softmax = (x − m) − log Σe.</summary>
    private static double[] Reference(float[] x, int[] shape, int axis, bool log)
    {
        var y = new double[x.Length];
        foreach (var row in Rows(shape, axis))
        {
            double m = row.Select(j => (double)x[j])
                .Aggregate(double.NegativeInfinity, (a, b) => double.IsNaN(a) || double.IsNaN(b) ? double.NaN : Math.Max(a, b));
            double s = row.Sum(j => Math.Exp(x[j] - m));
            foreach (int j in row) y[j] = log ? x[j] - m - Math.Log(s) : Math.Exp(x[j] - m) / s;
        }
        return y;
    }

    /// <summary>The rule in double: softmax y·(g − Σ g·y), log-softmax g − e^y·Σ g, per row.</summary>
    private static double[] GradReference(double[] y, float[] g, int[] shape, int axis, bool log)
    {
        var dx = new double[y.Length];
        foreach (var row in Rows(shape, axis))
        {
            double s = row.Sum(j => log ? g[j] : g[j] * y[j]);
            foreach (int j in row) dx[j] = log ? g[j] - Math.Exp(y[j]) * s : y[j] * (g[j] - s);
        }
        return dx;
    }

    [Theory, MemberData(nameof(All))]
    public void ForwardAndBackwardMatchTheDoubleReference(string device, string name, bool log)
    {
        var d = TestDevices.Use(device);
        var (shape, axis, transposed) = Cases[name];
        int ax = shape.Length == 0 ? 0 : axis < 0 ? axis + shape.Length : axis;
        var xs = Values(shape, ax);
        // A transposed view: the data laid out as the transpose, read back through .T (a strided input).
        var x = transposed
            ? Tensor.FromArray(Ref.Indices([shape[1], shape[0]]).Select(i => xs[i[1] * shape[1] + i[0]]).ToArray(),
                [shape[1], shape[0]], d).T
            : Tensor.FromArray(xs, shape, d);
        x.RequiresGradient();
        var y = log ? Functional.LogSoftmax(x, axis) : Functional.Softmax(x, axis);
        Assert.Equal(shape, y.Shape);
        var expected = Reference(xs, shape, ax, log);
        double tol = TestDevices.Tol(d, 2e-6);
        Ref.Close(expected, y.ToArray<float>(), tol, $"{name} {(log ? "log-softmax" : "softmax")}");

        var g = Ref.Random(xs.Length, 23);
        y.Backward(Tensor.FromArray(g, shape, d));
        var dx = (transposed ? x.Grad!.Contiguous() : x.Grad!).ToArray<float>();
        Ref.Close(GradReference(expected, g, shape, ax, log), dx, TestDevices.Tol(d, 1e-5), $"{name} gradient");
    }

    [Theory, MemberData(nameof(TestDevices.All), MemberType = typeof(TestDevices))]
    public void MasksAndLargeLogitsKeepFloat32Precision(string device)
    {
        var d = TestDevices.Use(device);
        // log-softmax of a dominant element: −log1p(e^−30) ≈ −9.4e−14, far below float32's spacing near 1 (the composite
        // log Σ e^(x − m) rounded it to 0). Rows: a dominant element; the same at +1e4 (spacing 1e−3 there); a mask.
        var x = Tensor.FromArray(new[] { 0f, -30f, NegInf, 1e4f, 1e4f - 30f, NegInf, NegInf, 2f, NegInf }, [3, 3], d);
        var ls = Functional.LogSoftmax(x).ToArray<float>();
        double e30 = Math.Exp(-30), tiny = -(e30 - e30 * e30 / 2); // log1p by its series: 1 + e^−30 would round in double too
        LossNumericsTests.Relative(tiny, ls[0], 1e-5, "log-softmax of the dominant element");
        LossNumericsTests.Relative(tiny, ls[3], 1e-5, "log-softmax of the dominant element at 1e4");
        LossNumericsTests.Relative(-30 + tiny, ls[1], 1e-6, "log-softmax of the other");
        Assert.Equal([NegInf, NegInf, 0f, NegInf], new[] { ls[2], ls[5], ls[7], ls[8] }); // masked entries; a row of one
        var s = Functional.Softmax(x).ToArray<float>();
        Assert.Equal([0f, 0f, 1f, 0f], new[] { s[2], s[5], s[7], s[8] });
        LossNumericsTests.Relative(Math.Exp(-30) / (1 + Math.Exp(-30)), s[4], TestDevices.Tol(d, 1e-5), "softmax at 1e4 − 30");
    }

    [Fact]
    public void AxisAndDtypeAreChecked()
    {
        var x = Tensor.Ones([2, 3]);
        var e = Assert.Throws<ArgumentOutOfRangeException>(() => Functional.Softmax(x, 2));
        Assert.Contains("Softmax", e.Message);
        Assert.Throws<ArgumentOutOfRangeException>(() => Functional.LogSoftmax(x, -3));
        var e2 = Assert.Throws<NotSupportedException>(() => Functional.LogSoftmax(Tensor.Arange(3, DType.Int64)));
        Assert.Contains("LogSoftmax", e2.Message);
        Assert.Equal("x", Assert.Throws<ArgumentNullException>(() => Functional.Softmax(null!)).ParamName);
    }
}

/// <summary>The CPU's softmax rows on 4 lanes (what Arm64 runs) and on 8 (x64 with AVX2) against the same reference;
/// changes the process-wide vector width, so it runs with <see cref="CpuVectorWidthTests"/>, alone.</summary>
[Collection(nameof(CpuVectorWidthTests))]
public class SoftmaxVectorWidthTests
{
    [Theory, InlineData(128), InlineData(256)]
    public void RowsMatchTheReferenceOnEachWidth(int bits)
    {
        CpuVectorWidths.SkipUnlessAccelerated(bits);
        var xs = Ref.Random(5 * 37, 3, -4f, 4f);
        xs[40] = float.NegativeInfinity; xs[41] = float.NegativeInfinity; xs[80] = float.NaN;
        var g = Ref.Random(xs.Length, 4);
        foreach (bool log in new[] { false, true })
        {
            var (y, dx) = CpuVectorWidths.With(bits, () =>
            {
                var x = Tensor.FromArray(xs, [5, 37]).RequiresGradient();
                var y = log ? Functional.LogSoftmax(x) : Functional.Softmax(x);
                y.Backward(Tensor.FromArray(g, [5, 37]));
                return (y.ToArray<float>(), x.Grad!.ToArray<float>());
            });
            for (int r = 0; r < 5; r++)
            {
                var row = xs.AsSpan(r * 37, 37).ToArray();
                double m = row.Any(float.IsNaN) ? double.NaN : row.Max();
                double s = row.Sum(v => Math.Exp(v - m));
                var ey = row.Select(v => log ? v - m - Math.Log(s) : Math.Exp(v - m) / s).ToArray();
                double gs = Enumerable.Range(0, 37).Sum(j => log ? g[r * 37 + j] : g[r * 37 + j] * ey[j]);
                var edx = Enumerable.Range(0, 37).Select(j => log ? g[r * 37 + j] - Math.Exp(ey[j]) * gs : ey[j] * (g[r * 37 + j] - gs));
                Ref.Close(ey, y.AsSpan(r * 37, 37).ToArray(), 2e-6, $"{bits}-bit row {r}");
                Ref.Close(edx.ToArray(), dx.AsSpan(r * 37, 37).ToArray(), 1e-5, $"{bits}-bit gradient row {r}");
            }
        }
    }
}
