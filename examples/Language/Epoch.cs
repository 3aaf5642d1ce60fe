using System.Diagnostics;
using DeepSharp.Data;
using DeepSharp.Optim;

/// <summary>One pass over the text (the book's <c>train_epoch_ch8</c>), with the app's live progress line.</summary>
public static class Epoch
{
    /// <summary>Trains <paramref name="net"/> on every batch of <paramref name="batches"/>' next epoch: mean cross-entropy
    /// per token, gradients clipped to a global norm of <paramref name="clip"/>, then a step. A model that carries state
    /// starts the epoch afresh and carries it (detached) from batch to batch under sequential partitioning, as the book
    /// does; random sampling starts every batch afresh. <paramref name="rate"/>, when given, sets the learning rate before each
    /// step from the fraction of the epoch done. Returns the mean cross-entropy per token and tokens per second.</summary>
    public static (double Loss, double TokensPerSecond) Run(LanguageModel net, Optimizer opt, SequenceBatches batches, float clip,
        string label, Precision precision, Func<float, float>? rate = null)
    {
        var clock = Stopwatch.StartNew();
        int count = batches.CountOf(batches.Epoch), b = 0;
        bool carry = net.CarriesState && batches.Sampling == SequenceSampling.Sequential;
        double lossSum = 0;
        long tokens = 0;
        LmState? state = null;
        net.Train();
        foreach (var (x, y) in batches)
        {
            using var scope = TensorScope.Begin();
            using var _ = x;
            using var __ = y;
            if (rate is not null) opt.LearningRate = rate((float)b / count);
            Tensor loss;
            LmState? next;
            using (precision.Scope())
            {
                (var logits, next) = net.Call((x, carry ? state : null));
                loss = Functional.CrossEntropy(logits, y.T.Reshape(-1)); // time-major labels, as the logits' rows
            }
            opt.ZeroGrad();
            precision.BackwardAndStep(loss, opt, () => ClipGrad.Norm(net.Parameters(), clip));
            state?.Dispose();
            state = carry ? next!.Keep(scope) : null;
            lossSum += loss.Item() * y.Count;
            tokens += y.Count;
            b++;
            if (!Console.IsOutputRedirected && (b % 5 == 0 || b == count)) // a live bar on terminals; one line per epoch in logs
            {
                int filled = 30 * b / count;
                Console.Write($"\r{label} [{new string('#', filled)}{new string('.', 30 - filled)}] perplexity " +
                    $"{Math.Exp(lossSum / tokens):F3}  {tokens / Math.Max(clock.Elapsed.TotalSeconds, 1e-9):F0} tokens/s");
            }
        }
        state?.Dispose();
        return (lossSum / Math.Max(tokens, 1), tokens / Math.Max(clock.Elapsed.TotalSeconds, 1e-9));
    }
}
