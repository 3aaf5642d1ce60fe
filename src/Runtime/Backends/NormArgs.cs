namespace DeepSharp.Backends;

/// <summary>Which affine parameters a norm kernel reads (flags: a weight, a bias, both or neither).</summary>
[Flags]
internal enum NormAffine
{
    /// <summary>Neither: w = 1, b = 0.</summary>
    None = 0,
    /// <summary>A weight w[f].</summary>
    Weight = 1,
    /// <summary>A bias b[f].</summary>
    Bias = 2,
}

/// <summary>Where the input gradient of a norm comes from.</summary>
internal enum NormStatistics
{
    /// <summary>The statistics were computed from this batch: dx = r·(g·w − mean(g·w) − x̂·mean(g·w·x̂)).</summary>
    Batch,
    /// <summary>The statistics were given (running statistics in eval mode): constants, dx = r·g·w.</summary>
    Fixed,
}

/// <summary>
/// One description serves batch, layer and group norm: x (dense from <see cref="XOffset"/>) viewed as [Outer, Slots,
/// Inner]. Each slot s reduces over its Outer·Inner elements; element (o, s, i) reads statistic
/// <see cref="Stat"/>(o, s) = o·StatOuter + s / StatDiv (mean and biased variance, r = 1/√(var + eps)) and affine entry
/// <see cref="AffineIndex"/>(s, i) = ((s mod AffinePeriod)·Inner + i) / AffineDiv. BatchNorm over [N, C, S]: [N, C, S],
/// stat = s, affine = s. LayerNorm over [R, D]: [1, R, D], affine = i. GroupNorm over [N, C, S] with G groups:
/// [1, N·G, C/G·S], affine = channel. Gradient sums use other views of the same x (see Grads.Norms).
/// </summary>
internal struct NormArgs
{
    /// <summary>The view: x is [Outer, Slots, Inner].</summary>
    public int Outer, Slots, Inner;
    /// <summary>Statistic of element (o, s, i): o·StatOuter + s / StatDiv.</summary>
    public int StatOuter, StatDiv;
    /// <summary>Affine entry of element (o, s, i): ((s mod AffinePeriod)·Inner + i) / AffineDiv.</summary>
    public int AffinePeriod, AffineDiv;
    /// <summary>Offsets of x and of the upstream gradient g (both dense).</summary>
    public int XOffset, GOffset;
    /// <summary>Added to the variance before the square root.</summary>
    public float Eps;
    /// <summary>The affine parameters read.</summary>
    public NormAffine Affine;
    /// <summary>Batch or fixed statistics (the input gradient only).</summary>
    public NormStatistics Statistics;

    /// <summary>The statistic of slot <paramref name="s"/> in outer row <paramref name="o"/>.</summary>
    public readonly int Stat(int o, int s) => o * StatOuter + s / StatDiv;

    /// <summary>The affine entry of element i of slot s.</summary>
    public readonly int AffineIndex(int s, int i) => ((s % AffinePeriod) * Inner + i) / AffineDiv;

    /// <summary>Elements each slot reduces over.</summary>
    public readonly int PerSlot => Outer * Inner;

    /// <summary>Elements of x.</summary>
    public readonly int Count => Outer * Slots * Inner;

    /// <summary>Whether the weight is read.</summary>
    public readonly bool HasWeight => (Affine & NormAffine.Weight) != 0;

    /// <summary>Whether the bias is read.</summary>
    public readonly bool HasBias => (Affine & NormAffine.Bias) != 0;
}
