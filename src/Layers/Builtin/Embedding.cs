namespace DeepSharp.Layers;

/// <summary>
/// A lookup table of <see cref="NumEmbeddings"/> vectors of size <see cref="EmbeddingDim"/> (PyTorch's
/// <c>nn.Embedding</c>): int32/int64 indices of any shape [...] → float32 [..., dim], row i of <see cref="Weight"/> for
/// index i (<see cref="Functional.Embedding"/>). The weight [num, dim] is initialized N(0, 1), as in PyTorch, with the
/// <see cref="PaddingIdx"/> row zero; that row receives no gradient, so it stays zero under training.
/// </summary>
public sealed class Embedding : Block
{
    /// <summary>A table of <paramref name="numEmbeddings"/> rows of <paramref name="embeddingDim"/> values.</summary>
    /// <param name="numEmbeddings">The number of rows (e.g. the vocabulary's size).</param>
    /// <param name="embeddingDim">The size of each vector.</param>
    /// <param name="paddingIdx">A row initialized to zeros and given no gradient (negative counts from the end), or null.</param>
    /// <exception cref="ArgumentOutOfRangeException">A size is not positive, or paddingIdx is outside
    /// [-numEmbeddings, numEmbeddings).</exception>
    public Embedding(int numEmbeddings, int embeddingDim, int? paddingIdx = null)
    {
        if (numEmbeddings <= 0)
            throw new ArgumentOutOfRangeException(nameof(numEmbeddings), numEmbeddings, "Embedding: numEmbeddings must be positive.");
        if (embeddingDim <= 0)
            throw new ArgumentOutOfRangeException(nameof(embeddingDim), embeddingDim, "Embedding: embeddingDim must be positive.");
        if (paddingIdx < -numEmbeddings || paddingIdx >= numEmbeddings)
            throw new ArgumentOutOfRangeException(nameof(paddingIdx), paddingIdx,
                $"Embedding: paddingIdx must lie in [{-numEmbeddings}, {numEmbeddings}), got {paddingIdx}.");
        NumEmbeddings = numEmbeddings;
        EmbeddingDim = embeddingDim;
        PaddingIdx = paddingIdx < 0 ? paddingIdx + numEmbeddings : paddingIdx;
        var normal = Init.Normal();
        var init = PaddingIdx is int p
            ? Init.Custom($"Normal(0, 1), row {p} zeros", (t, c) =>
            {
                normal.Fill(t, c);
                t.Slice(0, p, p + 1).ZeroInPlace();
            })
            : normal;
        Weight = Register("weight", new Parameter([numEmbeddings, embeddingDim], init));
    }

    /// <summary>The number of rows.</summary>
    public int NumEmbeddings { get; }
    /// <summary>The size of each vector.</summary>
    public int EmbeddingDim { get; }
    /// <summary>The padding row in [0, num) (a negative argument made non-negative), or null.</summary>
    public int? PaddingIdx { get; }
    /// <summary>[num, dim].</summary>
    public Parameter Weight { get; }

    /// <inheritdoc/>
    protected override Tensor Forward(Tensor x)
    {
        CheckDevice(Weight, x);
        return Functional.Embedding(x, Weight.Data, PaddingIdx);
    }

    /// <inheritdoc/>
    protected override string ExtraRepr() => $"{NumEmbeddings}, {EmbeddingDim}" + (PaddingIdx is int p ? $", padding_idx={p}" : "");
}
