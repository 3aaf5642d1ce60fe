namespace DeepSharp.Layers;

/// <summary>The nonlinearity of an <see cref="Rnn"/> (PyTorch's <c>nonlinearity</c> argument).</summary>
public enum RnnNonlinearity
{
    /// <summary>h' = tanh(x·W_ihᵀ + b_ih + h·W_hhᵀ + b_hh) (the default).</summary>
    Tanh,
    /// <summary>h' = relu(x·W_ihᵀ + b_ih + h·W_hhᵀ + b_hh).</summary>
    Relu,
}

/// <summary>
/// Multi-layer LSTM (PyTorch's <c>nn.LSTM</c>): input [T, B, in] ([B, T, in] with batchFirst) and optional (h0, c0), each
/// [numLayers·D, B, H] (zeros when null; D = 2 when bidirectional) → output [T, B, D·H] (or [B, T, D·H]) and (hn, cn)
/// [numLayers·D, B, H]. Per step c = σ(f)⊙c + σ(i)⊙tanh(g), h = σ(o)⊙tanh(c) from the gates x·W_ihᵀ + b_ih + h·W_hhᵀ + b_hh
/// (order i, f, g, o; <see cref="Functional.LstmCell"/>). Parameters as PyTorch's: weight_ih_l{k}[_reverse] [4H, in],
/// weight_hh_l{k} [4H, H], bias_ih_l{k} and bias_hh_l{k} [4H], all U(−1/√H, 1/√H). Dropout (training only) applies to
/// every layer's output but the last.
/// </summary>
public sealed class Lstm : Block<(Tensor Input, (Tensor H, Tensor C)? State), (Tensor Output, (Tensor H, Tensor C) State)>
{
    private readonly RecurrentCore _core;
    private readonly Dropout? _dropout;

    /// <summary>A stack of <paramref name="numLayers"/> LSTM layers; <paramref name="inputSize"/> −1 = from the first batch.</summary>
    /// <exception cref="ArgumentOutOfRangeException">A size is not positive (inputSize may be −1), or dropout is outside
    /// [0, 1).</exception>
    public Lstm(int inputSize, int hiddenSize, int numLayers = 1, bool bias = true, bool batchFirst = false, float dropout = 0f,
        bool bidirectional = false)
    {
        _core = new RecurrentCore(nameof(Lstm), RecurrentMode.Lstm, inputSize, hiddenSize, numLayers, bias, dropout, bidirectional,
            (name, p) => Register(name, p));
        _dropout = dropout > 0 ? Register("dropout", new Dropout(dropout)) : null;
        BatchFirst = batchFirst;
    }

    /// <summary>Input features (−1 until the first batch).</summary>
    public int InputSize => _core.InputSize;
    /// <summary>Hidden units H.</summary>
    public int HiddenSize => _core.HiddenSize;
    /// <summary>Stacked layers.</summary>
    public int NumLayers => _core.NumLayers;
    /// <summary>Whether inputs and outputs are [B, T, ·].</summary>
    public bool BatchFirst { get; }
    /// <summary>Whether each layer also runs backwards in time.</summary>
    public bool Bidirectional => _core.Directions == 2;

    /// <inheritdoc/>
    protected override (Tensor Output, (Tensor H, Tensor C) State) Forward((Tensor Input, (Tensor H, Tensor C)? State) input)
    {
        var x = Recurrent.Prepare(_core, input.Input, BatchFirst, Materialize);
        var (y, hn, cn) = _core.Run(x, input.State?.H, input.State?.C, t => _dropout!.Call(t));
        return (BatchFirst ? y.Transpose(0, 1) : y, (hn, cn!));
    }

    /// <inheritdoc/>
    protected override string ExtraRepr() => Recurrent.Repr(_core, BatchFirst);
}

/// <summary>
/// Multi-layer GRU (PyTorch's <c>nn.GRU</c>): input [T, B, in] ([B, T, in] with batchFirst) and optional h0
/// [numLayers·D, B, H] (zeros when null) → output [T, B, D·H] (or [B, T, D·H]) and hn [numLayers·D, B, H]. Per step
/// r = σ(x_r + h_r), z = σ(x_z + h_z), n = tanh(x_n + r⊙h_n), h' = (1 − z)⊙n + z⊙h with x_· = x·W_ihᵀ + b_ih and
/// h_· = h·W_hhᵀ + b_hh (order r, z, n; <see cref="Functional.GruCell"/>). Parameters as PyTorch's ([3H, ·]), all
/// U(−1/√H, 1/√H).
/// </summary>
public sealed class Gru : Block<(Tensor Input, Tensor? H0), (Tensor Output, Tensor HN)>
{
    private readonly RecurrentCore _core;
    private readonly Dropout? _dropout;

    /// <summary>A stack of <paramref name="numLayers"/> GRU layers; <paramref name="inputSize"/> −1 = from the first batch.</summary>
    /// <exception cref="ArgumentOutOfRangeException">A size is not positive (inputSize may be −1), or dropout is outside
    /// [0, 1).</exception>
    public Gru(int inputSize, int hiddenSize, int numLayers = 1, bool bias = true, bool batchFirst = false, float dropout = 0f,
        bool bidirectional = false)
    {
        _core = new RecurrentCore(nameof(Gru), RecurrentMode.Gru, inputSize, hiddenSize, numLayers, bias, dropout, bidirectional,
            (name, p) => Register(name, p));
        _dropout = dropout > 0 ? Register("dropout", new Dropout(dropout)) : null;
        BatchFirst = batchFirst;
    }

    /// <inheritdoc cref="Lstm.InputSize"/>
    public int InputSize => _core.InputSize;
    /// <inheritdoc cref="Lstm.HiddenSize"/>
    public int HiddenSize => _core.HiddenSize;
    /// <inheritdoc cref="Lstm.NumLayers"/>
    public int NumLayers => _core.NumLayers;
    /// <inheritdoc cref="Lstm.BatchFirst"/>
    public bool BatchFirst { get; }
    /// <inheritdoc cref="Lstm.Bidirectional"/>
    public bool Bidirectional => _core.Directions == 2;

    /// <inheritdoc/>
    protected override (Tensor Output, Tensor HN) Forward((Tensor Input, Tensor? H0) input)
    {
        var x = Recurrent.Prepare(_core, input.Input, BatchFirst, Materialize);
        var (y, hn, _) = _core.Run(x, input.H0, null, t => _dropout!.Call(t));
        return (BatchFirst ? y.Transpose(0, 1) : y, hn);
    }

    /// <inheritdoc/>
    protected override string ExtraRepr() => Recurrent.Repr(_core, BatchFirst);
}

/// <summary>
/// Multi-layer Elman RNN (PyTorch's <c>nn.RNN</c>): h' = tanh (or relu)(x·W_ihᵀ + b_ih + h·W_hhᵀ + b_hh); input
/// [T, B, in] ([B, T, in] with batchFirst) and optional h0 [numLayers·D, B, H] → output [T, B, D·H] and hn
/// [numLayers·D, B, H]. Parameters as PyTorch's ([H, ·]), all U(−1/√H, 1/√H).
/// </summary>
public sealed class Rnn : Block<(Tensor Input, Tensor? H0), (Tensor Output, Tensor HN)>
{
    private readonly RecurrentCore _core;
    private readonly Dropout? _dropout;

    /// <summary>A stack of <paramref name="numLayers"/> RNN layers; <paramref name="inputSize"/> −1 = from the first batch.</summary>
    /// <exception cref="ArgumentOutOfRangeException">A size is not positive (inputSize may be −1), dropout is outside [0, 1), or
    /// nonlinearity is not an <see cref="RnnNonlinearity"/>.</exception>
    public Rnn(int inputSize, int hiddenSize, int numLayers = 1, RnnNonlinearity nonlinearity = RnnNonlinearity.Tanh, bool bias = true,
        bool batchFirst = false, float dropout = 0f, bool bidirectional = false)
    {
        if (!Enum.IsDefined(nonlinearity))
            throw new ArgumentOutOfRangeException(nameof(nonlinearity), nonlinearity, $"Rnn: unknown nonlinearity {nonlinearity}.");
        var mode = nonlinearity == RnnNonlinearity.Relu ? RecurrentMode.RnnRelu : RecurrentMode.RnnTanh;
        _core = new RecurrentCore(nameof(Rnn), mode, inputSize, hiddenSize, numLayers, bias, dropout, bidirectional,
            (name, p) => Register(name, p));
        _dropout = dropout > 0 ? Register("dropout", new Dropout(dropout)) : null;
        (BatchFirst, Nonlinearity) = (batchFirst, nonlinearity);
    }

    /// <summary>tanh or relu.</summary>
    public RnnNonlinearity Nonlinearity { get; }
    /// <inheritdoc cref="Lstm.InputSize"/>
    public int InputSize => _core.InputSize;
    /// <inheritdoc cref="Lstm.HiddenSize"/>
    public int HiddenSize => _core.HiddenSize;
    /// <inheritdoc cref="Lstm.NumLayers"/>
    public int NumLayers => _core.NumLayers;
    /// <inheritdoc cref="Lstm.BatchFirst"/>
    public bool BatchFirst { get; }
    /// <inheritdoc cref="Lstm.Bidirectional"/>
    public bool Bidirectional => _core.Directions == 2;

    /// <inheritdoc/>
    protected override (Tensor Output, Tensor HN) Forward((Tensor Input, Tensor? H0) input)
    {
        var x = Recurrent.Prepare(_core, input.Input, BatchFirst, Materialize);
        var (y, hn, _) = _core.Run(x, input.H0, null, t => _dropout!.Call(t));
        return (BatchFirst ? y.Transpose(0, 1) : y, hn);
    }

    /// <inheritdoc/>
    protected override string ExtraRepr() => Recurrent.Repr(_core, BatchFirst) +
        (Nonlinearity == RnnNonlinearity.Relu ? ", nonlinearity=relu" : "");
}

/// <summary>The recurrent layers' shared Forward prologue and printing.</summary>
internal static class Recurrent
{
    /// <summary>Checks the input, materializes a deferred input size and returns x seq-first.</summary>
    public static Tensor Prepare(RecurrentCore core, Tensor input, bool batchFirst, Action<Parameter, int[], Device> materialize)
    {
        var x = core.SeqFirst(input, batchFirst);
        foreach (var w in core.InputWeights) materialize(w, [core.Gates * core.HiddenSize, x.Size(2)], x.Device);
        return x;
    }

    /// <summary>"in, hidden, num_layers=L" and the non-default options, as PyTorch prints them.</summary>
    public static string Repr(RecurrentCore c, bool batchFirst) =>
        FormattableString.Invariant($"{(c.InputSize < 0 ? "?" : c.InputSize.ToString())}, {c.HiddenSize}, num_layers={c.NumLayers}") +
        (batchFirst ? ", batch_first=true" : "") +
        (c.Dropout > 0 ? FormattableString.Invariant($", dropout={c.Dropout}") : "") + (c.Directions == 2 ? ", bidirectional=true" : "");
}
