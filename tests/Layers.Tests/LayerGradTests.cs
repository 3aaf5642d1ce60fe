using DeepSharp.Layers;

namespace DeepSharp.Layers.Tests;

/// <summary>Gradient checks of every built-in layer, of the input and of every parameter: in float64 against finite
/// differences, and in float32 against the float64 gradients.</summary>
public class LayerGradTests
{
    private static readonly string[] Names = ["dense", "conv", "conv_stride_pad", "conv_batch", "maxpool", "maxpool_overlap", "avgpool",
        "relu", "sigmoid", "tanh", "flatten", "dropout_eval", "leaky_relu", "gelu", "gelu_tanh", "silu", "elu", "hardtanh", "softplus",
        "softmax", "log_softmax", "identity", "flatten_dims", "dropout1d_eval", "dropout2d_eval",
        "lstm", "gru", "rnn_bidirectional", "mha_self_causal_padding", "mha_kdim_batch_first",
        "encoder_layer", "encoder_layer_pre_gelu_causal", "decoder_layer", "adaptive_avg", "adaptive_max", "residual_projection",
        "positional_encoding", "transformer_encoder", "transformer"];

    public static TheoryData<string, string> Layers()
    {
        var d = new TheoryData<string, string>();
        foreach (var dev in DeepSharp.Tests.TestDevices.Names) foreach (var n in Names) d.Add(dev, n);
        return d;
    }

    private static (Block Block, int[] Input) Make(string name) => name switch
    {
        "dense" => (new Dense(3, 4), [2, 4]),
        "conv" => (new Conv2d(2, 2, inChannels: 2), [1, 2, 4, 4]),
        "conv_stride_pad" => (new Conv2d(2, 3, stride: 2, padding: 1, inChannels: 1), [1, 1, 5, 5]),
        "conv_batch" => (new Conv2d(3, 3, padding: 1, inChannels: 2), [3, 2, 4, 4]), // the batch as one product (small images)
        "maxpool" => (new MaxPool2d(2), [1, 2, 4, 4]),
        "maxpool_overlap" => (new MaxPool2d(3, stride: 1, padding: 1), [2, 1, 4, 4]),
        "avgpool" => (new AvgPool2d(2, stride: 1), [1, 1, 3, 3]),
        "relu" => (new Relu(), [2, 3]),
        "sigmoid" => (new Sigmoid(), [2, 3]),
        "tanh" => (new Tanh(), [2, 3]),
        "flatten" => (new Flatten(), [2, 2, 2]),
        "leaky_relu" => (new LeakyRelu(0.1f), [2, 3]),
        "gelu" => (new Gelu(), [2, 3]),
        "gelu_tanh" => (new Gelu("tanh"), [2, 3]),
        "silu" => (new Silu(), [2, 3]),
        "elu" => (new Elu(0.5f), [2, 3]),
        "hardtanh" => (new Hardtanh(-0.6f, 0.6f), [2, 3]),
        "softplus" => (new Softplus(2f), [2, 3]),
        "softmax" => (new Softmax(1), [2, 3, 2]),
        "log_softmax" => (new LogSoftmax(-1), [2, 3]),
        "identity" => (new Identity(), [2, 3]),
        "flatten_dims" => (new Flatten(0, 1), [2, 2, 2]),
        "dropout1d_eval" => (new Dropout1d(0.5f).Eval(), [2, 3]),
        "dropout2d_eval" => (new Dropout2d(0.5f).Eval(), [1, 2, 3]),
        "lstm" => (Sequence.Of(new Lstm(3, 2, 2)), [3, 2, 3]),
        "gru" => (Sequence.Of(new Gru(-1, 2, 2, batchFirst: true)), [2, 3, 3]),
        "rnn_bidirectional" => (Sequence.Of(new Rnn(3, 2, 1, bidirectional: true)), [3, 2, 3]), // relu: see RecurrentTests (kinks)
        "mha_self_causal_padding" => (new Attend(new MultiHeadAttention(4, 2), x => (x, x, x),
            Tensor.FromArray(new[] { 0, 0, 1, 0, 0, 0 }, [2, 3]), true), [3, 2, 4]),
        "mha_kdim_batch_first" => (new Attend(new MultiHeadAttention(4, 2, kdim: 2, vdim: 3, batchFirst: true),
            x => (x, x.Slice(-1, 0, 2), x.Slice(-1, 1, 4)), null, false), [2, 3, 4]),
        "encoder_layer" => (new TransformerEncoderLayer(4, 2, 6, 0f, TransformerActivation.Gelu), [3, 2, 4]), // gelu: no kinks
        "encoder_layer_pre_gelu_causal" => (new Causal(new TransformerEncoderLayer(4, 2, 5, 0f, TransformerActivation.Gelu,
            batchFirst: true, normFirst: true)), [2, 3, 4]),
        "decoder_layer" => (new Decode(new TransformerDecoderLayer(4, 2, 5, 0f, TransformerActivation.Gelu, normFirst: true)), [3, 2, 4]),
        "adaptive_avg" => (new AdaptiveAvgPool2d((2, 4)), [1, 2, 5, 6]),
        "adaptive_max" => (new AdaptiveMaxPool2d((2, 4)), [1, 2, 5, 6]),
        "residual_projection" => (new Residual(3, stride: 2), [2, 2, 4, 4]), // batch norm in training mode, a 1×1 projection
        "positional_encoding" => (new PositionalEncoding(4, 0f), [2, 3, 4]),
        "transformer_encoder" => (new TransformerEncoder(() => new TransformerEncoderLayer(4, 2, 6, 0f, TransformerActivation.Gelu), 2,
            new LayerNorm(4)), [3, 2, 4]),
        "transformer" => (new WholeTransformer(new Transformer(4, 2, 1, 1, 5, 0f, TransformerActivation.Gelu)), [3, 2, 4]),
        _ => (new Dropout(0.5f).Eval(), [2, 3]),
    };

    /// <summary>A recurrent layer as a one-tensor block: its output and final states, flattened and joined.</summary>
    private sealed class Sequence : Block
    {
        private readonly Func<Tensor, Tensor[]> _run;

        private Sequence(Block inner, Func<Tensor, Tensor[]> run)
        {
            Register("rnn", inner);
            _run = run;
        }

        public static Sequence Of(Lstm l) => new(l, x => l.Call((x, null)) is var (y, (h, c)) ? [y, h, c] : []);
        public static Sequence Of(Gru g) => new(g, x => g.Call((x, null)) is var (y, h) ? [y, h] : []);
        public static Sequence Of(Rnn r) => new(r, x => r.Call((x, null)) is var (y, h) ? [y, h] : []);

        protected override Tensor Forward(Tensor x) => Tensor.Concat(_run(x).Select(t => t.Reshape(-1)).ToList());
    }

    /// <summary>Multi-head attention as a one-tensor block: (query, key, value) from x; the output and the per-head weights,
    /// flattened and joined.</summary>
    private sealed class Attend : Block
    {
        private readonly MultiHeadAttention _mha;
        private readonly Func<Tensor, (Tensor, Tensor, Tensor)> _inputs;
        private readonly Tensor? _padding;
        private readonly bool _causal;

        public Attend(MultiHeadAttention mha, Func<Tensor, (Tensor, Tensor, Tensor)> inputs, Tensor? padding, bool causal)
        {
            _mha = Register("mha", mha);
            (_inputs, _causal) = (inputs, causal);
            if (padding is not null) _padding = RegisterBuffer("padding", padding);
        }

        protected override Tensor Forward(Tensor x)
        {
            var (q, k, v) = _inputs(x);
            var (y, w) = _mha.Call(q, k, v, _padding, averageAttnWeights: false, isCausal: _causal);
            return Tensor.Concat([y.Reshape(-1), w!.Reshape(-1)]);
        }
    }

    /// <summary>A whole transformer over src = x and tgt = half of x without its first step.</summary>
    private sealed class WholeTransformer : Block
    {
        private readonly Transformer _model;
        public WholeTransformer(Transformer model) => _model = Register("model", model);
        protected override Tensor Forward(Tensor x) => _model.Call(x, x.Slice(0, 1) * 0.5f);
    }

    /// <summary>An encoder layer called with isCausal.</summary>
    private sealed class Causal : Block
    {
        private readonly TransformerEncoderLayer _layer;
        public Causal(TransformerEncoderLayer layer) => _layer = Register("layer", layer);
        protected override Tensor Forward(Tensor x) => _layer.Call(x, null, isCausal: true);
    }

    /// <summary>A decoder layer over tgt = x and memory = the reversed x, causal.</summary>
    private sealed class Decode : Block
    {
        private readonly TransformerDecoderLayer _layer;
        public Decode(TransformerDecoderLayer layer) => _layer = Register("layer", layer);
        protected override Tensor Forward(Tensor x) => _layer.Call(x, x.Slice(0, 1) * 0.5f, tgtIsCausal: true);
    }

    /// <summary>Distinct input values away from relu's kink and max-pool ties.</summary>
    private static float[] Input(int count) =>
        Enumerable.Range(0, count).Select(i => (float)((i * 7 % count) - count / 2.0 + 0.37) * 0.3f).ToArray();

    [Theory, MemberData(nameof(Layers))]
    public void Float64GradientsMatchFiniteDifferences(string device, string name)
    {
        var d = DeepSharp.Tests.TestDevices.Use(device);
        var (block, shape) = Make(name);
        block.Initialize(device: d);
        LayerGradCheck.Float64(block, shape, Input(shape.Aggregate(1, (a, b) => a * b)), d, name);
    }

    [Theory, MemberData(nameof(Layers))]
    public void Float32GradientsMatchTheFloat64Reference(string device, string name)
    {
        var d = DeepSharp.Tests.TestDevices.Use(device);
        var (block, shape) = Make(name);
        block.Initialize(device: d);
        LayerGradCheck.Float32(block, shape, Input(shape.Aggregate(1, (a, b) => a * b)), d, name);
    }
}
