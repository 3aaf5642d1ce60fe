using DeepSharp;
using DeepSharp.Layers;
using DeepSharp.Optim;

/// <summary>The sequence workloads of issue 18, our side (libtorch's in TorchPeerSequence.cs does the same work).</summary>
sealed partial class OursSide
{
    /// <summary>The language model's sizes (d2l §9.5 and §10.1: time machine characters, 35 steps, batch 32, 256 hidden).</summary>
    public const int LmSteps = 35, LmBatch = 32, LmVocab = 28, LmHidden = 256;

    /// <summary>Token ids [steps, batch] (time-major, as the book's `X.T`) and next-token labels [steps·batch], both
    /// drawn from a fixed seed (the same on both sides).</summary>
    public static (long[] Tokens, long[] Labels) LmBatchData()
    {
        var rng = new Random(18);
        long[] Draw() => Enumerable.Range(0, LmSteps * LmBatch).Select(_ => (long)rng.Next(LmVocab)).ToArray();
        return (Draw(), Draw());
    }

    /// <summary>One step of d2l's LSTM language model with random partition (the state begins at zero each batch, as
    /// `begin_state` does): one-hot, LSTM(28 → 256), Linear(256 → 28) over every step's output, cross-entropy over all
    /// 35×32 tokens, backward, gradient clipping to norm 1, SGD with lr 1.</summary>
    public Action LstmStep()
    {
        var lstm = new Lstm(LmVocab, LmHidden);
        var output = new Dense(LmVocab, LmHidden);
        lstm.Initialize(device: _d); output.Initialize(device: _d);
        var parameters = lstm.Parameters().Concat(output.Parameters()).ToArray();
        var opt = new Sgd(parameters, lr: 1f);
        var (tokens, labels) = LmBatchData();
        var x = Tensor.FromArray(tokens, [LmSteps, LmBatch], _d);
        var y = Tensor.FromArray(labels, device: _d);
        return () =>
        {
            using var scope = TensorScope.Begin();
            opt.ZeroGrad();
            var (h, _) = lstm.Call((Functional.OneHot(x, LmVocab), null));
            Functional.CrossEntropy(output.Call(h.Reshape(LmSteps * LmBatch, LmHidden)), y).Backward();
            ClipGrad.Norm(parameters, 1f);
            opt.Step();
        };
    }

    /// <summary>The Transformer row's sizes: [64, 32] tokens from a vocabulary of 1000, width 128, 4 heads, FFN 512.</summary>
    public const int TfBatch = 64, TfSeq = 32, TfVocab = 1000, TfModel = 128, TfHeads = 4, TfFfn = 512;

    /// <summary>Token ids [batch, seq] and each one's next token [batch, seq] (a random stream of batch·(seq + 1) ids
    /// cut into rows), from a fixed seed.</summary>
    public static (long[] Tokens, long[] Labels) TfBatchData()
    {
        var rng = new Random(19);
        var stream = Enumerable.Range(0, TfBatch * (TfSeq + 1)).Select(_ => (long)rng.Next(TfVocab)).ToArray();
        long[] Cut(int shift) => Enumerable.Range(0, TfBatch * TfSeq).Select(i => stream[i / TfSeq * (TfSeq + 1) + i % TfSeq + shift])
            .ToArray();
        return (Cut(0), Cut(1));
    }

    /// <summary>Embedding(1000, 128), two post-norm encoder layers (4 heads, FFN 512, ReLU, dropout 0, batch-first),
    /// Linear(128, 1000), cross-entropy of every one of the [64, 32] tokens against its next token, Adam (lr 1e-3).</summary>
    public Action? TransformerStep()
    {
        var net = new Sequential(new Embedding(TfVocab, TfModel),
            new TransformerEncoderLayer(TfModel, TfHeads, TfFfn, dropout: 0f, batchFirst: true),
            new TransformerEncoderLayer(TfModel, TfHeads, TfFfn, dropout: 0f, batchFirst: true),
            new Dense(TfVocab, TfModel));
        net.Initialize(device: _d);
        var opt = new Adam(net.Parameters(), lr: 1e-3f);
        var (tokens, labels) = TfBatchData();
        var x = Tensor.FromArray(tokens, [TfBatch, TfSeq], _d);
        var y = Tensor.FromArray(labels, device: _d);
        return () =>
        {
            using var scope = TensorScope.Begin();
            opt.ZeroGrad();
            Functional.CrossEntropy(net.Call(x).Reshape(TfBatch * TfSeq, TfVocab), y).Backward();
            opt.Step();
        };
    }
}
