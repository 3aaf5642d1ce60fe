namespace DeepSharp.Tests;

/// <summary>
/// Batch, layer and group normalization (<see cref="Functional.BatchNorm"/>, <see cref="Functional.LayerNorm"/>,
/// <see cref="Functional.GroupNorm"/>) on every device: the output and the gradients of x, weight and bias against a
/// double-precision reference, finite differences, the running statistics step by step, and the error messages.
/// </summary>
public class NormTests
{
    /// <summary>A case: the norm, x's shape, the groups (GroupNorm) or normalized dims (LayerNorm), whether it has weight and
    /// bias, x's common offset, training (BatchNorm).</summary>
    public sealed record Case(string Kind, int[] Shape, int Param = 0, bool Affine = true, float Offset = 0f, bool Training = true);

    public static readonly Dictionary<string, Case> Cases = new()
    {
        ["bn_4d"] = new("bn", [3, 4, 2, 3]),
        ["bn_2d"] = new("bn", [5, 3]),
        ["bn_c1_odd"] = new("bn", [4, 1, 37]),
        ["bn_no_affine"] = new("bn", [2, 3, 7], Affine: false),
        ["bn_large_slot"] = new("bn", [9, 2, 61]),
        ["bn_offset"] = new("bn", [4, 2, 9], Offset: 1e4f),
        ["bn_eval"] = new("bn", [3, 4, 5], Training: false),
        ["bn_eval_no_affine"] = new("bn", [6, 2], Affine: false, Training: false),
        ["ln_row"] = new("ln", [3, 5], 1),
        ["ln_two_dims"] = new("ln", [2, 3, 4, 6], 2),
        ["ln_odd"] = new("ln", [7, 37], 1),
        ["ln_wide"] = new("ln", [2, 700], 1),
        ["ln_no_affine"] = new("ln", [4, 9], 1, Affine: false),
        ["ln_offset"] = new("ln", [3, 40], 1, Offset: 1e4f),
        ["gn_3_groups"] = new("gn", [2, 6, 3, 3], 3),
        ["gn_1_group"] = new("gn", [3, 4, 5], 1),
        ["gn_per_channel"] = new("gn", [2, 4, 3], 4),
        ["gn_no_spatial"] = new("gn", [3, 6], 2),
        ["gn_no_affine"] = new("gn", [2, 4, 11], 2, Affine: false),
        ["gn_offset"] = new("gn", [2, 4, 10], 2, Offset: 1e4f),
    };

    public static TheoryData<string, string> All()
    {
        var d = new TheoryData<string, string>();
        foreach (var dev in TestDevices.Names) foreach (var name in Cases.Keys) d.Add(dev, name);
        return d;
    }

    private const float Eps = 1e-5f;

    /// <summary>Per element: its statistic's key and its affine entry; the affine size.</summary>
    private static (int[] Key, int[] Affine, int Features, int[] AffineShape) Layout(Case c)
    {
        int count = c.Shape.Aggregate(1, (a, b) => a * b);
        var key = new int[count]; var aff = new int[count];
        if (c.Kind == "ln")
        {
            int d = c.Shape[^c.Param..].Aggregate(1, (a, b) => a * b);
            for (int e = 0; e < count; e++) { key[e] = e / d; aff[e] = e % d; }
            return (key, aff, d, c.Shape[^c.Param..]);
        }
        int n = c.Shape[0], ch = c.Shape[1], s = count / (n * ch);
        for (int e = 0; e < count; e++)
        {
            int channel = e / s % ch, sample = e / (s * ch);
            key[e] = c.Kind == "bn" ? channel : sample * c.Param + channel / (ch / c.Param);
            aff[e] = channel;
        }
        return (key, aff, ch, [ch]);
    }

    /// <summary>y, dx, dweight, dbias in double for loss Σ y·up, with statistics from x or (eval) the given ones.</summary>
    private static (double[] Y, double[] Dx, double[] Dw, double[] Db) Reference(Case c, float[] x, float[] w, float[] b, float[] up,
        float[]? runMean, float[]? runVar)
    {
        var (key, aff, f, _) = Layout(c);
        int keys = key.Max() + 1;
        var mean = new double[keys]; var var = new double[keys]; var m = new double[keys];
        for (int e = 0; e < x.Length; e++) { mean[key[e]] += x[e]; m[key[e]]++; }
        for (int k = 0; k < keys; k++) mean[k] /= m[k];
        for (int e = 0; e < x.Length; e++) var[key[e]] += (x[e] - mean[key[e]]) * (x[e] - mean[key[e]]);
        for (int k = 0; k < keys; k++) var[k] /= m[k];
        if (runMean is not null) { mean = runMean.Select(v => (double)v).ToArray(); var = runVar!.Select(v => (double)v).ToArray(); }
        var r = var.Select(v => 1 / Math.Sqrt(v + Eps)).ToArray();
        var xh = x.Select((v, e) => (v - mean[key[e]]) * r[key[e]]).ToArray();
        var y = xh.Select((v, e) => v * w[aff[e]] + b[aff[e]]).ToArray();
        var dw = new double[f]; var db = new double[f]; var sg = new double[keys]; var sgx = new double[keys];
        for (int e = 0; e < x.Length; e++)
        {
            db[aff[e]] += up[e]; dw[aff[e]] += up[e] * xh[e];
            sg[key[e]] += up[e] * w[aff[e]]; sgx[key[e]] += up[e] * w[aff[e]] * xh[e];
        }
        var dx = x.Select((_, e) =>
        {
            int k = key[e];
            double gw = up[e] * w[aff[e]];
            return runMean is null ? r[k] * (gw - sg[k] / m[k] - xh[e] * sgx[k] / m[k]) : r[k] * gw;
        }).ToArray();
        return (y, dx, dw, db);
    }

    private static Tensor Run(Case c, Tensor x, Tensor? w, Tensor? b, Tensor? runMean, Tensor? runVar) => c.Kind switch
    {
        "bn" => Functional.BatchNorm(x, runMean, runVar, w, b, training: c.Training),
        "ln" => Functional.LayerNorm(x, c.Shape[^c.Param..], w, b),
        _ => Functional.GroupNorm(x, c.Param, w, b),
    };

    [Theory, MemberData(nameof(All))]
    public void ForwardAndGradientsMatchTheReference(string device, string name)
    {
        var d = TestDevices.Use(device);
        var c = Cases[name];
        var (_, _, f, affineShape) = Layout(c);
        int count = c.Shape.Aggregate(1, (a, b) => a * b);
        var xs = Ref.Random(count, 11).Select(v => v * 1.5f + 0.3f + c.Offset).ToArray();
        var ups = Ref.Random(count, 12);
        var ws = c.Affine ? Ref.Random(f, 13, 0.5f, 1.5f) : Enumerable.Repeat(1f, f).ToArray();
        var bs = c.Affine ? Ref.Random(f, 14) : new float[f];
        float[]? rm = c.Training ? null : Ref.Random(f, 15, -0.5f, 0.5f), rv = c.Training ? null : Ref.Random(f, 16, 0.3f, 2f);
        var (y, dx, dw, db) = Reference(c, xs, ws, bs, ups, rm, rv);

        // x is a view at an offset of a larger storage (the kernels read from x's offset).
        var storage = Tensor.FromArray([.. new float[3], .. xs], [3 + count], d);
        var leaf = storage.Slice(0, 3).Reshape(c.Shape).Detach().RequiresGradient();
        var w = c.Affine ? Tensor.FromArray(ws, affineShape, d).RequiresGradient() : null;
        var b = c.Affine ? Tensor.FromArray(bs, affineShape, d).RequiresGradient() : null;
        var runMean = rm is null ? null : Tensor.FromArray(rm, device: d);
        var runVar = rv is null ? null : Tensor.FromArray(rv, device: d);
        var output = Run(c, leaf, w, b, runMean, runVar);
        Assert.Equal(c.Shape, output.Shape);
        (output * Tensor.FromArray(ups, c.Shape, d)).Sum().Backward();

        // A common offset of 1e4 leaves float32 inputs (and the mean) only ~1e-3 apart; the statistics must still hold.
        double tol = c.Offset != 0 ? 3e-3 : TestDevices.Tol(d, 2e-5);
        Ref.Close(y, output.ToArray<float>(), tol, $"{name} y on {device}");
        Ref.Close(dx, leaf.Grad!.ToArray<float>(), c.Offset != 0 ? 3e-2 : tol * 5, $"{name} dx on {device}");
        if (!c.Affine) return;
        Ref.Close(dw, w!.Grad!.ToArray<float>(), tol * 5, $"{name} dweight on {device}");
        Ref.Close(db, b!.Grad!.ToArray<float>(), tol * 5, $"{name} dbias on {device}");
    }

    public static readonly Dictionary<string, (int[][] Shapes, Func<Tensor[], Tensor> F)> FiniteCases = new()
    {
        ["batch_norm"] = ([[3, 2, 4], [2], [2]], x => Functional.BatchNorm(x[0], null, null, x[1], x[2], training: true)),
        ["batch_norm_2d_input"] = ([[4, 3], [3], [3]], x => Functional.BatchNorm(x[0], null, null, x[1], x[2], training: true)),
        ["batch_norm_eval"] = ([[3, 2, 2], [2], [2]], x => Functional.BatchNorm(x[0],
            Tensor.FromArray(new[] { 0.2f, -0.4f }, device: x[0].Device), Tensor.FromArray(new[] { 1.5f, 0.7f }, device: x[0].Device),
            x[1], x[2])),
        ["batch_norm_no_affine"] = ([[2, 3, 3]], x => Functional.BatchNorm(x[0], null, null, training: true)),
        ["layer_norm"] = ([[2, 3, 4], [3, 4], [3, 4]], x => Functional.LayerNorm(x[0], [3, 4], x[1], x[2])),
        ["layer_norm_transposed_input"] = ([[5, 3], [5]], x => Functional.LayerNorm(x[0].T, [5], x[1])),
        ["group_norm"] = ([[2, 4, 3], [4], [4]], x => Functional.GroupNorm(x[0], 2, x[1], x[2])),
        ["group_norm_bias_only"] = ([[2, 6], [6]], x => Functional.GroupNorm(x[0], 3, null, x[1])),
    };

    public static TheoryData<string, string> Finite()
    {
        var d = new TheoryData<string, string>();
        foreach (var dev in TestDevices.Names) foreach (var name in FiniteCases.Keys) d.Add(dev, name);
        return d;
    }

    /// <summary>Every gradient (x, weight, bias) against central differences of float32 forward passes on the CPU.</summary>
    [Theory, MemberData(nameof(Finite))]
    public void GradientsMatchFiniteDifferences(string device, string name)
    {
        var d = TestDevices.Use(device);
        var (shapes, f) = FiniteCases[name];
        var values = shapes.Select((s, i) => Enumerable.Range(0, s.Aggregate(1, (a, b) => a * b))
            .Select(j => (float)Math.Sin(1.3 * j + 0.7 * i + 0.2) * 1.5f + (i == 1 ? 1f : 0f)).ToArray()).ToArray();
        Tensor Up(int[] shape, Device dev) => Tensor.FromArray(Enumerable.Range(0, shape.Aggregate(1, (a, b) => a * b))
            .Select(j => (float)Math.Cos(0.9 * j + 0.3)).ToArray(), shape, dev);
        var inputs = values.Select((v, i) => Tensor.FromArray(v, shapes[i], d).RequiresGradient()).ToArray();
        var y = f(inputs);
        (y * Up(y.Shape, d)).Sum().Backward();
        const float eps = 1e-2f;
        for (int i = 0; i < inputs.Length; i++)
        {
            var analytic = inputs[i].Grad!.ToArray<float>();
            for (int j = 0; j < values[i].Length; j++)
            {
                double Loss(float delta)
                {
                    using var _ = Autograd.NoGrad();
                    var v = values.Select(a => (float[])a.Clone()).ToArray();
                    v[i][j] += delta;
                    var yy = f(v.Select((a, k) => Tensor.FromArray(a, shapes[k])).ToArray());
                    return yy.ToArray<float>().Zip(Up(yy.Shape, Device.Cpu).ToArray<float>(), (p, q) => (double)p * q).Sum();
                }
                double numeric = (Loss(eps) - Loss(-eps)) / (2 * eps);
                Assert.True(Math.Abs(numeric - analytic[j]) <= 2e-2 * (1 + Math.Abs(numeric)),
                    $"{name}: d/dx{i}[{j}] autograd {analytic[j]} vs finite differences {numeric} on {d}");
            }
        }
    }

    /// <summary>Three training steps update the running statistics in place as PyTorch does: running = (1 − m)·running +
    /// m·batch, with the unbiased variance; the output uses the batch's biased statistics.</summary>
    [Theory, MemberData(nameof(TestDevices.All), MemberType = typeof(TestDevices))]
    public void RunningStatisticsFollowPyTorchsRule(string device)
    {
        var d = TestDevices.Use(device);
        const int N = 4, C = 3, L = 5;
        const float momentum = 0.3f;
        var runMean = Tensor.Zeros([C], device: d); var runVar = Tensor.Ones([C], device: d);
        double[] rm = new double[C], rv = [1, 1, 1];
        for (int step = 0; step < 3; step++)
        {
            var xs = Ref.Random(N * C * L, 20 + step).Select(v => v * (step + 1) + step).ToArray();
            var y = Functional.BatchNorm(Tensor.FromArray(xs, [N, C, L], d), runMean, runVar, training: true, momentum: momentum);
            for (int c = 0; c < C; c++)
            {
                var v = Enumerable.Range(0, N * L).Select(k => (double)xs[(k / L * C + c) * L + k % L]).ToArray();
                double mean = v.Average(), unbiased = v.Sum(e => (e - mean) * (e - mean)) / (v.Length - 1);
                rm[c] = (1 - momentum) * rm[c] + momentum * mean;
                rv[c] = (1 - momentum) * rv[c] + momentum * unbiased;
            }
            Ref.Close(rm, runMean.ToArray<float>(), 1e-5, $"running mean after step {step + 1} on {device}");
            Ref.Close(rv, runVar.ToArray<float>(), 1e-5, $"running var after step {step + 1} on {device}");
            Assert.Equal([N, C, L], y.Shape);
        }
    }

    [Theory, MemberData(nameof(TestDevices.All), MemberType = typeof(TestDevices))]
    public void BadArgumentsGetMessagesThatNameThem(string device)
    {
        var d = TestDevices.Use(device);
        var other = d == Device.Cpu ? Device.Parse("ilgpu-cpu") : Device.Cpu;
        var x = Tensor.Ones([2, 4, 3], device: d);
        void Throws<TE>(Action call, params string[] parts) where TE : Exception
        {
            var e = Assert.Throws<TE>(call);
            foreach (var p in parts) Assert.Contains(p, e.Message);
        }
        Throws<ArgumentException>(() => Functional.BatchNorm(Tensor.Ones([5], device: d), null, null, training: true), "BatchNorm", "[5]");
        Throws<ArgumentException>(() => Functional.BatchNorm(x, null, null, Tensor.Ones([3], device: d), training: true),
            "weight", "[4]", "[3]");
        Throws<ArgumentException>(() => Functional.BatchNorm(Tensor.Ones([1, 4], device: d), null, null, training: true),
            "more than 1 value per channel", "[1, 4]");
        Throws<ArgumentException>(() => Functional.BatchNorm(Tensor.Ones([1, 4, 1], device: d), null, null, training: true),
            "more than 1 value per channel");
        Throws<ArgumentException>(() => Functional.BatchNorm(x, null, null), "runningMean", "eval");
        Throws<ArgumentException>(() => Functional.BatchNorm(x, Tensor.Zeros([4], device: d), null, training: true), "runningVar");
        Throws<ArgumentException>(() => Functional.BatchNorm(x, Tensor.Zeros([3], device: d), Tensor.Ones([3], device: d)),
            "runningMean", "[4]");
        Throws<ArgumentOutOfRangeException>(() => Functional.BatchNorm(x, null, null, training: true, eps: -1f), "eps");
        Throws<NotSupportedException>(() => Functional.BatchNorm(x.To(DType.Int64), null, null, training: true), "'x'", "int64");
        Throws<DeviceMismatchException>(() => Functional.BatchNorm(x, null, null, Tensor.Ones([4], device: other), training: true),
            "weight", other.ToString());
        Throws<ArgumentException>(() => Functional.GroupNorm(Tensor.Ones([2, 5, 3], device: d), 2),
            "divisible", "numGroups = 2", "[2, 5, 3]");
        Throws<ArgumentOutOfRangeException>(() => Functional.GroupNorm(x, 0), "numGroups");
        Throws<ArgumentException>(() => Functional.GroupNorm(x, 2, bias: Tensor.Ones([2], device: d)), "bias", "[4]");
        Throws<ArgumentException>(() => Functional.GroupNorm(Tensor.Ones([4], device: d), 2), "GroupNorm", "[4]");
        Throws<ArgumentException>(() => Functional.LayerNorm(x, [4]), "normalizedShape", "[4]", "[2, 4, 3]");
        Throws<ArgumentException>(() => Functional.LayerNorm(x, []), "normalizedShape");
        Throws<ArgumentException>(() => Functional.LayerNorm(x, [4, 3], Tensor.Ones([12], device: d)), "weight", "[4, 3]", "[12]");
        Throws<ArgumentNullException>(() => Functional.LayerNorm(x, null!), "normalizedShape");
    }

    /// <summary>Edge shapes: an empty batch normalizes to an empty output and leaves the running statistics alone; one element
    /// per row of LayerNorm gives the bias (variance 0).</summary>
    [Theory, MemberData(nameof(TestDevices.All), MemberType = typeof(TestDevices))]
    public void EdgeShapes(string device)
    {
        var d = TestDevices.Use(device);
        var runMean = Tensor.FromArray(new[] { 0.5f, 1f }, device: d); var runVar = Tensor.Ones([2], device: d);
        var empty = Functional.BatchNorm(Tensor.Zeros([0, 2, 3], device: d), runMean, runVar, training: true);
        Assert.Equal([0, 2, 3], empty.Shape);
        Assert.Equal([0.5f, 1f], runMean.ToArray<float>());
        var y = Functional.LayerNorm(Tensor.FromArray(new[] { 3f, -7f }, [2, 1], d), [1], Tensor.Ones([1], device: d),
            Tensor.FromArray(new[] { 0.25f }, device: d));
        Assert.Equal([0.25f, 0.25f], y.ToArray<float>());
    }
}
