using DeepSharp.Backends;
using DeepSharp.Ops;

namespace DeepSharp.Optim;

/// <summary>
/// Gradient clipping, between <c>Backward</c> and the optimizer's <c>Step</c> (PyTorch's
/// <c>torch.nn.utils.clip_grad_norm_</c> and <c>clip_grad_value_</c>): <c>ClipGrad.Norm(net.Parameters(), maxNorm: 1f)</c>.
/// Everything stays on the gradients' device: the norm is one pass over all the gradients (no host read), and the scale is
/// applied on the device whether or not it clips, as PyTorch does.
/// </summary>
public static class ClipGrad
{
    /// <summary>
    /// Scales every gradient in place by min(1, maxNorm / (total + 1e-6)), where total is the norm of all the gradients
    /// together (as if concatenated into one vector), and returns total as a scalar tensor on their device (float32, or
    /// float64 when a gradient is float64; torch.nn.utils.clip_grad_norm_). Parameters without a gradient (or without a
    /// tensor yet) are skipped; with no gradient at all the norm is a CPU zero. A NaN or infinite gradient gives a NaN or
    /// infinite norm, and then NaN gradients (PyTorch's default, error_if_nonfinite = false).
    /// </summary>
    /// <param name="parameters">A model's parameters (<c>net.Parameters()</c>) or tensors.</param>
    /// <param name="maxNorm">The largest norm kept (≥ 0).</param>
    /// <param name="normType">p of the p-norm (&gt; 0), or <see cref="float.PositiveInfinity"/> for the largest magnitude.</param>
    /// <exception cref="ArgumentNullException">The sequence or an item is null.</exception>
    /// <exception cref="ArgumentOutOfRangeException">maxNorm is negative or NaN, or normType is not &gt; 0.</exception>
    /// <exception cref="ArgumentException">Gradients are on different devices, or one is not float32 or float64.</exception>
    public static Tensor Norm(IEnumerable<IParameter> parameters, float maxNorm, float normType = 2f)
    {
        if (!(maxNorm >= 0))
            throw new ArgumentOutOfRangeException(nameof(maxNorm), $"ClipGrad.Norm: maxNorm must be >= 0, got {maxNorm}.");
        if (!(normType > 0))
            throw new ArgumentOutOfRangeException(nameof(normType), $"ClipGrad.Norm: normType must be > 0 (or infinity), got {normType}.");
        var grads = Gradients(parameters, "ClipGrad.Norm");
        if (grads.Count == 0) return Tensor.Zeros([]);
        if (grads.All(g => g.Count == 0)) return Tensor.Zeros([], device: grads[0].Device); // nothing to scale
        using var _ = Autograd.NoGrad();
        var total = TotalNorm(grads, normType);
        using (var shifted = total + 1e-6f)
        using (var ratio = maxNorm / shifted)
        using (var coef = ratio.Clamp(max: 1f))
            foreach (var g in grads) g.MulInPlace(coef);
        return total;
    }

    /// <summary>Clamps every gradient in place to [-clipValue, clipValue] (torch.nn.utils.clip_grad_value_); parameters
    /// without a gradient are skipped.</summary>
    /// <exception cref="ArgumentNullException">The sequence or an item is null.</exception>
    /// <exception cref="ArgumentOutOfRangeException">clipValue is negative or NaN.</exception>
    /// <exception cref="ArgumentException">A gradient is not float32 or float64.</exception>
    public static void Value(IEnumerable<IParameter> parameters, float clipValue)
    {
        if (!(clipValue >= 0))
            throw new ArgumentOutOfRangeException(nameof(clipValue), $"ClipGrad.Value: clipValue must be >= 0, got {clipValue}.");
        using var _ = Autograd.NoGrad();
        foreach (var g in Gradients(parameters, "ClipGrad.Value")) g.InPlace("ClipGrad.Value", new ClampOp(-clipValue, clipValue));
    }

    /// <summary>The gradients of the parameters that have one (each tensor once).</summary>
    private static List<Tensor> Gradients(IEnumerable<IParameter> parameters, string op)
    {
        ArgumentNullException.ThrowIfNull(parameters);
        var seen = new HashSet<Tensor>(ReferenceEqualityComparer.Instance);
        var grads = new List<Tensor>();
        int i = 0;
        foreach (var p in parameters)
        {
            if (p is null) throw new ArgumentNullException(nameof(parameters), $"{op}: parameter {i} is null.");
            i++;
            if (!p.IsInitialized || p.Data is not { Grad: { } g } t || !seen.Add(t)) continue;
            if (g.DType is not (DType.Float32 or DType.Float64))
                throw new ArgumentException($"{op}: the gradient of parameter {i - 1} is {g.DType.Name()}, not float32 or float64.",
                    nameof(parameters));
            if (grads.Count > 0 && g.Device != grads[0].Device)
                throw new ArgumentException($"{op}: gradients are on {grads[0].Device} and {g.Device}; clip each device's parameters " +
                    "on their own.", nameof(parameters));
            grads.Add(g);
        }
        return grads;
    }

    /// <summary>The p-norm of all the gradients: one pass (<see cref="IBackend.GradNormPartials"/>) and one reduction per
    /// dtype; float32 and float64 gradients together give the float64 norm of both groups' norms (as PyTorch's
    /// foreach clipping, which groups by dtype).</summary>
    internal static Tensor TotalNorm(List<Tensor> grads, float p)
    {
        if (grads.Any(g => g.DType != grads[0].DType))
        {
            var norms = grads.GroupBy(g => g.DType).Select(group => TotalNorm(group.ToList(), p).To(DType.Float64)).ToList();
            using var stacked = Tensor.Stack(norms);
            foreach (var n in norms) n.Dispose();
            var kind = GradNormTerm.Kind(p);
            if (kind == GradNormKind.Inf) return stacked.Max();
            using var powered = kind == GradNormKind.One ? null : stacked.Pow(p);
            using var sum = (powered ?? stacked).Sum();
            return kind == GradNormKind.One ? sum.Clone() : kind == GradNormKind.Two ? sum.Sqrt() : Root(sum, p);
        }
        return TotalNormOfOneDType(grads, p);
    }

    /// <summary>sum^(1/p), the exponent in the sum's precision (a float32 1/3 would cost a float64 norm 2e−8).</summary>
    private static Tensor Root(Tensor sum, float p) =>
        sum.DType == DType.Float64 ? sum.Pow(Tensor.Full([], 1.0 / p, DType.Float64, sum.Device)) : sum.Pow(1f / p);

    private static Tensor TotalNormOfOneDType(List<Tensor> grads, float p)
    {
        var dense = grads.Select(g => g.Dense()).ToList();
        var items = dense.Select(g => new GradNormItem(g.Storage, g.Layout.Offset, g.Count)).ToList();
        var backend = grads[0].Backend;
        using var partials = Tensor.Allocate([backend.GradNormPartialCount(items)], grads[0].DType, grads[0].Device);
        backend.GradNormPartials(items, partials.Storage, p);
        for (int i = 0; i < grads.Count; i++) grads[i].ReleaseDense(dense[i]);
        var kind = GradNormTerm.Kind(p);
        if (kind == GradNormKind.Inf) return partials.Max();
        var sum = partials.Sum();
        if (kind == GradNormKind.One) return sum;
        using (sum) return kind == GradNormKind.Two ? sum.Sqrt() : Root(sum, p);
    }
}
