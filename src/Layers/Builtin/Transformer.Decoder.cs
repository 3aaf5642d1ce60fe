namespace DeepSharp.Layers;

/// <summary>
/// One transformer decoder layer (PyTorch's <c>nn.TransformerDecoderLayer</c>): self-attention over tgt, attention over
/// the encoder's output (memory), and a feed-forward block, each with dropout, a residual connection and layer norm (post-norm
/// by default, pre-norm with normFirst). tgt [T, N, E] and memory [S, N, E] ([N, ·, E] with batchFirst; unbatched [T, E],
/// [S, E]) → [T, N, E]. Children as PyTorch's: <c>self_attn</c>, <c>multihead_attn</c>, <c>linear1</c>, <c>dropout</c>,
/// <c>linear2</c>, <c>norm1</c>..<c>norm3</c>, <c>dropout1</c>..<c>dropout3</c>. <c>layer.Call((tgt, memory))</c> runs it
/// unmasked; <c>layer.Call(tgt, memory, tgtIsCausal: true)</c> masks future target positions.
/// </summary>
public sealed class TransformerDecoderLayer : Block<(Tensor Tgt, Tensor Memory), Tensor>
{
    private readonly MultiHeadAttention _selfAttn, _crossAttn;
    private readonly Dense _linear1, _linear2;
    private readonly Dropout _dropout, _dropout1, _dropout2, _dropout3;
    private readonly LayerNorm _norm1, _norm2, _norm3;

    /// <summary>A layer of width <paramref name="dModel"/> with <paramref name="nhead"/> heads (PyTorch's defaults).</summary>
    /// <exception cref="ArgumentOutOfRangeException">A size is not positive, nhead does not divide dModel, dropout is outside
    /// [0, 1), layerNormEps is negative, or activation is not a <see cref="TransformerActivation"/>.</exception>
    public TransformerDecoderLayer(int dModel, int nhead, int dimFeedforward = 2048, float dropout = 0.1f,
        TransformerActivation activation = TransformerActivation.Relu, float layerNormEps = 1e-5f, bool batchFirst = false,
        bool normFirst = false, bool bias = true)
    {
        TransformerParts.Check(nameof(TransformerDecoderLayer), dimFeedforward, activation);
        (Activation, NormFirst) = (activation, normFirst);
        _selfAttn = Register("self_attn", new MultiHeadAttention(dModel, nhead, dropout, bias, batchFirst: batchFirst));
        _crossAttn = Register("multihead_attn", new MultiHeadAttention(dModel, nhead, dropout, bias, batchFirst: batchFirst));
        _linear1 = Register("linear1", new Dense(dimFeedforward, dModel, bias));
        _dropout = Register("dropout", new Dropout(dropout));
        _linear2 = Register("linear2", new Dense(dModel, dimFeedforward, bias));
        _norm1 = Register("norm1", new LayerNorm(dModel, layerNormEps, bias: bias));
        _norm2 = Register("norm2", new LayerNorm(dModel, layerNormEps, bias: bias));
        _norm3 = Register("norm3", new LayerNorm(dModel, layerNormEps, bias: bias));
        _dropout1 = Register("dropout1", new Dropout(dropout));
        _dropout2 = Register("dropout2", new Dropout(dropout));
        _dropout3 = Register("dropout3", new Dropout(dropout));
    }

    /// <summary>The feed-forward block's activation.</summary>
    public TransformerActivation Activation { get; }
    /// <summary>Whether the norms come first in each branch (pre-norm).</summary>
    public bool NormFirst { get; }

    /// <summary>
    /// Runs the layer with masks (through the block machinery), as PyTorch's <c>forward</c>: tgtMask [T, T] or [N·H, T, T],
    /// memoryMask [T, S] or [N·H, T, S], key padding masks [N, T] and [N, S] (int: nonzero = ignore; float: added);
    /// tgtIsCausal (memoryIsCausal) without the matching mask masks keys after each query's position.
    /// </summary>
    /// <exception cref="ArgumentNullException">tgt or memory is null.</exception>
    /// <exception cref="ArgumentException">A shape does not fit.</exception>
    /// <exception cref="DeviceMismatchException">An input is on another device than the parameters.</exception>
    public Tensor Call(Tensor tgt, Tensor memory, Tensor? tgtMask = null, Tensor? memoryMask = null, Tensor? tgtKeyPaddingMask = null,
        Tensor? memoryKeyPaddingMask = null, bool tgtIsCausal = false, bool memoryIsCausal = false)
    {
        ArgumentNullException.ThrowIfNull(tgt); ArgumentNullException.ThrowIfNull(memory);
        var masks = new DecoderMasks(tgtMask, memoryMask, tgtKeyPaddingMask, memoryKeyPaddingMask, tgtIsCausal, memoryIsCausal);
        return Invoke((tgt, memory, masks), tgt.Device, static (b, a) => ((TransformerDecoderLayer)b).Decode(a.tgt, a.memory, a.masks));
    }

    /// <inheritdoc/>
    protected override Tensor Forward((Tensor Tgt, Tensor Memory) input) => Decode(input.Tgt, input.Memory, default);

    private Tensor Decode(Tensor x, Tensor memory, DecoderMasks m)
    {
        if (NormFirst)
        {
            x = x + SelfAttention(_norm1.Call(x), m);
            x = x + CrossAttention(_norm2.Call(x), memory, m);
            return x + FeedForward(_norm3.Call(x));
        }
        x = _norm1.Call(x + SelfAttention(x, m));
        x = _norm2.Call(x + CrossAttention(x, memory, m));
        return _norm3.Call(x + FeedForward(x));
    }

    private Tensor SelfAttention(Tensor x, DecoderMasks m) => _dropout1.Call(_selfAttn.Call(x, x, x, m.TgtKeyPadding, needWeights: false,
        attnMask: m.Tgt, isCausal: m.TgtIsCausal).Output);

    private Tensor CrossAttention(Tensor x, Tensor memory, DecoderMasks m) => _dropout2.Call(_crossAttn.Call(x, memory, memory,
        m.MemoryKeyPadding, needWeights: false, attnMask: m.Memory, isCausal: m.MemoryIsCausal).Output);

    private Tensor FeedForward(Tensor x) =>
        _dropout3.Call(_linear2.Call(_dropout.Call(TransformerParts.Activate(_linear1.Call(x), Activation))));

    /// <inheritdoc/>
    protected override string ExtraRepr() => $"activation={Activation}" + (NormFirst ? ", normFirst=true" : "");
}

/// <summary>A decoder's masks (all optional).</summary>
internal readonly record struct DecoderMasks(Tensor? Tgt, Tensor? Memory, Tensor? TgtKeyPadding, Tensor? MemoryKeyPadding,
    bool TgtIsCausal, bool MemoryIsCausal);

/// <summary>
/// A stack of decoder layers (PyTorch's <c>nn.TransformerDecoder</c>) and an optional final norm: children <c>layers.0</c>,
/// <c>layers.1</c>, … and <c>norm</c>; each layer built by makeLayer (see <see cref="TransformerEncoder"/>).
/// </summary>
public sealed class TransformerDecoder : Block<(Tensor Tgt, Tensor Memory), Tensor>
{
    private readonly BlockList _layers;
    private readonly Block? _norm;

    /// <summary>numLayers layers from <paramref name="makeLayer"/> (a new layer per call), then <paramref name="norm"/>.</summary>
    /// <exception cref="ArgumentNullException">makeLayer is null.</exception>
    /// <exception cref="ArgumentOutOfRangeException">numLayers is not positive.</exception>
    /// <exception cref="ArgumentException">makeLayer returned null or a layer it had already returned.</exception>
    public TransformerDecoder(Func<TransformerDecoderLayer> makeLayer, int numLayers, Block? norm = null)
    {
        _layers = Register("layers", new BlockList(TransformerParts.Stack(nameof(TransformerDecoder), makeLayer, numLayers)));
        if (norm is not null) _norm = Register("norm", norm);
    }

    /// <summary>The layers, in order.</summary>
    public IReadOnlyList<TransformerDecoderLayer> Layers => _layers.Cast<TransformerDecoderLayer>().ToList();

    /// <summary>Runs every layer with the same memory and masks (see <see cref="TransformerDecoderLayer.Call(Tensor, Tensor,
    /// Tensor?, Tensor?, Tensor?, Tensor?, bool, bool)"/>), then the norm.</summary>
    /// <exception cref="ArgumentNullException">tgt or memory is null.</exception>
    /// <exception cref="ArgumentException">A shape does not fit.</exception>
    /// <exception cref="DeviceMismatchException">An input is on another device than the parameters.</exception>
    public Tensor Call(Tensor tgt, Tensor memory, Tensor? tgtMask = null, Tensor? memoryMask = null, Tensor? tgtKeyPaddingMask = null,
        Tensor? memoryKeyPaddingMask = null, bool tgtIsCausal = false, bool memoryIsCausal = false)
    {
        ArgumentNullException.ThrowIfNull(tgt); ArgumentNullException.ThrowIfNull(memory);
        var masks = new DecoderMasks(tgtMask, memoryMask, tgtKeyPaddingMask, memoryKeyPaddingMask, tgtIsCausal, memoryIsCausal);
        return Invoke((tgt, memory, masks), tgt.Device, static (b, a) => ((TransformerDecoder)b).Decode(a.tgt, a.memory, a.masks));
    }

    /// <inheritdoc/>
    protected override Tensor Forward((Tensor Tgt, Tensor Memory) input) => Decode(input.Tgt, input.Memory, default);

    private Tensor Decode(Tensor x, Tensor memory, DecoderMasks m)
    {
        foreach (var layer in _layers)
        {
            var l = (TransformerDecoderLayer)layer;
            x = l.Call(x, memory, m.Tgt, m.Memory, m.TgtKeyPadding, m.MemoryKeyPadding, m.TgtIsCausal, m.MemoryIsCausal);
        }
        return _norm is null ? x : _norm.Call(x);
    }
}
