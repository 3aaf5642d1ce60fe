namespace DeepSharp.Layers;

/// <summary>
/// Fully connected layer: y = x·Wᵀ + b, x: [..., in] → [..., out]. The weight is [out, in] as in PyTorch (read through
/// a transposed view, no copy). Without <c>inFeatures</c> the input size comes from the first batch (deferred).
/// Defaults: weight Kaiming-uniform with a = √5 (U(±1/√in), PyTorch's default), bias zeros.
/// </summary>
public sealed class Dense : Block
{
    /// <summary>A layer with <paramref name="outFeatures"/> outputs; <paramref name="inFeatures"/> null = inferred.</summary>
    /// <exception cref="ArgumentOutOfRangeException">A size is not positive.</exception>
    public Dense(int outFeatures, int? inFeatures = null, bool bias = true)
    {
        if (outFeatures <= 0 || inFeatures <= 0)
            throw new ArgumentOutOfRangeException(nameof(outFeatures),
                $"Dense: sizes must be positive, got out {outFeatures}, in {inFeatures}.");
        OutFeatures = outFeatures;
        Weight = Register("weight", new Parameter([outFeatures, inFeatures ?? -1], Init.KaimingUniform(MathF.Sqrt(5f))));
        Bias = bias ? Register("bias", new Parameter([outFeatures], Init.Zeros)) : null;
    }

    /// <summary>Output size.</summary>
    public int OutFeatures { get; }
    /// <summary>Input size (-1 until known).</summary>
    public int InFeatures => Weight.Shape[1];
    /// <summary>[out, in].</summary>
    public Parameter Weight { get; }
    /// <summary>[out], or null.</summary>
    public Parameter? Bias { get; }

    /// <inheritdoc/>
    protected override Tensor Forward(Tensor x)
    {
        if (x.Rank == 0) throw new ArgumentException($"Dense: the input needs at least one dim (features), got a scalar.");
        int inFeatures = x.Size(-1);
        if (inFeatures == 0 && !Weight.IsInitialized)
            throw new ArgumentException($"Dense '{Weight.Path}': cannot take the input size from an input with 0 features (shape " +
                $"{Layout.Format(x.Layout.Shape)}); for Materialize, pass [batch, features].");
        Materialize(Weight, [OutFeatures, inFeatures], x.Device);
        CheckDevice(Weight, x);
        if (InFeatures != inFeatures)
            throw new ArgumentException(
                $"Dense '{Weight.Path}': expected inputs with {InFeatures} features (last dim) but got {inFeatures} (shape " +
                $"{Layout.Format(x.Layout.Shape)}).");
        return Functional.Linear(x, Weight.Data, Bias?.Data);
    }

    /// <inheritdoc/>
    protected override string ExtraRepr() =>
        $"{(InFeatures < 0 ? "?" : InFeatures.ToString(System.Globalization.CultureInfo.InvariantCulture))} → " +
        $"{OutFeatures}{(Bias is null ? ", bias=false" : "")}";
}
