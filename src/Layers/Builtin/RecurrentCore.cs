namespace DeepSharp.Layers;

/// <summary>Which recurrence a <see cref="RecurrentCore"/> runs (and so how many gates per hidden unit).</summary>
internal enum RecurrentMode
{
    /// <summary>Elman RNN with tanh: 1 gate.</summary>
    RnnTanh,
    /// <summary>Elman RNN with relu: 1 gate.</summary>
    RnnRelu,
    /// <summary>LSTM: 4 gates (i, f, g, o).</summary>
    Lstm,
    /// <summary>GRU: 3 gates (r, z, n).</summary>
    Gru,
}

/// <summary>
/// What <see cref="Lstm"/>, <see cref="Gru"/> and <see cref="Rnn"/> share: PyTorch's parameters (weight_ih_l{k}[_reverse]
/// [G·H, in], weight_hh_l{k} [G·H, H], bias_ih_l{k} and bias_hh_l{k} [G·H], all U(−1/√H, 1/√H)) and the sequence loop: per
/// layer and direction one product for the input projection of every step ([T·B, in]·W_ihᵀ + b_ih), then per step
/// h·W_hhᵀ + b_hh and the cell (fused for LSTM and GRU).
/// </summary>
internal sealed class RecurrentCore
{
    private readonly Parameter[] _wIh, _wHh;
    private readonly Parameter?[] _bIh, _bHh;

    public RecurrentCore(string layer, RecurrentMode mode, int inputSize, int hiddenSize, int numLayers, bool bias, float dropout,
        bool bidirectional, Func<string, Parameter, Parameter> register)
    {
        if (inputSize == 0 || inputSize < -1)
            throw new ArgumentOutOfRangeException(nameof(inputSize), inputSize, $"{layer}: inputSize must be positive (or -1: from " +
                $"the first batch), got {inputSize}.");
        if (hiddenSize <= 0)
            throw new ArgumentOutOfRangeException(nameof(hiddenSize), hiddenSize,
                $"{layer}: hiddenSize must be positive, got {hiddenSize}.");
        if (numLayers <= 0)
            throw new ArgumentOutOfRangeException(nameof(numLayers), numLayers, $"{layer}: numLayers must be positive, got {numLayers}.");
        if (!(dropout is >= 0 and < 1))
            throw new ArgumentOutOfRangeException(nameof(dropout), dropout, $"{layer}: dropout must be in [0, 1), got {dropout}.");
        (Layer, Mode, HiddenSize, NumLayers, Dropout) = (layer, mode, hiddenSize, numLayers, dropout);
        Directions = bidirectional ? 2 : 1;
        Gates = mode switch { RecurrentMode.Lstm => 4, RecurrentMode.Gru => 3, _ => 1 };
        int n = numLayers * Directions, gh = Gates * hiddenSize;
        (_wIh, _wHh, _bIh, _bHh) = (new Parameter[n], new Parameter[n], new Parameter?[n], new Parameter?[n]);
        float k = 1f / MathF.Sqrt(hiddenSize); // PyTorch's RNNBase.reset_parameters: every weight and bias U(−1/√H, 1/√H)
        for (int l = 0; l < numLayers; l++)
            for (int d = 0; d < Directions; d++)
            {
                int i = l * Directions + d, inSize = l == 0 ? inputSize : Directions * hiddenSize;
                string suffix = $"_l{l}{(d == 1 ? "_reverse" : "")}";
                _wIh[i] = register("weight_ih" + suffix, new Parameter([gh, inSize], Init.Uniform(-k, k)));
                _wHh[i] = register("weight_hh" + suffix, new Parameter([gh, hiddenSize], Init.Uniform(-k, k)));
                _bIh[i] = bias ? register("bias_ih" + suffix, new Parameter([gh], Init.Uniform(-k, k))) : null;
                _bHh[i] = bias ? register("bias_hh" + suffix, new Parameter([gh], Init.Uniform(-k, k))) : null;
            }
    }

    public string Layer { get; }
    public RecurrentMode Mode { get; }
    public int HiddenSize { get; }
    public int NumLayers { get; }
    public float Dropout { get; }
    public int Directions { get; }
    public int Gates { get; }
    /// <summary>Input size (−1 until the first batch).</summary>
    public int InputSize => _wIh[0].Shape[1];

    /// <summary>The first layer's input weights (deferred when the input size is).</summary>
    public IEnumerable<Parameter> InputWeights => _wIh.Take(Directions);

    /// <summary>
    /// The whole stack over x [T, B, in] (seq-first) from h0 (and c0 for LSTM) [L·D, B, H] (null: zeros): the last layer's
    /// output [T, B, D·H] and the final states [L·D, B, H]. <paramref name="drop"/> applies dropout between layers.
    /// </summary>
    public (Tensor Output, Tensor HN, Tensor? CN) Run(Tensor x, Tensor? h0, Tensor? c0, Func<Tensor, Tensor> drop)
    {
        int t = x.Size(0), b = x.Size(1);
        CheckState(h0, "h0", b); CheckState(c0, "c0", b);
        var hn = new Tensor[NumLayers * Directions];
        var cn = new Tensor[NumLayers * Directions];
        for (int l = 0; l < NumLayers; l++)
        {
            var outs = new Tensor[Directions];
            for (int d = 0; d < Directions; d++)
            {
                int i = l * Directions + d;
                var h = h0?[i] ?? Tensor.Zeros([b, HiddenSize], DType.Float32, x.Device);
                var c = Mode == RecurrentMode.Lstm ? c0?[i] ?? Tensor.Zeros([b, HiddenSize], DType.Float32, x.Device) : null;
                (outs[d], hn[i], cn[i]) = Direction(x, i, d == 1, h, c);
            }
            x = Directions == 1 ? outs[0] : Tensor.Concat(outs, 2);
            if (l < NumLayers - 1 && Dropout > 0) x = drop(x);
        }
        return (x, Tensor.Stack(hn, 0), Mode == RecurrentMode.Lstm ? Tensor.Stack(cn, 0) : null);
    }

    private (Tensor Output, Tensor H, Tensor C) Direction(Tensor x, int i, bool reverse, Tensor h, Tensor? c)
    {
        int t = x.Size(0), b = x.Size(1);
        if (Mode == RecurrentMode.Lstm)
        {
            // Both biases folded into the input projection (one product for every step); the recurrence is one op.
            var bias = _bIh[i] is { } bi ? bi.Data + _bHh[i]!.Data : null;
            var gates = Functional.Linear(x.Reshape(t * b, x.Size(2)), _wIh[i].Data, bias).Reshape(t, b, Gates * HiddenSize);
            return Functional.LstmSequence(gates, _wHh[i].Data, h, c!, reverse);
        }
        // Every step's input projection in one product: [T·B, in]·W_ihᵀ + b_ih.
        var xp = Functional.Linear(x.Reshape(t * b, x.Size(2)), _wIh[i].Data, _bIh[i]?.Data).Reshape(t, b, Gates * HiddenSize);
        if (Mode == RecurrentMode.Gru)
        {
            // b_hh stays apart from the input projection (r multiplies only the hidden part of n); the recurrence is one op.
            var (y, hn) = Functional.GruSequence(xp, _wHh[i].Data, _bHh[i]?.Data, h, reverse);
            return (y, hn, hn);
        }
        var hs = new Tensor[t];
        for (int s = 0; s < t; s++)
        {
            int step = reverse ? t - 1 - s : s;
            var hh = Functional.Linear(h, _wHh[i].Data, _bHh[i]?.Data);
            switch (Mode)
            {
                case RecurrentMode.RnnRelu: h = (xp[step] + hh).Relu(); break;
                default: h = (xp[step] + hh).Tanh(); break;
            }
            hs[step] = h;
        }
        return (Tensor.Stack(hs, 0), h, c ?? h);
    }

    private void CheckState(Tensor? state, string name, int batch)
    {
        if (state is null) return;
        int[] want = [NumLayers * Directions, batch, HiddenSize];
        if (!state.Shape.SequenceEqual(want))
            throw new ArgumentException($"{Layer}: {name} must be [numLayers·directions, batch, hidden] = {Layout.Format(want)}, got " +
                $"{Layout.Format(state.Shape)}.", name);
    }

    /// <summary>x as [T, B, in] (transposed from batch-first), after checking its rank and size.</summary>
    public Tensor SeqFirst(Tensor x, bool batchFirst)
    {
        if (x.Rank != 3)
            throw new ArgumentException($"{Layer}: the input must be [seq, batch, input] ([batch, seq, input] with batchFirst), got " +
                $"{Layout.Format(x.Shape)}.", "input");
        if (InputSize >= 0 && x.Size(2) != InputSize)
            throw new ArgumentException($"{Layer}: expected inputs with {InputSize} features (last dim), got {Layout.Format(x.Shape)}.",
                "input");
        return batchFirst ? x.Transpose(0, 1) : x;
    }
}
