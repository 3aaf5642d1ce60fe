namespace DeepSharp.Backends;

/// <summary>What the fused attention softmax adds to the scaled scores before the softmax.</summary>
[Flags]
internal enum AttentionMasks
{
    /// <summary>Nothing: softmax(scale·x).</summary>
    None = 0,
    /// <summary>An additive float mask (−inf where a query may not attend), read through <see cref="AttentionArgs"/>' strides.</summary>
    Additive = 1,
    /// <summary>Column j of query row i is masked when j &gt; i (PyTorch's <c>is_causal</c>: the top-left-aligned lower
    /// triangle).</summary>
    Causal = 2,
}

/// <summary>
/// The attention softmax of dense scores [Batch, L, S] (rows of S keys; from <see cref="Offset"/>): y = softmax(scale·x + mask)
/// per row, a fully masked row (max −inf) all zeros. The mask element of (b, i, j) is at MaskOffset + (b / MaskInner)·MaskOuterStride
/// + (b % MaskInner)·MaskInnerStride + i·MaskRowStride + j·MaskColStride (two batch levels cover [N, H, L, S] broadcasts).
/// </summary>
internal struct AttentionArgs
{
    /// <summary>Offset of x (forward) or of g (backward); the other operands are dense from 0.</summary>
    public int Offset;
    /// <summary>Batch entries, queries per entry and keys per row.</summary>
    public int Batch, L, S;
    /// <summary>The factor on the scores (forward) and on the gradient (backward).</summary>
    public float Scale;
    /// <summary>Which masks apply.</summary>
    public AttentionMasks Masks;
    /// <summary>Where the additive mask is (elements) and how it is strided (0 along broadcast dims).</summary>
    public int MaskOffset, MaskInner, MaskOuterStride, MaskInnerStride, MaskRowStride, MaskColStride;

    /// <summary>Rows in all (Batch·L).</summary>
    public readonly int Rows => Batch * L;

    /// <summary>Elements in all.</summary>
    public readonly long Count => (long)Batch * L * S;

    /// <summary>The mask's element for column 0 of row r.</summary>
    public readonly int MaskRow(int r)
    {
        int b = r / L, i = r - b * L, outer = b / MaskInner;
        return MaskOffset + outer * MaskOuterStride + (b - outer * MaskInner) * MaskInnerStride + i * MaskRowStride;
    }

    /// <summary>How many leading columns of row r the causal mask leaves (S without it).</summary>
    public readonly int Visible(int r) => (Masks & AttentionMasks.Causal) != 0 ? Math.Min(S, r % L + 1) : S;
}
