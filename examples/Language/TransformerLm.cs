using DeepSharp.Layers;

/// <summary>
/// A decoder-only transformer language model: token <see cref="Embedding"/> (scaled by √d, as the book's transformer
/// encoder) → <see cref="PositionalEncoding"/> → a stack of pre-norm <see cref="TransformerEncoderLayer"/>s with causal
/// self-attention (step t sees steps 0..t only) and a final <see cref="LayerNorm"/> → <see cref="Dense"/> to the
/// vocabulary. It carries no state between batches: each sees its own window of steps.
/// </summary>
public sealed class TransformerLm : LanguageModel
{
    private readonly Embedding _embedding;
    private readonly PositionalEncoding _position;
    private readonly TransformerEncoder _encoder;
    private readonly Dense _output;

    /// <summary>A model of width <paramref name="dModel"/>, <paramref name="layers"/> layers of <paramref name="heads"/> heads
    /// (feed-forward 4·dModel), for windows of up to <paramref name="maxSteps"/> tokens.</summary>
    public TransformerLm(int vocabSize, int dModel, int heads, int layers, float dropout, int maxSteps) : base(vocabSize)
    {
        DModel = dModel;
        _embedding = Register("embedding", new Embedding(vocabSize, dModel));
        _position = Register("position", new PositionalEncoding(dModel, dropout, maxSteps));
        _encoder = Register("encoder", new TransformerEncoder(() => new TransformerEncoderLayer(dModel, heads, 4 * dModel, dropout,
            batchFirst: true, normFirst: true), layers, new LayerNorm(dModel)));
        _output = Register("output", new Dense(vocabSize, dModel));
    }

    /// <summary>The model's width d.</summary>
    public int DModel { get; }

    /// <inheritdoc/>
    public override bool CarriesState => false;

    /// <inheritdoc/>
    protected override (Tensor Logits, LmState? State) Forward((Tensor Tokens, LmState? State) input)
    {
        var x = _position.Call(_embedding.Call(input.Tokens) * MathF.Sqrt(DModel)); // [B, T, d]
        var h = _encoder.Call(x, null, isCausal: true);
        return (_output.Call(h.Transpose(0, 1).Reshape(-1, DModel)), null); // time-major rows, as the recurrent models'
    }
}
