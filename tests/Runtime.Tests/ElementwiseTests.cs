using DeepSharp;

namespace DeepSharp.Tests;

public class ElementwiseTests
{
    private static double Sigmoid(double x) => 1 / (1 + Math.Exp(-x));

    public static readonly Dictionary<string, (Func<Tensor, Tensor> Op, Func<double, double> Ref)> Unary = new()
    {
        ["neg"] = (x => -x, x => -x),
        ["abs"] = (x => x.Abs(), Math.Abs),
        ["exp"] = (x => x.Exp(), Math.Exp),
        ["log"] = (x => x.Log(), Math.Log),
        ["sqrt"] = (x => x.Sqrt(), Math.Sqrt),
        ["square"] = (x => x.Square(), x => x * x),
        ["sin"] = (x => x.Sin(), Math.Sin),
        ["cos"] = (x => x.Cos(), Math.Cos),
        ["tanh"] = (x => x.Tanh(), Math.Tanh),
        ["relu"] = (x => x.Relu(), x => double.IsNaN(x) ? x : Math.Max(x, 0)),
        ["sigmoid"] = (x => x.Sigmoid(), Sigmoid),
        ["sign"] = (x => x.Sign(), x => double.IsNaN(x) ? x : Math.Sign(x)),
        ["pow3"] = (x => x.Pow(3f), x => Math.Pow(x, 3)),
        ["add2"] = (x => x + 2f, x => x + 2),
        ["rsub"] = (x => 2f - x, x => 2 - x),
        ["mul"] = (x => x * 0.5f, x => x * 0.5),
        ["rdiv"] = (x => 1f / x, x => 1 / x),
        ["gt0"] = (x => x.Gt(0f), x => x > 0 ? 1 : 0),
        ["ge0"] = (x => x.Ge(0f), x => x >= 0 ? 1 : 0),
        ["le0"] = (x => x.Le(0f), x => x <= 0 ? 1 : 0),
        ["lt0"] = (x => x.Lt(0f), x => x < 0 ? 1 : 0),
        ["ne0"] = (x => x.Ne(0f), x => x != 0 ? 1 : 0), // NaN != 0
        ["eq3"] = (x => x.Eq(3f), x => x == 3 ? 1 : 0),
        // Activations (ActivationReference holds the double-precision formulas, PyTorch's definitions).
        ["erf"] = (x => x.Erf(), ActivationReference.Erf),
        ["leakyRelu"] = (x => x.LeakyRelu(), x => ActivationReference.LeakyRelu(x, 0.01)),
        ["leakyRelu-0.2"] = (x => x.LeakyRelu(-0.2f), x => ActivationReference.LeakyRelu(x, -0.2)),
        ["gelu"] = (x => x.Gelu(), ActivationReference.Gelu),
        ["geluTanh"] = (x => x.Gelu("tanh"), ActivationReference.GeluTanh),
        ["silu"] = (x => x.Silu(), x => x / (1 + Math.Exp(-x))),
        ["hardtanh"] = (x => x.Hardtanh(), x => ActivationReference.Clamp(x, -1, 1)),
        ["hardtanh-0.5,2"] = (x => x.Hardtanh(-0.5f, 2f), x => ActivationReference.Clamp(x, -0.5, 2)),
        ["clamp"] = (x => x.Clamp(-1.5f, 0.25f), x => ActivationReference.Clamp(x, -1.5, 0.25)),
        ["clampMin"] = (x => x.Clamp(min: 0.5f), x => ActivationReference.Clamp(x, 0.5, double.PositiveInfinity)),
        ["clampMax"] = (x => x.Clamp(max: -0.5f), x => ActivationReference.Clamp(x, double.NegativeInfinity, -0.5)),
        ["clampEmpty"] = (x => x.Clamp(1f, -1f), x => ActivationReference.Clamp(x, 1, -1)),
        ["elu"] = (x => x.Elu(), x => ActivationReference.Elu(x, 1)),
        ["elu0.5"] = (x => x.Elu(0.5f), x => ActivationReference.Elu(x, 0.5)),
        ["softplus"] = (x => x.Softplus(), x => ActivationReference.Softplus(x, 1, 20)),
        ["softplus2,5"] = (x => x.Softplus(2f, 5f), x => ActivationReference.Softplus(x, 2, 5)),
        // The in-place scalar forms, on a copy: they must give the out-of-place results.
        ["addInPlace"] = (x => x.Clone().AddInPlace(2f), x => x + 2),
        ["subInPlace"] = (x => x.Clone().SubInPlace(2f), x => x - 2),
        ["mulInPlace"] = (x => x.Clone().MulInPlace(-3f), x => x * -3),
        ["divInPlace"] = (x => x.Clone().DivInPlace(4f), x => x / 4),
        ["divInPlaceTensor"] = (x => x.Clone().DivInPlace(Tensor.Full([1], 2f, device: x.Device)), x => x / 2),
    };

    public static TheoryData<string, string> UnaryCases()
    {
        var d = new TheoryData<string, string>();
        foreach (var dev in TestDevices.Names) foreach (var op in Unary.Keys) d.Add(dev, op);
        return d;
    }

    // Ordinary values plus the IEEE edge cases: NaN, ±Inf, ±0, and large magnitudes (sigmoid/tanh must saturate, not NaN).
    private static readonly float[] Inputs =
        [.. Ref.Random(61, 1), 0f, -0f, float.NaN, float.PositiveInfinity, float.NegativeInfinity, 100f, -100f, 1e-3f, 0.5f, 3f];

    [Theory, MemberData(nameof(UnaryCases))]
    public void UnaryMatchesDoubleReference(string device, string op)
    {
        var d = TestDevices.Use(device);
        var (f, r) = Unary[op];
        var x = Tensor.FromArray(Inputs, device: d);
        var y = f(x);
        Assert.Equal(d, y.Device);
        Ref.Close(Inputs.Select(v => r(v)).ToArray(), y.ToArray<float>(), TestDevices.Tol(d, 2e-6), op);
    }

    [Theory, MemberData(nameof(UnaryCases))]
    public void UnaryReadsStridedViews(string device, string op)
    {
        var d = TestDevices.Use(device);
        var (f, r) = Unary[op];
        var data = Ref.Random(6 * 7, 3, 0.1f, 2f);
        var x = Tensor.FromArray(data, [6, 7], d).T.Slice(0, 1, 7, 2); // [3, 6], strided
        var expected = Ref.Indices([3, 6]).Select(i => r(data[i[1] * 7 + 1 + 2 * i[0]])).ToArray();
        Ref.Close(expected, f(x).ToArray<float>(), TestDevices.Tol(d, 2e-6), op);
    }

    public static readonly Dictionary<string, (Func<Tensor, Tensor, Tensor> Op, Func<double, double, double> Ref)> Binary = new()
    {
        ["add"] = ((a, b) => a + b, (a, b) => a + b),
        ["sub"] = ((a, b) => a - b, (a, b) => a - b),
        ["mul"] = ((a, b) => a * b, (a, b) => a * b),
        ["div"] = ((a, b) => a / b, (a, b) => a / b),
        ["pow"] = ((a, b) => a.Abs().Pow(b), (a, b) => Math.Pow(Math.Abs(a), b)),
        ["maximum"] = (Tensor.Maximum, (a, b) => double.IsNaN(a) || double.IsNaN(b) ? double.NaN : Math.Max(a, b)),
        ["minimum"] = (Tensor.Minimum, (a, b) => double.IsNaN(a) || double.IsNaN(b) ? double.NaN : Math.Min(a, b)),
        ["eq"] = ((a, b) => a.Eq(b), (a, b) => a == b ? 1 : 0),
        ["ne"] = ((a, b) => a.Ne(b), (a, b) => a != b ? 1 : 0),
        ["lt"] = ((a, b) => a.Lt(b), (a, b) => a < b ? 1 : 0),
        ["le"] = ((a, b) => a.Le(b), (a, b) => a <= b ? 1 : 0),
        ["gt"] = ((a, b) => a.Gt(b), (a, b) => a > b ? 1 : 0),
        ["ge"] = ((a, b) => a.Ge(b), (a, b) => a >= b ? 1 : 0),
    };

    // Broadcasting edge cases: equal shapes, row and column vectors, leading dims, size-1 on both sides, scalars, empty.
    public static readonly (int[] A, int[] B)[] Shapes =
    [
        ([3, 4], [3, 4]), ([3, 4], [4]), ([3, 4], [3, 1]), ([2, 1, 4], [3, 1]), ([1], [5, 2]), ([], [2, 3]),
        ([2, 3], []), ([4, 1, 1], [1, 5, 1]), ([0, 3], [3]), ([2, 3, 17], [17]),
    ];

    public static TheoryData<string, string, int> BinaryCases()
    {
        var d = new TheoryData<string, string, int>();
        foreach (var dev in TestDevices.Names)
            foreach (var op in Binary.Keys)
                for (int s = 0; s < Shapes.Length; s++) d.Add(dev, op, s);
        return d;
    }

    [Theory, MemberData(nameof(BinaryCases))]
    public void BinaryBroadcastsLikeNumpy(string device, string op, int shapeCase)
    {
        var d = TestDevices.Use(device);
        var (sa, sb) = Shapes[shapeCase];
        var (f, r) = Binary[op];
        var xa = Ref.Random(sa.Aggregate(1, (p, q) => p * q), 11);
        var xb = Ref.Random(sb.Aggregate(1, (p, q) => p * q), 12);
        if (xb.Length > 2) { xb[0] = xa.Length > 0 ? xa[0] : 0; xb[1] = float.NaN; } // ties and NaN
        var y = f(Tensor.FromArray(xa, sa, d), Tensor.FromArray(xb, sb, d));
        int rank = Math.Max(sa.Length, sb.Length);
        var shape = Enumerable.Range(0, rank).Select(i =>
        {
            int da = i < rank - sa.Length ? 1 : sa[i - rank + sa.Length], db = i < rank - sb.Length ? 1 : sb[i - rank + sb.Length];
            return da == 1 ? db : da;
        }).ToArray();
        Assert.Equal(shape, y.Shape);
        var expected = Ref.Indices(shape).Select(i => r(Ref.At(xa, sa, i), Ref.At(xb, sb, i))).ToArray();
        Ref.Close(expected, y.ToArray<float>(), TestDevices.Tol(d, 2e-6), op);
    }

    [Theory, MemberData(nameof(TestDevices.All), MemberType = typeof(TestDevices))]
    public void BroadcastErrorNamesOpAndBothShapes(string device)
    {
        var d = TestDevices.Use(device);
        var e = Assert.Throws<ArgumentException>(() => Tensor.Zeros([2, 3], device: d) + Tensor.Zeros([4], device: d));
        Assert.Contains("Add", e.Message);
        Assert.Contains("[2, 3]", e.Message);
        Assert.Contains("[4]", e.Message);
    }

    [Theory, MemberData(nameof(TestDevices.All), MemberType = typeof(TestDevices))]
    public void WhereSelectsWithBroadcasting(string device)
    {
        var d = TestDevices.Use(device);
        var x = Tensor.FromArray(new float[] { -1, 2, -3, 4, float.NaN, 6 }, [2, 3], d);
        var y = Tensor.Where(x.Gt(0f), x, Tensor.Scalar(0f, d));
        Assert.Equal(new float[] { 0, 2, 0, 4, 0, 6 }, y.ToArray<float>());
        var z = Tensor.Where(Tensor.FromArray(new float[] { 1, 0 }, [2, 1], d), Tensor.Ones([3], device: d),
            Tensor.Zeros([2, 3], device: d));
        Assert.Equal(new float[] { 1, 1, 1, 0, 0, 0 }, z.ToArray<float>());
    }

    [Theory, MemberData(nameof(TestDevices.All), MemberType = typeof(TestDevices))]
    public void IntegerTensorsAreRefusedByFloatMathWithAClearMessage(string device)
    {
        var d = TestDevices.Use(device);
        var e = Assert.Throws<NotSupportedException>(() => Tensor.Arange(3, DType.Int64, d).Exp());
        Assert.Contains("Exp", e.Message);
        Assert.Contains("int64", e.Message);
    }

    [Fact]
    public void LargeTensorsSplitAcrossCoresGiveTheSameResult()
    {
        // Above the parallel threshold the CPU backend splits work; the result must equal the sequential formula.
        var data = Ref.Random(200_003, 5);
        var x = Tensor.FromArray(data);
        var y = (x * x + 1f).ToArray<float>();
        for (int i = 0; i < data.Length; i += 997) Assert.Equal(data[i] * data[i] + 1f, y[i]);
        var b = Tensor.FromArray(Ref.Random(613, 6));
        var z = (x.Slice(0, 0, 200_003 - 200_003 % 613).Reshape(-1, 613) - b).ToArray<float>();
        Assert.Equal(data[613 * 5 + 7] - b.ToArray<float>()[7], z[613 * 5 + 7]);
    }

    /// <summary>Large dense operands take the four-per-thread kernels on accelerators; ragged tails and offsets that are not
    /// a multiple of four (which fall back to the strided kernel) must give the same values as the CPU.</summary>
    [Theory, MemberData(nameof(TestDevices.Accelerators), MemberType = typeof(TestDevices))]
    public void DenseFastPathMatchesTheCpuForTailsAndOffsets(string device)
    {
        var d = TestDevices.Use(device);
        var xs = Ref.Random(10010, 1); var ys = Ref.Random(10010, 2);
        var xc = Tensor.FromArray(xs); var yc = Tensor.FromArray(ys);
        var xd = Tensor.FromArray(xs, device: d); var yd = Tensor.FromArray(ys, device: d);
        foreach (int n in new[] { 4096, 4099, 10001 })
            foreach (int off in new[] { 0, 4, 1 })
            {
                Tensor S(Tensor t, int o) => t.Slice(0, o, o + n);
                Assert.Equal(S(xc, off).Relu().ToArray<float>(), S(xd, off).Relu().ToArray<float>());
                Assert.Equal((S(xc, off) + S(yc, 4)).ToArray<float>(), (S(xd, off) + S(yd, 4)).ToArray<float>());
                Assert.Equal((S(xc, 4) * S(yc, off)).ToArray<float>(), (S(xd, 4) * S(yd, off)).ToArray<float>());
            }
    }

    /// <summary>Long dense runs on the CPU are written with non-temporal stores after peeling to 32-byte alignment; a
    /// misaligned start, a ragged end and an in-place update must give exactly the scalar results.</summary>
    [Fact]
    public void CpuStreamingStoresMatchTheScalarRule()
    {
        int n = 5_000_003;
        var xs = Ref.Random(n + 3, 7); var ys = Ref.Random(n + 3, 8);
        var x = Tensor.FromArray(xs).Slice(0, 3); var y = Tensor.FromArray(ys).Slice(0, 1, n + 1);
        var exp = (x + 2f).Exp().ToArray<float>(); // never 0: an element the stream skipped cannot pass by luck
        var sum = (x + y).ToArray<float>();
        var relu = x.Relu().ToArray<float>();
        int bad = -1;
        for (int i = 0; i < n && bad < 0; i++)
            if (Math.Abs(exp[i] - MathF.Exp(xs[i + 3] + 2f)) > 1e-5f * MathF.Exp(xs[i + 3] + 2f) || sum[i] != xs[i + 3] + ys[i + 1] ||
                relu[i] != MathF.Max(xs[i + 3], 0f)) bad = i;
        Assert.True(bad < 0, $"element {bad} differs from the scalar rule");
        var z = Tensor.FromArray(xs);
        z.AddInPlace(Tensor.FromArray(ys));
        var zs = z.ToArray<float>();
        for (int i = 0; i < n + 3 && bad < 0; i++) if (zs[i] != xs[i] + ys[i]) bad = i;
        Assert.True(bad < 0, $"in place: element {bad} differs");
    }
}

/// <summary>In-place writes whose source shares memory with the destination read the source as it was before the write.</summary>
public class InPlaceOverlapTests
{
    public static TheoryData<string, string> Cases()
    {
        var d = new TheoryData<string, string>();
        foreach (var dev in TestDevices.Names) foreach (var c in Ops.Keys) d.Add(dev, c);
        return d;
    }

    /// <summary>Each case: the in-place write on x (4×4, values 0..15) and the same computed from an independent copy.</summary>
    private static readonly Dictionary<string, (Action<Tensor> InPlace, Func<Tensor, Tensor> Expected)> Ops = new()
    {
        ["copy transpose"] = (x => x.CopyFrom(x.T), x => x.T.Contiguous()),
        ["add transpose"] = (x => x.AddInPlace(x.T), x => x + x.T),
        ["sub self"] = (x => x.SubInPlace(x), x => x - x),
        ["mul broadcast row"] = (x => x.MulInPlace(x.Slice(0, 0, 1)), x => x * x.Slice(0, 0, 1)),
        ["copy shifted rows"] = (x => x.Slice(0, 1).CopyFrom(x.Slice(0, 0, 3)),
            x => Tensor.Concat([x.Slice(0, 0, 1), x.Slice(0, 0, 3)])),
        ["copy odd columns to even"] = (x => x.Slice(1, 0, null, 2).CopyFrom(x.Slice(1, 1, null, 2)),
            x => Tensor.Stack([x.Select(1, 1), x.Select(1, 1), x.Select(1, 3), x.Select(1, 3)], 1)),
        ["div flipped halves"] = (x => x.Slice(0, 0, 2).DivInPlace(x.Slice(0, 1, 3)),
            x => Tensor.Concat([x.Slice(0, 0, 2) / x.Slice(0, 1, 3), x.Slice(0, 2)])),
    };

    [Theory, MemberData(nameof(Cases))]
    public void OverlappingSourcesAreReadBeforeTheWrite(string device, string op)
    {
        var d = TestDevices.Use(device);
        var values = Enumerable.Range(1, 16).Select(v => (float)v).ToArray();
        var x = Tensor.FromArray(values, [4, 4], d);
        var expected = Ops[op].Expected(Tensor.FromArray(values, [4, 4], d)).ToArray<float>();
        Ops[op].InPlace(x);
        Assert.Equal(expected, x.ToArray<float>());
    }
}
