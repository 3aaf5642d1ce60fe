namespace DeepSharp.Layers;

/// <summary>
/// The encoder-decoder transformer (PyTorch's <c>nn.Transformer</c>): memory = encoder(src), output = decoder(tgt, memory),
/// src [S, N, E] and tgt [T, N, E] ([N, ·, E] with batchFirst) → [T, N, E]. Children as PyTorch's: <c>encoder.layers.k</c>,
/// <c>encoder.norm</c>, <c>decoder.layers.k</c>, <c>decoder.norm</c>; every parameter with two or more dims starts
/// Xavier-uniform (PyTorch's <c>_reset_parameters</c>), biases and norms as their layers'. Embeddings and the output layer
/// are the user's, as in PyTorch. A causal target: <c>model.Call(src, tgt, tgtIsCausal: true)</c> or
/// <c>tgtMask: Transformer.GenerateSquareSubsequentMask(T)</c>.
/// </summary>
public sealed class Transformer : Block<(Tensor Src, Tensor Tgt), Tensor>
{
    private readonly TransformerEncoder _encoder;
    private readonly TransformerDecoder _decoder;

    /// <summary>A transformer with PyTorch's defaults (the base model of "Attention Is All You Need").</summary>
    /// <exception cref="ArgumentOutOfRangeException">A size is not positive, nhead does not divide dModel, dropout is outside
    /// [0, 1), layerNormEps is negative, or activation is not a <see cref="TransformerActivation"/>.</exception>
    public Transformer(int dModel = 512, int nhead = 8, int numEncoderLayers = 6, int numDecoderLayers = 6, int dimFeedforward = 2048,
        float dropout = 0.1f, TransformerActivation activation = TransformerActivation.Relu, float layerNormEps = 1e-5f,
        bool batchFirst = false, bool normFirst = false, bool bias = true)
    {
        _encoder = Register("encoder", new TransformerEncoder(() => new TransformerEncoderLayer(dModel, nhead, dimFeedforward, dropout,
            activation, layerNormEps, batchFirst, normFirst, bias), numEncoderLayers, new LayerNorm(dModel, layerNormEps, bias: bias)));
        _decoder = Register("decoder", new TransformerDecoder(() => new TransformerDecoderLayer(dModel, nhead, dimFeedforward, dropout,
            activation, layerNormEps, batchFirst, normFirst, bias), numDecoderLayers, new LayerNorm(dModel, layerNormEps, bias: bias)));
        foreach (var (_, p) in NamedParameters())
            if (p.Shape.Length > 1) p.Initializer = Init.XavierUniform();
        (DModel, NHead, BatchFirst) = (dModel, nhead, batchFirst);
    }

    /// <summary>Model width E.</summary>
    public int DModel { get; }
    /// <summary>Heads per attention.</summary>
    public int NHead { get; }
    /// <summary>Whether inputs and outputs are [N, ·, E].</summary>
    public bool BatchFirst { get; }
    /// <summary>The encoder stack (<c>encoder</c>).</summary>
    public TransformerEncoder Encoder => _encoder;
    /// <summary>The decoder stack (<c>decoder</c>).</summary>
    public TransformerDecoder Decoder => _decoder;

    /// <summary>
    /// A float [size, size] mask with −inf above the diagonal and 0 elsewhere (PyTorch's
    /// <c>Transformer.generate_square_subsequent_mask</c>): position i attends to 0..i.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">size is negative.</exception>
    public static Tensor GenerateSquareSubsequentMask(int size, Device? device = null)
    {
        if (size < 0)
            throw new ArgumentOutOfRangeException(nameof(size), size, $"GenerateSquareSubsequentMask: size must be >= 0, got {size}.");
        return AttentionMask.Causal(size, size, device ?? Device.Cpu);
    }

    /// <summary>
    /// Runs encoder and decoder with masks (through the block machinery), as PyTorch's <c>forward</c>: srcMask [S, S],
    /// tgtMask [T, T], memoryMask [T, S] (or [N·H, ·, ·]); key padding masks [N, S], [N, T], [N, S] (int: nonzero = ignore;
    /// float: added); the *IsCausal flags without their mask mask later positions.
    /// </summary>
    /// <exception cref="ArgumentNullException">src or tgt is null.</exception>
    /// <exception cref="ArgumentException">A shape does not fit (src and tgt must have the same batch size and width).</exception>
    /// <exception cref="DeviceMismatchException">An input is on another device than the parameters.</exception>
    public Tensor Call(Tensor src, Tensor tgt, Tensor? srcMask = null, Tensor? tgtMask = null, Tensor? memoryMask = null,
        Tensor? srcKeyPaddingMask = null, Tensor? tgtKeyPaddingMask = null, Tensor? memoryKeyPaddingMask = null, bool srcIsCausal = false,
        bool tgtIsCausal = false, bool memoryIsCausal = false)
    {
        ArgumentNullException.ThrowIfNull(src); ArgumentNullException.ThrowIfNull(tgt);
        var masks = new DecoderMasks(tgtMask, memoryMask, tgtKeyPaddingMask, memoryKeyPaddingMask, tgtIsCausal, memoryIsCausal);
        return Invoke((src, tgt, srcMask, srcKeyPaddingMask, srcIsCausal, masks), src.Device, static (b, a) =>
        {
            var t = (Transformer)b;
            var memory = t._encoder.Call(a.src, a.srcMask, a.srcKeyPaddingMask, a.srcIsCausal);
            var m = a.masks;
            return t._decoder.Call(a.tgt, memory, m.Tgt, m.Memory, m.TgtKeyPadding, m.MemoryKeyPadding, m.TgtIsCausal, m.MemoryIsCausal);
        });
    }

    /// <inheritdoc/>
    protected override Tensor Forward((Tensor Src, Tensor Tgt) input) => _decoder.Call((input.Tgt, _encoder.Call(input.Src)));
}
