using DeepSharp.Layers;

/// <summary>What a recurrent model carries from one batch to the next: h [layers, B, hidden] and, for an LSTM, c.</summary>
public sealed record LmState(Tensor H, Tensor? C) : IDisposable
{
    /// <summary>The same values cut from the graph and taken out of <paramref name="scope"/> (the next batch starts from them
    /// without back-propagating into this one: the book's <c>state.detach_()</c>).</summary>
    public LmState Keep(TensorScope scope) => new(scope.Keep(H.Detach()), C is null ? null : scope.Keep(C.Detach()));

    /// <inheritdoc/>
    public void Dispose()
    {
        H.Dispose();
        C?.Dispose();
    }
}

/// <summary>
/// A character-level language model (the app's pluggable part): tokens [B, T] int64 and the state the previous batch left
/// (null: a fresh start) → logits [T·B, vocab], time-major (row t·B + b is sequence b's prediction after step t, as the
/// book's <c>RNNModel</c> orders them), and the state to carry on (null for a model that carries none).
/// </summary>
public abstract class LanguageModel : Block<(Tensor Tokens, LmState? State), (Tensor Logits, LmState? State)>
{
    /// <summary>A model over <paramref name="vocabSize"/> tokens.</summary>
    protected LanguageModel(int vocabSize) => VocabSize = vocabSize;

    /// <summary>The number of tokens (the logits' last dim).</summary>
    public int VocabSize { get; }

    /// <summary>Whether the state carries across consecutive batches (a recurrent model); otherwise generation feeds the
    /// window of the last tokens each time (see <see cref="Predict"/>).</summary>
    public abstract bool CarriesState { get; }

    /// <summary>
    /// Greedy generation (the book's <c>predict_ch8</c>): warms up on <paramref name="prefix"/>, then feeds back the most
    /// likely next token <paramref name="count"/> times; returns the prefix and the new tokens. A model that carries no
    /// state sees the last <paramref name="window"/> tokens each time.
    /// </summary>
    public int[] Predict(int[] prefix, int count, int window, Device device)
    {
        var tokens = new List<int>(prefix);
        LmState? state = null;
        bool wasTraining = IsTraining;
        Eval();
        using (Autograd.NoGrad())
            for (int i = 0; i < count; i++)
            {
                using var scope = TensorScope.Begin();
                // A recurrent model reads the prefix once, then only the token it last predicted.
                int[] input = CarriesState ? (i == 0 ? [.. tokens] : [tokens[^1]]) : [.. tokens.TakeLast(window)];
                var x = Tensor.FromArray(input.Select(t => (long)t).ToArray(), [1, input.Length], device);
                var (logits, next) = Call((x, state));
                tokens.Add((int)logits[input.Length - 1].ArgMax(0).Item<long>());
                state?.Dispose();
                state = next?.Keep(scope);
            }
        state?.Dispose();
        if (wasTraining) Train();
        return [.. tokens];
    }
}

/// <summary>
/// The book's recurrent language model (§9.6, §10.1, §10.2 concise implementations): one-hot inputs [T, B, vocab] →
/// <see cref="Rnn"/>, <see cref="Gru"/> or <see cref="Lstm"/> (hidden units H, stacked layers) → <see cref="Dense"/> to the
/// vocabulary on every step.
/// </summary>
public sealed class RecurrentLm : LanguageModel
{
    private readonly Block _rnn;
    private readonly Dense _output;

    /// <summary>A <paramref name="kind"/> (rnn, gru or lstm) model of <paramref name="layers"/> × <paramref name="hidden"/>, with
    /// <paramref name="dropout"/> between layers.</summary>
    public RecurrentLm(string kind, int vocabSize, int hidden, int layers, float dropout = 0f) : base(vocabSize)
    {
        Kind = kind;
        _rnn = Register("rnn", kind switch
        {
            "lstm" => new Lstm(vocabSize, hidden, layers, dropout: dropout),
            "gru" => (Block)new Gru(vocabSize, hidden, layers, dropout: dropout),
            _ => new Rnn(vocabSize, hidden, layers, dropout: dropout),
        });
        _output = Register("output", new Dense(vocabSize, hidden));
    }

    /// <summary>rnn, gru or lstm.</summary>
    public string Kind { get; }

    /// <inheritdoc/>
    public override bool CarriesState => true;

    /// <inheritdoc/>
    protected override (Tensor Logits, LmState? State) Forward((Tensor Tokens, LmState? State) input)
    {
        var x = Functional.OneHot(input.Tokens.T, VocabSize); // [T, B, vocab], as the book's F.one_hot(inputs.T)
        var s = input.State;
        Tensor y;
        LmState state;
        switch (_rnn)
        {
            case Lstm lstm:
                var (yl, (h, c)) = lstm.Call((x, s is null ? null : (s.H, s.C!)));
                (y, state) = (yl, new LmState(h, c));
                break;
            case Gru gru:
                var (yg, hg) = gru.Call((x, s?.H));
                (y, state) = (yg, new LmState(hg, null));
                break;
            default:
                var (yr, hr) = ((Rnn)_rnn).Call((x, s?.H));
                (y, state) = (yr, new LmState(hr, null));
                break;
        }
        return (_output.Call(y.Reshape(-1, y.Size(2))), state);
    }

    /// <inheritdoc/>
    protected override string ExtraRepr() => $"one-hot {VocabSize}, {Kind}";
}
