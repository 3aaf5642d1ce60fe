namespace DeepSharp.Layers;

/// <summary>The activation between a transformer layer's two feed-forward layers (PyTorch's <c>activation</c>).</summary>
public enum TransformerActivation
{
    /// <summary>max(x, 0) (the default).</summary>
    Relu,
    /// <summary>The exact GELU, x·Φ(x).</summary>
    Gelu,
}

/// <summary>
/// One transformer encoder layer (PyTorch's <c>nn.TransformerEncoderLayer</c>): self-attention and a feed-forward block,
/// each with dropout, a residual connection and layer norm — after the residual (post-norm, the default) or on the
/// branch's input (normFirst, pre-norm). src [L, N, E] ([N, L, E] with batchFirst; [L, E] unbatched) →
/// the same shape. Children as PyTorch's, so state dicts load both ways: <c>self_attn</c> (<see cref="MultiHeadAttention"/>),
/// <c>linear1</c> [dimFeedforward, dModel], <c>dropout</c>, <c>linear2</c> [dModel, dimFeedforward], <c>norm1</c>,
/// <c>norm2</c>, <c>dropout1</c>, <c>dropout2</c>. <c>layer.Call(src)</c> runs it unmasked; masks go through
/// <see cref="Call(Tensor, Tensor?, Tensor?, bool)"/>: <c>layer.Call(src, isCausal: true)</c> is causal self-attention,
/// srcKeyPaddingMask [N, S] marks padding (int: nonzero = ignore; float: added), as in <see cref="MultiHeadAttention"/>.
/// </summary>
public sealed class TransformerEncoderLayer : Block
{
    private readonly MultiHeadAttention _selfAttn;
    private readonly Dense _linear1, _linear2;
    private readonly Dropout _dropout, _dropout1, _dropout2;
    private readonly LayerNorm _norm1, _norm2;

    /// <summary>A layer of width <paramref name="dModel"/> with <paramref name="nhead"/> heads (PyTorch's defaults).</summary>
    /// <exception cref="ArgumentOutOfRangeException">A size is not positive, nhead does not divide dModel, dropout is outside
    /// [0, 1), layerNormEps is negative, or activation is not a <see cref="TransformerActivation"/>.</exception>
    public TransformerEncoderLayer(int dModel, int nhead, int dimFeedforward = 2048, float dropout = 0.1f,
        TransformerActivation activation = TransformerActivation.Relu, float layerNormEps = 1e-5f, bool batchFirst = false,
        bool normFirst = false, bool bias = true)
    {
        TransformerParts.Check(nameof(TransformerEncoderLayer), dimFeedforward, activation);
        (Activation, NormFirst) = (activation, normFirst);
        _selfAttn = Register("self_attn", new MultiHeadAttention(dModel, nhead, dropout, bias, batchFirst: batchFirst));
        _linear1 = Register("linear1", new Dense(dimFeedforward, dModel, bias));
        _dropout = Register("dropout", new Dropout(dropout));
        _linear2 = Register("linear2", new Dense(dModel, dimFeedforward, bias));
        _norm1 = Register("norm1", new LayerNorm(dModel, layerNormEps, bias: bias));
        _norm2 = Register("norm2", new LayerNorm(dModel, layerNormEps, bias: bias));
        _dropout1 = Register("dropout1", new Dropout(dropout));
        _dropout2 = Register("dropout2", new Dropout(dropout));
    }

    /// <summary>The feed-forward block's activation.</summary>
    public TransformerActivation Activation { get; }
    /// <summary>Whether the norms come first in each branch (pre-norm).</summary>
    public bool NormFirst { get; }
    /// <summary>The self-attention (<c>self_attn</c>).</summary>
    public MultiHeadAttention SelfAttn => _selfAttn;

    /// <summary>
    /// Runs the layer with masks (through the block machinery): <paramref name="srcMask"/> [L, L] or [N·H, L, L] and
    /// <paramref name="srcKeyPaddingMask"/> [N, L] as <see cref="MultiHeadAttention.Call(Tensor, Tensor, Tensor, Tensor?, bool,
    /// Tensor?, bool, bool)"/> takes them; <paramref name="isCausal"/> without srcMask masks future positions.
    /// </summary>
    /// <exception cref="ArgumentNullException">src is null.</exception>
    /// <exception cref="ArgumentException">A shape does not fit.</exception>
    /// <exception cref="DeviceMismatchException">src or a mask is on another device than the parameters.</exception>
    public Tensor Call(Tensor src, Tensor? srcMask, Tensor? srcKeyPaddingMask = null, bool isCausal = false)
    {
        ArgumentNullException.ThrowIfNull(src);
        return Invoke((src, srcMask, srcKeyPaddingMask, isCausal), src.Device,
            static (b, a) => ((TransformerEncoderLayer)b).Encode(a.src, a.srcMask, a.srcKeyPaddingMask, a.isCausal));
    }

    /// <inheritdoc/>
    protected override Tensor Forward(Tensor x) => Encode(x, null, null, false);

    private Tensor Encode(Tensor x, Tensor? mask, Tensor? padding, bool causal)
    {
        if (NormFirst)
        {
            x = x + SelfAttention(_norm1.Call(x), mask, padding, causal);
            return x + FeedForward(_norm2.Call(x));
        }
        x = _norm1.Call(x + SelfAttention(x, mask, padding, causal));
        return _norm2.Call(x + FeedForward(x));
    }

    private Tensor SelfAttention(Tensor x, Tensor? mask, Tensor? padding, bool causal) =>
        _dropout1.Call(_selfAttn.Call(x, x, x, padding, needWeights: false, attnMask: mask, isCausal: causal).Output);

    private Tensor FeedForward(Tensor x) =>
        _dropout2.Call(_linear2.Call(_dropout.Call(TransformerParts.Activate(_linear1.Call(x), Activation))));

    /// <inheritdoc/>
    protected override string ExtraRepr() => $"activation={Activation}" + (NormFirst ? ", normFirst=true" : "");
}

/// <summary>
/// A stack of encoder layers (PyTorch's <c>nn.TransformerEncoder</c>) and an optional final norm: children
/// <c>layers.0</c>, <c>layers.1</c>, … and <c>norm</c>. PyTorch deep-copies one layer (so every layer starts with the same
/// weights); here makeLayer builds each layer, so each is initialized on its own:
/// <c>new TransformerEncoder(() =&gt; new TransformerEncoderLayer(128, 4, 512), numLayers: 2)</c>.
/// </summary>
public sealed class TransformerEncoder : Block
{
    private readonly BlockList _layers;
    private readonly Block? _norm;

    /// <summary>numLayers layers from <paramref name="makeLayer"/> (a new layer per call), then <paramref name="norm"/>.</summary>
    /// <exception cref="ArgumentNullException">makeLayer is null.</exception>
    /// <exception cref="ArgumentOutOfRangeException">numLayers is not positive.</exception>
    /// <exception cref="ArgumentException">makeLayer returned null or a layer it had already returned.</exception>
    public TransformerEncoder(Func<TransformerEncoderLayer> makeLayer, int numLayers, Block? norm = null)
    {
        _layers = Register("layers", new BlockList(TransformerParts.Stack(nameof(TransformerEncoder), makeLayer, numLayers)));
        if (norm is not null) _norm = Register("norm", norm);
    }

    /// <summary>The layers, in order.</summary>
    public IReadOnlyList<TransformerEncoderLayer> Layers => _layers.Cast<TransformerEncoderLayer>().ToList();

    /// <summary>Runs every layer with the same masks (see <see cref="TransformerEncoderLayer.Call(Tensor, Tensor?, Tensor?, bool)"/>),
    /// then the norm.</summary>
    /// <exception cref="ArgumentNullException">src is null.</exception>
    /// <exception cref="ArgumentException">A shape does not fit.</exception>
    /// <exception cref="DeviceMismatchException">src or a mask is on another device than the parameters.</exception>
    public Tensor Call(Tensor src, Tensor? mask, Tensor? srcKeyPaddingMask = null, bool isCausal = false)
    {
        ArgumentNullException.ThrowIfNull(src);
        return Invoke((src, mask, srcKeyPaddingMask, isCausal), src.Device,
            static (b, a) => ((TransformerEncoder)b).Encode(a.src, a.mask, a.srcKeyPaddingMask, a.isCausal));
    }

    /// <inheritdoc/>
    protected override Tensor Forward(Tensor x) => Encode(x, null, null, false);

    private Tensor Encode(Tensor x, Tensor? mask, Tensor? padding, bool causal)
    {
        foreach (var layer in _layers) x = ((TransformerEncoderLayer)layer).Call(x, mask, padding, causal);
        return _norm is null ? x : _norm.Call(x);
    }
}

/// <summary>What the transformer layers share.</summary>
internal static class TransformerParts
{
    public static void Check(string op, int dimFeedforward, TransformerActivation activation)
    {
        if (dimFeedforward <= 0)
            throw new ArgumentOutOfRangeException(nameof(dimFeedforward), dimFeedforward,
                $"{op}: dimFeedforward must be positive, got {dimFeedforward}.");
        if (!Enum.IsDefined(activation))
            throw new ArgumentOutOfRangeException(nameof(activation), activation, $"{op}: {(int)activation} is not an activation.");
    }

    public static Tensor Activate(Tensor x, TransformerActivation a) => a == TransformerActivation.Gelu ? x.Gelu() : x.Relu();

    public static IEnumerable<T> Stack<T>(string op, Func<T> makeLayer, int numLayers) where T : Block
    {
        ArgumentNullException.ThrowIfNull(makeLayer, nameof(makeLayer)); // the public constructors' names
        if (numLayers <= 0)
            throw new ArgumentOutOfRangeException(nameof(numLayers), numLayers, $"{op}: numLayers must be positive, got {numLayers}.");
        var made = new List<T>();
        for (int i = 0; i < numLayers; i++)
        {
            var layer = makeLayer() ?? throw new ArgumentException($"{op}: makeLayer returned null for layer {i}.", nameof(makeLayer));
            if (made.Any(m => ReferenceEquals(m, layer)))
                throw new ArgumentException($"{op}: makeLayer returned the same layer twice (layers {made.IndexOf(layer)} and {i}); " +
                    "it must build a new layer on each call, e.g. () => new TransformerEncoderLayer(...).", nameof(makeLayer));
            made.Add(layer);
        }
        return made;
    }
}
