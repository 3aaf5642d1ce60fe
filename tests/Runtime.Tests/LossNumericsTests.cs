using DeepSharp;

namespace DeepSharp.Tests;

/// <summary>
/// The losses' values and gradients against double-precision references on the inputs where float32 goes wrong first:
/// large and mixed-magnitude logits, all-equal rows, -inf logits, a label whose logit is the max by far, and the logit
/// of exactly 0 that a zero-initialized last layer produces.
/// </summary>
public class LossNumericsTests
{
    /// <summary>log(1 + x) without losing x when it is below the spacing of doubles near 1 (Goldberg 1991, theorem 4).</summary>
    internal static double Log1p(double x)
    {
        double u = 1 + x;
        return u == 1 ? x : Math.Log(u) * x / (u - 1);
    }

    /// <summary>
    /// Double-precision cross-entropy of one row and its gradient: with m = max x (the first, k), loss = log Σ e^(x − m)
    /// − (x_label − m), where the max's own term (exactly 1) stays out of the sum: log(1 + Σ_{j≠k} e^(x_j − m)).
    /// </summary>
    internal static (double Loss, double[] Grad) CrossEntropyRef(float[] row, long label)
    {
        int k = 0;
        for (int j = 1; j < row.Length; j++) if (row[j] > row[k]) k = j;
        double m = row[k], rest = 0;
        for (int j = 0; j < row.Length; j++) if (j != k) rest += Math.Exp(row[j] - m);
        if (double.IsInfinity(m)) rest = double.NaN; // an all -inf or a +inf row: x − m is NaN (as in PyTorch)
        double loss = Log1p(rest) - (row[label] - m);
        var grad = row.Select((v, j) => Math.Exp(v - m) / (1 + rest) - (j == label ? 1 : 0)).ToArray();
        return (loss, grad);
    }

    private const float Inf = float.PositiveInfinity;

    [Fact]
    public void Log1pIsAccurateFromTinyToLargeArguments()
    {
        // The fused losses' log1p (a series below 0.5, so it never relies on a device's approximate log near 1).
        var xs = Enumerable.Range(-40, 41).Select(k => MathF.Pow(10, k / 1.5f))
            .Concat([0f, 0.3f, 0.4999f, 0.5f, 0.5001f, 0.7f, 1f, 3f, 1e30f]);
        foreach (float x in xs) Relative(Log1p(x), Ops.LossMath.Log1p(x), 3e-7, $"log1p({x:R})");
        Assert.True(float.IsNaN(Ops.LossMath.Log1p(float.NaN)));
        Assert.Equal(float.PositiveInfinity, Ops.LossMath.Log1p(float.PositiveInfinity));
    }

    /// <summary>Rows of 5 logits and their labels, each a way float32 cross-entropy can lose digits.</summary>
    public static readonly (float[] Row, long Label)[] CeRows =
    [
        ([1e4f, 1e4f - 1, 1e4f - 2, -1e4f, 1e4f + 0.5f], 1),   // large logits
        ([-1e4f, -1e4f + 1, -1e4f - 3, -1e4f + 2, -1e4f], 0),  // large negative logits
        ([1e6f, 1e6f - 1, 1e6f + 1, -1e6f, 0], 2),           // ±1e6
        ([1e6f, 3, -2, -1e6f, 1e-3f], 1),                    // mixed magnitudes: loss ≈ 1e6
        ([7, 7, 7, 7, 7], 3),                                // all equal: log 5
        ([1e4f, 1e4f, 1e4f, 1e4f, 1e4f], 0),                 // all equal and large
        ([-Inf, 0.5f, -Inf, 2, 1], 3),                       // -inf logits in the row
        ([30, 0, -1, 0.5f, 0], 0),                           // the label's logit is the max by far: loss ≈ 3e-13
        ([10, 0, 0, 0, 0], 0),                               // loss ≈ 1.8e-4
        ([1e4f, 1e4f - 20, 1e4f - 30, 1e4f - 25, 1e4f - 40], 0),
        ([-1.3f, 0.2f, 1.7f, -0.4f, 0.9f], 2),                 // ordinary
    ];

    /// <summary>|a − e| ≤ tol·|e| + floor, with NaN and ±inf matched exactly.</summary>
    internal static void Relative(double e, float a, double tol, string what, double floor = 0)
    {
        if (double.IsNaN(e)) { Assert.True(float.IsNaN(a), $"{what}: expected NaN, got {a}"); return; }
        if (double.IsInfinity(e)) { Assert.True(a == e, $"{what}: expected {e}, got {a}"); return; }
        Assert.True(Math.Abs(a - e) <= tol * Math.Abs(e) + floor, $"{what}: expected {e:R}, got {a:R} (relative tol {tol}, floor {floor})");
    }

    [Theory, MemberData(nameof(TestDevices.All), MemberType = typeof(TestDevices))]
    public void CrossEntropyKeepsFloat32PrecisionAtLargeLogits(string device)
    {
        var d = TestDevices.Use(device);
        int n = CeRows.Length, c = 5;
        var x = Tensor.FromArray(CeRows.SelectMany(r => r.Row).ToArray(), [n, c], d).RequiresGradient();
        var labels = Tensor.FromArray(CeRows.Select(r => r.Label).ToArray(), device: d);
        var refs = CeRows.Select(r => CrossEntropyRef(r.Row, r.Label)).ToArray();
        double tol = TestDevices.Tol(d, 1e-6);

        var rows = Functional.CrossEntropy(x, labels, Reduction.None);
        var lv = rows.ToArray<float>();
        for (int r = 0; r < n; r++) Relative(refs[r].Loss, lv[r], tol, $"loss of row {r}");
        rows.Backward(Tensor.Ones([n], device: d));
        var gv = x.Grad!.ToArray<float>();
        // The gradient is softmax − one-hot: each probability to float32 precision; p − 1 near 1 cancels (as in PyTorch).
        for (int r = 0; r < n; r++)
            for (int j = 0; j < c; j++) Relative(refs[r].Grad[j], gv[r * c + j], tol, $"d/dx[{r}, {j}]", 1e-7);

        // The fused mean (one launch on accelerators) and sum over the finite rows.
        var finite = Enumerable.Range(0, n).Where(r => !double.IsInfinity(refs[r].Loss)).ToArray();
        var xf = Tensor.FromArray(finite.SelectMany(r => CeRows[r].Row).ToArray(), [finite.Length, c], d).RequiresGradient();
        var lf = Tensor.FromArray(finite.Select(r => (int)CeRows[r].Label).ToArray(), device: d); // int32 labels too
        var mean = Functional.CrossEntropy(xf, lf);
        Relative(finite.Average(r => refs[r].Loss), mean.Item(), tol, "mean loss");
        Relative(finite.Sum(r => refs[r].Loss), Functional.CrossEntropy(xf, lf, Reduction.Sum).Item(), tol, "summed loss");
        mean.Backward();
        var gm = xf.Grad!.ToArray<float>();
        for (int i = 0; i < finite.Length; i++)
            for (int j = 0; j < c; j++)
                Relative(refs[finite[i]].Grad[j] / finite.Length, gm[i * c + j], tol, $"mean d/dx[{i}, {j}]", 1e-7 / finite.Length);
    }

    [Theory, MemberData(nameof(TestDevices.All), MemberType = typeof(TestDevices))]
    public void CrossEntropyOfNonFiniteRowsFollowsPyTorch(string device)
    {
        // PyTorch 1.13: F.cross_entropy(tensor([[-inf, 0.5, 1]]), tensor([0])) = inf with gradient [-1, 0.3775, 0.6225];
        // an all -inf row, a row holding +inf and a row holding NaN give NaN loss and NaN gradients.
        var d = TestDevices.Use(device);
        float[][] rows = [[-Inf, 0.5f, 1], [-Inf, -Inf, -Inf], [Inf, 0.5f, 1], [1, float.NaN, 2]];
        long[] label = [0, 0, 1, 2];
        var x = Tensor.FromArray(rows.SelectMany(r => r).ToArray(), [4, 3], d).RequiresGradient();
        var loss = Functional.CrossEntropy(x, Tensor.FromArray(label, device: d), Reduction.None);
        loss.Backward(Tensor.Ones([4], device: d));
        var lv = loss.ToArray<float>(); var gv = x.Grad!.ToArray<float>();
        for (int r = 0; r < 4; r++)
        {
            var (e, ge) = CrossEntropyRef(rows[r], label[r]);
            Relative(e, lv[r], TestDevices.Tol(d, 1e-6), $"loss of row {r}");
            for (int j = 0; j < 3; j++) Relative(ge[j], gv[r * 3 + j], TestDevices.Tol(d, 1e-6), $"d/dx[{r}, {j}]", 1e-7);
        }
    }

    /// <summary>Double-precision binary cross-entropy with logits (PyTorch's form) and its gradients.</summary>
    internal static (double Loss, double DLogit, double DTarget) BceRef(double x, double t) =>
        (Math.Max(x, 0) - x * t + Log1p(Math.Exp(-Math.Abs(x))), 1 / (1 + Math.Exp(-x)) - t, -x);

    [Theory, MemberData(nameof(TestDevices.All), MemberType = typeof(TestDevices))]
    public void BinaryCrossEntropyWithLogitsAtZeroLogitsHasGradientSigmoidMinusTarget(string device)
    {
        // The logit is exactly 0 (a zero-initialized last layer's first step): d/dx = σ(0) − t = 0.5 − t.
        var d = TestDevices.Use(device);
        float[] t = [0f, 1f, 0.3f, 0.5f];
        var x = Tensor.Zeros([4], device: d).RequiresGradient();
        var loss = Functional.BinaryCrossEntropyWithLogits(x, Tensor.FromArray(t, device: d), Reduction.Sum);
        loss.Backward();
        Assert.Equal(t.Select(v => 0.5f - v).ToArray(), x.Grad!.ToArray<float>());
        Relative(4 * Math.Log(2), loss.Item(), 1e-6, "loss");

        // A zero-initialized dense layer: its bias gradient is mean(σ(0) − t) from the first step.
        var inputs = Tensor.FromArray(Ref.Random(12, 5), [4, 3], d);
        var w = Tensor.Zeros([1, 3], device: d).RequiresGradient();
        var b = Tensor.Zeros([1], device: d).RequiresGradient();
        Functional.BinaryCrossEntropyWithLogits(Functional.Linear(inputs, w, b), Tensor.FromArray(t, [4, 1], d)).Backward();
        Relative(t.Average(v => 0.5 - v), b.Grad!.Item(), 1e-6, "bias gradient");

        // Argument errors name the op and the argument.
        var bad = Assert.Throws<NotSupportedException>(() => Functional.BinaryCrossEntropyWithLogits(x, Tensor.Zeros([4], DType.Int64, d)));
        Assert.Contains("BinaryCrossEntropyWithLogits", bad.Message);
        Assert.Contains("'targets'", bad.Message);
        Assert.Throws<ArgumentException>(() => Functional.BinaryCrossEntropyWithLogits(x, Tensor.Zeros([2, 2], device: d)));
        var other = d == Device.Cpu ? Device.IlgpuCpu : Device.Cpu;
        Assert.Throws<DeviceMismatchException>(() => Functional.BinaryCrossEntropyWithLogits(x, Tensor.Zeros([4], device: other)));
    }

    [Theory, MemberData(nameof(TestDevices.All), MemberType = typeof(TestDevices))]
    public void BinaryCrossEntropyWithLogitsMatchesDoubleReference(string device)
    {
        // Logits at and around 0, moderate, and large enough that e^-|x| is below float32's spacing near 1 (there the
        // loss is e^-|x| itself, kept by log1p); targets 0, 1 and soft.
        var d = TestDevices.Use(device);
        float[] logits = [0f, -0f, 1e-8f, -1e-8f, 0.5f, -0.5f, 1f, -1f, 3f, -3f, 17f, -17f, 20f, -20f, 40f, -40f, 100f, -100f];
        float[] targets = [0f, 1f, 0.25f];
        var xs = logits.SelectMany(v => targets.Select(_ => v)).ToArray();
        var ts = logits.SelectMany(_ => targets).ToArray();
        var x = Tensor.FromArray(xs, device: d).RequiresGradient();
        var t = Tensor.FromArray(ts, device: d).RequiresGradient();
        var loss = Functional.BinaryCrossEntropyWithLogits(x, t, Reduction.None);
        var upstream = Enumerable.Range(0, xs.Length).Select(i => 0.5f + 0.25f * (i % 3)).ToArray();
        loss.Backward(Tensor.FromArray(upstream, device: d));
        var lv = loss.ToArray<float>(); var gx = x.Grad!.ToArray<float>(); var gt = t.Grad!.ToArray<float>();
        double tol = TestDevices.Tol(d, 1e-6);
        for (int i = 0; i < xs.Length; i++)
        {
            var (l, dx, dt) = BceRef(xs[i], ts[i]);
            Relative(l, lv[i], tol, $"loss({xs[i]}, {ts[i]})", 1e-30);
            Relative(dx * upstream[i], gx[i], tol, $"d/dx({xs[i]}, {ts[i]})", 1e-7);
            Relative(dt * upstream[i], gt[i], tol, $"d/dt({xs[i]}, {ts[i]})");
        }

        // The mean: both gradients scaled by 1/n.
        x.Grad = null; t.Grad = null;
        Functional.BinaryCrossEntropyWithLogits(x, t).Backward();
        gx = x.Grad!.ToArray<float>(); gt = t.Grad!.ToArray<float>();
        for (int i = 0; i < xs.Length; i++)
        {
            var (_, dx, dt) = BceRef(xs[i], ts[i]);
            Relative(dx / xs.Length, gx[i], tol, $"mean d/dx({xs[i]}, {ts[i]})", 1e-8);
            Relative(dt / xs.Length, gt[i], tol, $"mean d/dt({xs[i]}, {ts[i]})");
        }
    }
}
