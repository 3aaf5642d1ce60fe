#if TORCH_PEER
using TorchSharp;
using static TorchSharp.torch;

/// <summary>The sequence workloads of issue 18, libtorch's side (the same work as PeerSequence.cs).</summary>
sealed partial class TorchSide
{
    public Action LstmStep()
    {
        const int steps = OursSide.LmSteps, batch = OursSide.LmBatch, vocab = OursSide.LmVocab, hidden = OursSide.LmHidden;
        var lstm = nn.LSTM(vocab, hidden);
        var output = nn.Linear(hidden, vocab);
        var parameters = lstm.parameters().Concat(output.parameters()).ToList();
        var opt = optim.SGD(parameters, 1.0);
        var (tokens, labels) = OursSide.LmBatchData();
        var x = tensor(tokens, [steps, batch]);
        var y = tensor(labels);
        return Scoped(() =>
        {
            opt.zero_grad();
            var (h, _, _) = lstm.forward(nn.functional.one_hot(x, vocab).to_type(ScalarType.Float32));
            nn.functional.cross_entropy(output.forward(h.reshape(steps * batch, hidden)), y).backward();
            nn.utils.clip_grad_norm_(parameters, 1.0);
            opt.step();
        });
    }

    /// <summary>Embedding(1000, 128), two post-norm encoder layers (4 heads, FFN 512, ReLU, dropout 0), Linear(128, 1000),
    /// cross-entropy over every one of the [64, 32] tokens' next token, Adam (lr 1e-3). TorchSharp's encoder layer has
    /// no batch_first, so the tokens are held sequence-first ([32, 64]): the same work as ours batch-first.</summary>
    public Action? TransformerStep()
    {
        const int batch = OursSide.TfBatch, seq = OursSide.TfSeq, vocab = OursSide.TfVocab, model = OursSide.TfModel;
        var embed = nn.Embedding(vocab, model);
        var layers = Enumerable.Range(0, 2).Select(_ => nn.TransformerEncoderLayer(model, OursSide.TfHeads, OursSide.TfFfn, 0.0))
            .ToArray();
        var output = nn.Linear(model, vocab);
        var parameters = embed.parameters().Concat(layers.SelectMany(l => l.parameters())).Concat(output.parameters()).ToList();
        var opt = optim.Adam(parameters, 1e-3);
        var (tokens, labels) = OursSide.TfBatchData();
        var x = tensor(tokens, [batch, seq]).t().contiguous();
        var y = tensor(labels, [batch, seq]).t().contiguous().reshape(-1);
        return Scoped(() =>
        {
            opt.zero_grad();
            var h = embed.forward(x);
            foreach (var layer in layers) h = layer.forward(h);
            nn.functional.cross_entropy(output.forward(h).reshape(-1, vocab), y).backward();
            opt.step();
        });
    }
}
#endif
