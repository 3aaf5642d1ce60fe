using DeepSharp.Backends;

namespace DeepSharp;

// Batch, layer and group normalization: one fused launch for the statistics and one to normalize; backward one reduction
// launch and one for dx (Grads.Norms).
public static partial class Functional
{
    /// <summary>
    /// Batch normalization (PyTorch's <c>F.batch_norm</c>): x [N, C, *] normalized per channel over N and the trailing dims,
    /// y = (x − mean)/√(var + eps)·weight + bias, weight and bias [C] (null: 1 and 0). With <paramref name="training"/> the
    /// batch's mean and biased variance are used, and the running statistics (when given) are updated in place:
    /// running = (1 − momentum)·running + momentum·batch, with the unbiased variance var·m/(m − 1) (m = N·spatial).
    /// Without it the running statistics are used (as constants: no gradient flows into them).
    /// </summary>
    /// <exception cref="ArgumentNullException">x is null.</exception>
    /// <exception cref="ArgumentException">x has fewer than 2 dims; a statistic or affine tensor is not [C]; only one of the
    /// running statistics is given, or none in eval mode; training with one value per channel.</exception>
    /// <exception cref="ArgumentOutOfRangeException">eps is negative or NaN.</exception>
    /// <exception cref="NotSupportedException">A tensor is not float32 or float64 (float64 anywhere: computed in float64).</exception>
    /// <exception cref="DeviceMismatchException">The tensors are on different devices.</exception>
    public static Tensor BatchNorm(Tensor x, Tensor? runningMean, Tensor? runningVar, Tensor? weight = null, Tensor? bias = null,
        bool training = false, float momentum = 0.1f, float eps = 1e-5f)
    {
        const string op = nameof(BatchNorm);
        if (Autocast.AnyHalf(Check.NotNull(op, x, nameof(x)), weight, bias, runningMean, runningVar)) // in float32, x's dtype out
            return BatchNormWidened(x, runningMean, runningVar, weight, bias, training, momentum, eps);
        Check.Computes(op, x, nameof(x));
        if (x.Rank < 2)
            throw new ArgumentException(
                $"{op}: expected input [batch, channels, ...] (2 or more dims), got {Layout.Format(x.Layout.ShapeArray)}.", nameof(x));
        var shape = x.Layout.ShapeArray;
        int n = shape[0], c = shape[1], s = Layout.Numel(shape[2..]);
        PerChannel(op, x, runningMean, nameof(runningMean), c);
        PerChannel(op, x, runningVar, nameof(runningVar), c);
        PerChannel(op, x, weight, nameof(weight), c);
        PerChannel(op, x, bias, nameof(bias), c);
        CheckEps(op, eps);
        if (runningMean is null != runningVar is null)
            throw new ArgumentException($"{op}: give both runningMean and runningVar or neither; got only " +
                $"{(runningMean is null ? nameof(runningVar) : nameof(runningMean))}.",
                runningMean is null ? nameof(runningMean) : nameof(runningVar));
        if (!training && runningMean is null)
            throw new ArgumentException($"{op}: eval mode (training: false) normalizes with the running statistics; runningMean and " +
                "runningVar are null. Pass them, or training: true to use the batch's statistics.", nameof(runningMean));
        long perChannel = (long)n * s;
        if (training && perChannel == 1)
            throw new ArgumentException($"{op}: expected more than 1 value per channel when training, got input size " +
                $"{Layout.Format(shape)}.", nameof(x));
        if (AnyFloat64(x, runningMean, runningVar, weight, bias))
            return BatchNorm64(x, runningMean, runningVar, weight, bias, training, momentum, eps);
        var a = new NormArgs
        {
            Outer = n, Slots = c, Inner = s, StatDiv = 1, AffinePeriod = Math.Max(c, 1), AffineDiv = Math.Max(s, 1), Eps = eps,
            Affine = Affine(weight, bias), Statistics = training ? NormStatistics.Batch : NormStatistics.Fixed,
        };
        var xd = x.Dense();
        Tensor mean, var;
        if (training)
        {
            (mean, var) = Tensor.NormStats(xd, a);
            if (runningMean is not null && perChannel > 0) UpdateRunning(runningMean, runningVar!, mean, var, momentum, perChannel);
        }
        else (mean, var) = (runningMean!.DenseFromZero(), runningVar!.DenseFromZero());
        var plan = new NormPlan(NormKind.Batch, a, n, c, 0, [c]);
        return RecordNorm(op, x, xd, weight, bias, mean, var, plan, owned: training);
    }

    /// <summary>Batch norm with a 16-bit input, weight, bias or running statistic: computed in float32 (the weights' casts
    /// recorded, so their gradients come back 16-bit), the result in x's dtype; 16-bit running statistics are read from
    /// float32 copies and, when training, written back rounded once.</summary>
    private static Tensor BatchNormWidened(Tensor x, Tensor? runningMean, Tensor? runningVar, Tensor? weight, Tensor? bias,
        bool training, float momentum, float eps)
    {
        Tensor? Wide(Tensor? s) => s is not null && Autocast.IsHalf(s) ? s.Detach().To(DType.Float32) : null;
        var (mean, var) = (Wide(runningMean), Wide(runningVar)); // in eval mode the graph keeps them (backward reads them)
        var y = Autocast.InFloat32([x, weight, bias], x.DType,
            t => BatchNorm(t[0]!, mean ?? runningMean, var ?? runningVar, t[1], t[2], training, momentum, eps));
        if (training)
            using (Autograd.NoGrad())
            {
                if (mean is not null) { runningMean!.CopyFrom(mean); mean.Dispose(); }
                if (var is not null) { runningVar!.CopyFrom(var); var.Dispose(); }
            }
        return y;
    }

    /// <summary>running = (1 − momentum)·running + momentum·batch, with the unbiased batch variance (not recorded).</summary>
    private static void UpdateRunning(Tensor runningMean, Tensor runningVar, Tensor mean, Tensor var, float momentum, long m)
    {
        using var _ = Autograd.NoGrad();
        using (var scaled = mean * momentum) runningMean.MulInPlace(1f - momentum).AddInPlace(scaled);
        using (var scaled = var * (float)(momentum * (double)m / (m - 1))) runningVar.MulInPlace(1f - momentum).AddInPlace(scaled);
    }

    /// <summary>
    /// Layer normalization (PyTorch's <c>F.layer_norm</c>): x [..., *normalizedShape] normalized over its trailing dims
    /// <paramref name="normalizedShape"/> (mean and biased variance per row), y = (x − mean)/√(var + eps)·weight + bias with
    /// weight and bias of shape normalizedShape (null: 1 and 0).
    /// </summary>
    /// <exception cref="ArgumentNullException">x or normalizedShape is null.</exception>
    /// <exception cref="ArgumentException">x's trailing dims are not normalizedShape, or weight or bias has another shape.</exception>
    /// <exception cref="ArgumentOutOfRangeException">eps is negative or NaN.</exception>
    /// <exception cref="NotSupportedException">A tensor is not float32 or float64 (float64 anywhere: computed in float64).</exception>
    /// <exception cref="DeviceMismatchException">The tensors are on different devices.</exception>
    public static Tensor LayerNorm(Tensor x, int[] normalizedShape, Tensor? weight = null, Tensor? bias = null, float eps = 1e-5f)
    {
        const string op = nameof(LayerNorm);
        if (Autocast.AnyHalf(Check.NotNull(op, x, nameof(x)), weight, bias)) // on the float32 list; 16-bit weights widened too
            return Autocast.InFloat32([x, weight, bias], Autocast.Float32ListResult(x),
                t => LayerNorm(t[0]!, normalizedShape, t[1], t[2], eps));
        Check.Computes(op, x, nameof(x));
        Check.NotNull(op, normalizedShape, nameof(normalizedShape));
        var shape = x.Layout.ShapeArray;
        int k = normalizedShape.Length;
        if (k == 0 || k > shape.Length || !shape.AsSpan(shape.Length - k).SequenceEqual(normalizedShape))
            throw new ArgumentException($"{op}: normalizedShape {Layout.Format(normalizedShape)} must be 1 or more trailing dims of x, " +
                $"got x of shape {Layout.Format(shape)}.", nameof(normalizedShape));
        foreach (var (t, name) in new[] { (weight, nameof(weight)), (bias, nameof(bias)) })
        {
            if (t is null) continue;
            Check.Computes(op, t, name);
            Check.SameDevice(op, x, nameof(x), t, name);
            if (!t.Layout.ShapeArray.AsSpan().SequenceEqual(normalizedShape))
                throw new ArgumentException($"{op}: {name} must have normalizedShape {Layout.Format(normalizedShape)}, got " +
                    $"{Layout.Format(t.Layout.ShapeArray)}.", name);
        }
        CheckEps(op, eps);
        if (AnyFloat64(x, weight, bias)) return LayerNorm64(x, k, weight, bias, eps);
        int d = Layout.Numel(normalizedShape), rows = Layout.Numel(shape[..^k]);
        var a = new NormArgs
        {
            Outer = 1, Slots = rows, Inner = d, StatDiv = 1, AffinePeriod = 1, AffineDiv = 1, Eps = eps, Affine = Affine(weight, bias),
        };
        var xd = x.Dense();
        var (mean, var) = Tensor.NormStats(xd, a);
        return RecordNorm(op, x, xd, weight, bias, mean, var, new NormPlan(NormKind.Layer, a, rows, d, 0, [.. normalizedShape]), true);
    }

    /// <summary>
    /// Group normalization (PyTorch's <c>F.group_norm</c>): x [N, C, *] with its C channels split into
    /// <paramref name="numGroups"/> groups, each (sample, group) normalized over its channels and trailing dims, then
    /// y = x̂·weight + bias per channel (weight and bias [C]; null: 1 and 0).
    /// </summary>
    /// <exception cref="ArgumentNullException">x is null.</exception>
    /// <exception cref="ArgumentException">x has fewer than 2 dims, C is not divisible by numGroups, or weight or bias is not
    /// [C].</exception>
    /// <exception cref="ArgumentOutOfRangeException">numGroups is below 1, or eps is negative or NaN.</exception>
    /// <exception cref="NotSupportedException">A tensor is not float32 or float64 (float64 anywhere: computed in float64).</exception>
    /// <exception cref="DeviceMismatchException">The tensors are on different devices.</exception>
    public static Tensor GroupNorm(Tensor x, int numGroups, Tensor? weight = null, Tensor? bias = null, float eps = 1e-5f)
    {
        const string op = nameof(GroupNorm);
        if (Autocast.AnyHalf(Check.NotNull(op, x, nameof(x)), weight, bias)) // on the float32 list; 16-bit weights widened too
            return Autocast.InFloat32([x, weight, bias], Autocast.Float32ListResult(x), t => GroupNorm(t[0]!, numGroups, t[1], t[2], eps));
        Check.Computes(op, x, nameof(x));
        if (x.Rank < 2)
            throw new ArgumentException(
                $"{op}: expected input [batch, channels, ...] (2 or more dims), got {Layout.Format(x.Layout.ShapeArray)}.", nameof(x));
        if (numGroups < 1)
            throw new ArgumentOutOfRangeException(nameof(numGroups), numGroups, $"{op}: numGroups must be >= 1, got {numGroups}.");
        var shape = x.Layout.ShapeArray;
        int n = shape[0], c = shape[1], s = Layout.Numel(shape[2..]);
        if (c % numGroups != 0)
            throw new ArgumentException($"{op}: expected the number of channels to be divisible by numGroups, but got input of shape " +
                $"{Layout.Format(shape)} ({c} channels) and numGroups = {numGroups}.", nameof(numGroups));
        PerChannel(op, x, weight, nameof(weight), c);
        PerChannel(op, x, bias, nameof(bias), c);
        CheckEps(op, eps);
        if (AnyFloat64(x, weight, bias)) return GroupNorm64(x, numGroups, weight, bias, eps);
        var a = new NormArgs
        {
            Outer = 1, Slots = n * numGroups, Inner = c / numGroups * s, StatDiv = 1, AffinePeriod = numGroups, AffineDiv = Math.Max(s, 1),
            Eps = eps, Affine = Affine(weight, bias),
        };
        var xd = x.Dense();
        var (mean, var) = Tensor.NormStats(xd, a);
        return RecordNorm(op, x, xd, weight, bias, mean, var, new NormPlan(NormKind.Group, a, n, c, numGroups, [c]), true);
    }

    /// <summary>Normalizes, and records one node when anything needs a gradient; otherwise releases what only backward
    /// would read (<paramref name="owned"/>: mean and var are this op's own).</summary>
    private static Tensor RecordNorm(string op, Tensor x, Tensor xd, Tensor? weight, Tensor? bias, Tensor mean, Tensor var, NormPlan p,
        bool owned)
    {
        var w = weight?.DenseFromZero(); var b = bias?.DenseFromZero();
        var y = Tensor.NormForward(xd, mean, var, w, b, p.Args);
        if (w is not null) weight!.ReleaseDense(w);
        if (b is not null) bias!.ReleaseDense(b);
        bool record = Autograd.IsEnabled && (x.RequiresGrad || weight is { RequiresGrad: true } || bias is { RequiresGrad: true });
        if (!record)
        {
            x.ReleaseDense(xd);
            if (owned) { mean.Dispose(); var.Dispose(); }
            return y;
        }
        Tensor[] inputs = [x, .. weight is null ? Array.Empty<Tensor>() : [weight], .. bias is null ? Array.Empty<Tensor>() : [bias]];
        Tensor[] saved = [xd, mean, var, .. weight is null ? Array.Empty<Tensor>() : [weight]];
        return Autograd.Record(y, op, inputs, g => Grads.Norm(g, x, xd, weight, bias, mean, var, p), saved);
    }

    private static NormAffine Affine(Tensor? weight, Tensor? bias) =>
        (weight is null ? NormAffine.None : NormAffine.Weight) | (bias is null ? NormAffine.None : NormAffine.Bias);

    /// <summary>An optional per-channel tensor: float32 or float64, on x's device, [C].</summary>
    private static void PerChannel(string op, Tensor x, Tensor? t, string name, int channels)
    {
        if (t is null) return;
        Check.Computes(op, t, name);
        Check.SameDevice(op, x, nameof(x), t, name);
        if (t.Rank != 1 || t.Count != channels)
            throw new ArgumentException($"{op}: {name} must be [channels] = [{channels}] for input of shape " +
                $"{Layout.Format(x.Layout.ShapeArray)}, got {Layout.Format(t.Layout.ShapeArray)}.", name);
    }

    private static void CheckEps(string op, float eps)
    {
        if (!(eps >= 0))
            throw new ArgumentOutOfRangeException(nameof(eps), eps, $"{op}: eps must be >= 0, got {eps}.");
    }
}
