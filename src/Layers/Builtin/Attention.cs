namespace DeepSharp.Layers;

/// <summary>
/// Multi-head attention (PyTorch's <c>nn.MultiheadAttention</c>): query [L, N, E], key [S, N, kdim], value [S, N, vdim]
/// ([N, L, E], … with batchFirst; unbatched [L, E], [S, kdim], [S, vdim]) → output [L, N, E] (same layout) and, when asked,
/// the attention weights [N, L, S] averaged over the heads (or [N, H, L, S]; unbatched [L, S] / [H, L, S]). Per head h:
/// softmax(q_h·k_hᵀ/√(E/H) + mask)·v_h with q = query·W_qᵀ + b_q, …, then the heads concatenated through
/// <c>out_proj</c>. Parameters as PyTorch's, so state dicts load both ways: <c>in_proj_weight</c> [3E, E] (Xavier-uniform)
/// when kdim = vdim = E, else <c>q_proj_weight</c> [E, E], <c>k_proj_weight</c> [E, kdim], <c>v_proj_weight</c> [E, vdim];
/// <c>in_proj_bias</c> [3E] (zeros); <c>out_proj.weight</c> [E, E] (Dense's default) and <c>out_proj.bias</c> (zeros).
/// The attention itself is <see cref="Functional.ScaledDotProductAttention"/> (one fused launch for masks and softmax;
/// weights O(L·S) per head). Dropout (training mode only) applies to the weights.
/// <para>Masks follow nn.MultiheadAttention: integer (boolean) masks mark what to <b>ignore</b> (nonzero = blocked; the
/// opposite of ScaledDotProductAttention's), float masks are added to the scores. keyPaddingMask is [N, S] ([S] unbatched);
/// attnMask is [L, S] or [N·H, L, S]. A query whose keys are all blocked gets zero weights and a zero attention output (before
/// out_proj; PyTorch 1.13 gave NaN). isCausal without attnMask applies the causal mask (query i sees keys 0..i); with attnMask
/// it is, as in PyTorch, a hint that attnMask is causal, and attnMask is used.</para>
/// <code>
/// var mha = new MultiHeadAttention(embedDim: 128, numHeads: 4, batchFirst: true);
/// Tensor y = mha.Call((x, x, x));                                         // self-attention, output only
/// var (y2, w) = mha.Call(x, x, x, keyPaddingMask: pad, isCausal: true);   // pad: int [N, S], nonzero = padding
/// </code>
/// </summary>
public sealed class MultiHeadAttention : Block<(Tensor Query, Tensor Key, Tensor Value), Tensor>
{
    private readonly Dense _outProj;

    /// <summary>Attention over <paramref name="numHeads"/> heads of <paramref name="embedDim"/> / numHeads features each.</summary>
    /// <exception cref="ArgumentOutOfRangeException">A size is not positive, embedDim is not divisible by numHeads, or dropout
    /// is outside [0, 1).</exception>
    public MultiHeadAttention(int embedDim, int numHeads, float dropout = 0f, bool bias = true, int? kdim = null, int? vdim = null,
        bool batchFirst = false)
    {
        const string me = nameof(MultiHeadAttention);
        if (embedDim <= 0)
            throw new ArgumentOutOfRangeException(nameof(embedDim), embedDim, $"{me}: embedDim must be positive, got {embedDim}.");
        if (numHeads <= 0 || embedDim % numHeads != 0)
            throw new ArgumentOutOfRangeException(nameof(numHeads), numHeads,
                $"{me}: numHeads must be positive and divide embedDim = {embedDim}, got {numHeads}.");
        if (kdim <= 0) throw new ArgumentOutOfRangeException(nameof(kdim), kdim, $"{me}: kdim must be positive, got {kdim}.");
        if (vdim <= 0) throw new ArgumentOutOfRangeException(nameof(vdim), vdim, $"{me}: vdim must be positive, got {vdim}.");
        if (!(dropout >= 0f && dropout < 1f))
            throw new ArgumentOutOfRangeException(nameof(dropout), dropout, $"{me}: dropout must be in [0, 1), got {dropout}.");
        (EmbedDim, NumHeads, Dropout, BatchFirst) = (embedDim, numHeads, dropout, batchFirst);
        (KDim, VDim) = (kdim ?? embedDim, vdim ?? embedDim);
        if (KDim == embedDim && VDim == embedDim)
            InProjWeight = Register("in_proj_weight", new Parameter([3 * embedDim, embedDim], Init.XavierUniform()));
        else
        {
            QProjWeight = Register("q_proj_weight", new Parameter([embedDim, embedDim], Init.XavierUniform()));
            KProjWeight = Register("k_proj_weight", new Parameter([embedDim, KDim], Init.XavierUniform()));
            VProjWeight = Register("v_proj_weight", new Parameter([embedDim, VDim], Init.XavierUniform()));
        }
        InProjBias = bias ? Register("in_proj_bias", new Parameter([3 * embedDim], Init.Zeros)) : null;
        _outProj = Register("out_proj", new Dense(embedDim, embedDim, bias));
    }

    /// <summary>E: the query's and the output's features.</summary>
    public int EmbedDim { get; }
    /// <summary>Heads H.</summary>
    public int NumHeads { get; }
    /// <summary>Features per head, E / H.</summary>
    public int HeadDim => EmbedDim / NumHeads;
    /// <summary>The key's features.</summary>
    public int KDim { get; }
    /// <summary>The value's features.</summary>
    public int VDim { get; }
    /// <summary>Dropout probability on the attention weights (training mode only).</summary>
    public float Dropout { get; }
    /// <summary>Whether inputs and outputs are [N, L, E] rather than [L, N, E].</summary>
    public bool BatchFirst { get; }
    /// <summary><c>in_proj_weight</c> [3E, E] (q, k, v stacked), or null when kdim or vdim differ from E.</summary>
    public Parameter? InProjWeight { get; }
    /// <summary><c>q_proj_weight</c> [E, E], or null when <see cref="InProjWeight"/> is used.</summary>
    public Parameter? QProjWeight { get; }
    /// <summary><c>k_proj_weight</c> [E, kdim], or null when <see cref="InProjWeight"/> is used.</summary>
    public Parameter? KProjWeight { get; }
    /// <summary><c>v_proj_weight</c> [E, vdim], or null when <see cref="InProjWeight"/> is used.</summary>
    public Parameter? VProjWeight { get; }
    /// <summary><c>in_proj_bias</c> [3E], or null without bias.</summary>
    public Parameter? InProjBias { get; }
    /// <summary><c>out_proj</c>: the output projection [E, E].</summary>
    public Dense OutProj => _outProj;

    /// <summary>
    /// Runs the attention through the block machinery (deferred initialization, device checks), as PyTorch's
    /// <c>forward</c>: returns the output and, with <paramref name="needWeights"/>, the weights (averaged over heads with
    /// <paramref name="averageAttnWeights"/>). Masks as described on the class.
    /// </summary>
    /// <exception cref="ArgumentNullException">query, key or value is null.</exception>
    /// <exception cref="ArgumentException">A shape does not fit (ranks, features, lengths, batch, masks).</exception>
    /// <exception cref="DeviceMismatchException">An input is on another device than the parameters or the other inputs.</exception>
    public (Tensor Output, Tensor? Weights) Call(Tensor query, Tensor key, Tensor value, Tensor? keyPaddingMask = null,
        bool needWeights = true, Tensor? attnMask = null, bool averageAttnWeights = true, bool isCausal = false)
    {
        ArgumentNullException.ThrowIfNull(query); ArgumentNullException.ThrowIfNull(key); ArgumentNullException.ThrowIfNull(value);
        var args = new MhaArgs(query, key, value, keyPaddingMask, needWeights, attnMask, averageAttnWeights, isCausal);
        return Invoke(args, query.Device, static (b, a) => ((MultiHeadAttention)b).Attend(a));
    }

    /// <summary>The output only (no weights, no masks): <c>mha.Call((query, key, value))</c>.</summary>
    protected override Tensor Forward((Tensor Query, Tensor Key, Tensor Value) input) =>
        Attend(new MhaArgs(input.Query, input.Key, input.Value, null, false, null, true, false)).Output;

    private readonly record struct MhaArgs(Tensor Query, Tensor Key, Tensor Value, Tensor? KeyPaddingMask, bool NeedWeights,
        Tensor? AttnMask, bool Average, bool IsCausal);

    private (Tensor Output, Tensor? Weights) Attend(MhaArgs a)
    {
        var (query, key, value, batched) = MhaShapes.Check(this, a.Query, a.Key, a.Value);
        foreach (var param in new[] { InProjWeight, QProjWeight, KProjWeight, VProjWeight, InProjBias })
            if (param is not null) CheckDevice(param, query);
        int n = query.Size(BatchFirst ? 0 : 1), l = query.Size(BatchFirst ? 1 : 0), s = key.Size(BatchFirst ? 1 : 0);
        var (q, k, v) = Project(query, key, value);
        var mask = MhaShapes.Mask(this, query.Device, a.AttnMask, a.KeyPaddingMask, batched, n, l, s);
        bool causal = a.IsCausal && a.AttnMask is null;
        if (causal && mask is not null) { mask = mask + AttentionMask.Causal(l, s, query.Device); causal = false; }
        float p = IsTraining ? Dropout : 0f;
        Tensor o; Tensor? w = null;
        if (a.NeedWeights) (o, w) = Functional.ScaledDotProductAttentionWithWeights(q, k, v, mask, p, causal);
        else o = Functional.ScaledDotProductAttention(q, k, v, mask, p, causal);
        // [N, H, L, Dh] → [L, N, E] or [N, L, E]: the one dense copy of the heads' outputs, then the output projection.
        o = (BatchFirst ? o.Permute(0, 2, 1, 3) : o.Permute(2, 0, 1, 3)).Reshape(BatchFirst ? [n, l, EmbedDim] : [l, n, EmbedDim]);
        var y = _outProj.Call(o);
        if (w is not null && a.Average) w = w.Mean(1);
        if (!batched) { y = y.Squeeze(BatchFirst ? 0 : 1); w = w?.Squeeze(0); }
        return (y, w);
    }

    /// <summary>q [N, H, L, Dh], k [N, H, S, Dh], v [N, H, S, Dh]: views of three sequence-first projections [·, N, E], whose
    /// (N, H) dims fold into one batch stride, so the batched products read them without copies. A batch-first input is made
    /// sequence-first by one copy (shared when query, key and value are one tensor).</summary>
    private (Tensor Q, Tensor K, Tensor V) Project(Tensor query, Tensor key, Tensor value)
    {
        int e = EmbedDim;
        var b = InProjBias?.Data;
        Tensor SeqFirst(Tensor x) => BatchFirst ? x.Transpose(0, 1).Contiguous() : x;
        var qs = SeqFirst(query);
        var ks = ReferenceEquals(key, query) ? qs : SeqFirst(key);
        var vs = ReferenceEquals(value, key) ? ks : ReferenceEquals(value, query) ? qs : SeqFirst(value);
        Tensor Weight(Parameter? separate, int i) => separate?.Data ?? InProjWeight!.Data.Slice(0, i * e, (i + 1) * e);
        Tensor Heads(Tensor x, int i, Parameter? separate) =>
            Functional.Linear(x, Weight(separate, i), b?.Slice(0, i * e, (i + 1) * e))
                .Reshape(x.Size(0), x.Size(1), NumHeads, HeadDim).Permute(1, 2, 0, 3);
        return (Heads(qs, 0, QProjWeight), Heads(ks, 1, KProjWeight), Heads(vs, 2, VProjWeight));
    }

    /// <inheritdoc/>
    protected override string ExtraRepr() =>
        $"embedDim={EmbedDim}, numHeads={NumHeads}" + (KDim != EmbedDim || VDim != EmbedDim ? $", kdim={KDim}, vdim={VDim}" : "") +
        (Dropout > 0 ? $", dropout={Dropout.ToString(System.Globalization.CultureInfo.InvariantCulture)}" : "") +
        (BatchFirst ? ", batchFirst=true" : "");
}
