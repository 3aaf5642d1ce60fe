using DeepSharp.Backends;

namespace DeepSharp;

/// <summary>Which norm a <see cref="NormPlan"/> describes.</summary>
internal enum NormKind
{
    /// <summary>Per channel over (N, spatial).</summary>
    Batch,
    /// <summary>Per row over the normalized trailing dims.</summary>
    Layer,
    /// <summary>Per (n, group) over the group's channels and spatial positions.</summary>
    Group,
}

/// <summary>A recorded norm: its kind, the statistics view (<see cref="NormArgs"/>), the sizes N, C and groups (GroupNorm)
/// and the shape of its affine parameters.</summary>
internal sealed record NormPlan(NormKind Kind, NormArgs Args, int N, int C, int Groups, int[] AffineShape);

// The gradient rule of batch, layer and group norm: one reduction launch for the sums (two for LayerNorm's weight, a
// column reduction) and one launch for dx.
internal static partial class Grads
{
    /// <summary>
    /// Gradients [dx, dweight, dbias] of a norm (only for the tensors given; null where not needed). With x̂ = (x − μ)·r and
    /// y = x̂·w + b: dbias = Σ g, dweight = Σ g·x̂ per affine entry; with batch statistics dx = r·(g·w − mean(g·w) −
    /// x̂·mean(g·w·x̂)) over each statistic's elements, with fixed ones dx = r·g·w.
    /// </summary>
    public static Tensor?[] Norm(Tensor g, Tensor x, Tensor xd, Tensor? weight, Tensor? bias, Tensor mean, Tensor var, NormPlan p)
    {
        var gd = g.Dense();
        var a = p.Args with { XOffset = xd.Layout.Offset, GOffset = gd.Layout.Offset };
        bool needX = x.RequiresGrad, needW = weight is { RequiresGrad: true }, needB = bias is { RequiresGrad: true };
        var w = weight?.DenseFromZero();
        var (dx, dw, db) = p.Kind switch
        {
            NormKind.Batch => BatchNorm(xd, gd, w, mean, var, a, needX, needW || needB),
            NormKind.Layer => LayerNorm(xd, gd, w, mean, var, a, needX, needW || needB),
            _ => GroupNorm(xd, gd, w, mean, var, a, p, needX, needW || needB),
        };
        if (w is not null) weight!.ReleaseDense(w);
        g.ReleaseDense(gd);
        var grads = new List<Tensor?> { needX ? dx : null };
        if (weight is not null) grads.Add(needW ? Shaped(dw!, p.AffineShape) : null);
        if (bias is not null) grads.Add(needB ? Shaped(db!, p.AffineShape) : null);
        return [.. grads];
    }

    private static Tensor Shaped(Tensor t, int[] shape) => t.Layout.ShapeArray.AsSpan().SequenceEqual(shape) ? t : t.Reshape(shape);

    // [N, C, S]: the per-channel sums give dweight and dbias, and (times w) dx's means.
    private static (Tensor?, Tensor?, Tensor?) BatchNorm(Tensor xd, Tensor gd, Tensor? w, Tensor mean, Tensor var, NormArgs a, bool needX,
        bool needAffine)
    {
        bool batch = a.Statistics == NormStatistics.Batch;
        if (!needAffine && !(needX && batch))
            return (Tensor.NormInputGrad(xd, mean, var, w, gd, null, null, a), null, null);
        var (sumG, sumGX) = Tensor.NormGradSums(xd, mean, var, null, gd, a with { Affine = NormAffine.None });
        if (!needX) return (null, sumGX, sumG);
        if (!batch) return (Tensor.NormInputGrad(xd, mean, var, w, gd, null, null, a), sumGX, sumG);
        using var wG = w is null ? null : sumG * w;
        using var wGX = w is null ? null : sumGX * w;
        return (Tensor.NormInputGrad(xd, mean, var, w, gd, wG ?? sumG, wGX ?? sumGX, a), sumGX, sumG);
    }

    // [1, R, D]: dx from per-row sums of g·w; dweight and dbias from per-column sums over the rows ([R, D, 1], statistic = row).
    private static (Tensor?, Tensor?, Tensor?) LayerNorm(Tensor xd, Tensor gd, Tensor? w, Tensor mean, Tensor var, NormArgs a, bool needX,
        bool needAffine)
    {
        Tensor? dx = null, dw = null, db = null;
        if (needX)
        {
            var (sumG, sumGX) = Tensor.NormGradSums(xd, mean, var, w, gd, a);
            dx = Tensor.NormInputGrad(xd, mean, var, w, gd, sumG, sumGX, a);
            sumG.Dispose(); sumGX.Dispose();
        }
        if (needAffine)
        {
            var columns = a with
            {
                Outer = a.Slots,
                Slots = a.Inner,
                Inner = 1,
                StatOuter = 1,
                StatDiv = Math.Max(a.Inner, 1),
                Affine = NormAffine.None,
            };
            (db, dw) = Tensor.NormGradSums(xd, mean, var, null, gd, columns);
        }
        return (dx, dw, db);
    }

    // [1, N·G, C/G·S]: per-(n, channel) sums over S ([1, N·C, S], statistic = its group) give dweight and dbias summed over
    // n, and dx's group sums (times w) summed over each group's channels.
    private static (Tensor?, Tensor?, Tensor?) GroupNorm(Tensor xd, Tensor gd, Tensor? w, Tensor mean, Tensor var, NormArgs a, NormPlan p,
        bool needX, bool needAffine)
    {
        int n = p.N, c = p.C, perGroup = c / Math.Max(p.Groups, 1);
        var fine = a with
        {
            Outer = 1,
            Slots = n * c,
            Inner = a.Inner / Math.Max(perGroup, 1),
            StatOuter = 0,
            StatDiv = Math.Max(perGroup, 1),
            Affine = NormAffine.None,
            AffinePeriod = 1,
            AffineDiv = 1,
        };
        var (sumG, sumGX) = Tensor.NormGradSums(xd, mean, var, null, gd, fine);
        using var g2 = sumG.Reshape(n, c);
        using var gx2 = sumGX.Reshape(n, c);
        Tensor? dx = null, dw = needAffine ? gx2.Sum(0) : null, db = needAffine ? g2.Sum(0) : null;
        if (needX)
        {
            using var weighted = w is null ? null : g2 * w;
            using var weightedX = w is null ? null : gx2 * w;
            using var wG = (weighted ?? g2).Reshape(n * p.Groups, perGroup);
            using var wGX = (weightedX ?? gx2).Reshape(n * p.Groups, perGroup);
            using var groupG = wG.Sum(1);
            using var groupGX = wGX.Sum(1);
            dx = Tensor.NormInputGrad(xd, mean, var, w, gd, groupG, groupGX, a);
        }
        sumG.Dispose(); sumGX.Dispose();
        return (dx, dw, db);
    }
}
