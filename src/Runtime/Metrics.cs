namespace DeepSharp;

/// <summary>
/// Evaluation metrics (torchmetrics.functional's vocabulary): accuracy and top-k accuracy, the confusion matrix and
/// perplexity, computed on the tensors' device with tensor ops and never recorded by autograd.
/// </summary>
/// <example>
/// <code>
/// using (Autograd.NoGrad())
/// {
///     var logits = net.Call(x);                                            // [N, C]; y: int64 labels [N]
///     float acc = Metrics.Accuracy(logits, y).Item();                       // fraction of rows whose arg-max is the label
///     float top5 = Metrics.Accuracy(logits, y, topK: 5).Item();             // the label among the 5 largest logits
///     long correct = (long)Metrics.Accuracy(logits, y, reduction: Reduction.Sum).Item(); // a count, to add up over batches
///     long[] cm = Metrics.ConfusionMatrix(logits, y).ToArray&lt;long&gt;();   // [C, C]: row = true class, column = predicted
///     float ppl = Metrics.Perplexity(Functional.CrossEntropy(logits, y)).Item();         // e^(mean cross-entropy)
/// }
/// </code>
/// </example>
/// <remarks>The labels are read back to the host once per call to check their range (a label outside [0, classes) is an
/// <see cref="ArgumentOutOfRangeException"/> naming the element on every device), so a call waits for the work queued
/// before it, as reading the result with <c>Item()</c> would.</remarks>
public static class Metrics
{
    /// <summary>
    /// Classification accuracy from logits [N, C] (float32) and int32/int64 labels [N] in [0, C): a row counts as correct
    /// when fewer than <paramref name="topK"/> classes rank before its label. Classes rank by logit, largest first, NaN
    /// above every number (as <c>torch.sort</c> and <c>torch.topk</c> order them), and ties by the lower class index — the
    /// order in which <c>torch.argmax</c> picks the first maximal index, so top-1 accuracy is exactly
    /// <c>(logits.argmax(1) == labels).float().mean()</c>. (PyTorch leaves which of several tied logits <c>torch.topk</c>
    /// returns unspecified; here a tie at the k-th place goes to the lower class index.)
    /// </summary>
    /// <param name="logits">Scores [N, C]: logits, probabilities or anything ordered the same way.</param>
    /// <param name="labels">True classes [N], int32 or int64, on the logits' device.</param>
    /// <param name="topK">How many of the best-ranked classes may hold the label: 1 (the default) to C.</param>
    /// <param name="reduction"><see cref="Reduction.Mean"/>: the fraction correct, a 0-D float32 tensor (NaN when N = 0);
    /// <see cref="Reduction.Sum"/>: the number correct (float32, exact up to 2^24); <see cref="Reduction.None"/>: [N] with
    /// 1 for a correct row and 0 otherwise.</param>
    /// <exception cref="ArgumentNullException">logits or labels is null.</exception>
    /// <exception cref="ArgumentException">logits is not [N, C] with C ≥ 1, or labels is not int32/int64 [N].</exception>
    /// <exception cref="NotSupportedException">logits is not float32 or float64 (16-bit logits are widened).</exception>
    /// <exception cref="ArgumentOutOfRangeException">topK is outside [1, C], reduction is not a <see cref="Reduction"/>, or a
    /// label lies outside [0, C).</exception>
    /// <exception cref="DeviceMismatchException">logits and labels are on different devices.</exception>
    public static Tensor Accuracy(Tensor logits, Tensor labels, int topK = 1, Reduction reduction = Reduction.Mean)
    {
        const string op = nameof(Accuracy);
        logits = Widened(op, logits, nameof(logits));
        int classes = CheckScores(op, logits, labels);
        Check.Defined(op, reduction);
        if (topK < 1 || topK > classes)
            throw new ArgumentOutOfRangeException(nameof(topK), topK, $"{op}: topK must lie in [1, {classes}] (the classes), got {topK}.");
        CheckRange(op, labels, nameof(labels), classes);
        using var _ = Autograd.NoGrad();
        return TensorScope.Composite((logits, labels, topK, reduction), static a =>
        {
            var hit = a.topK == 1 ? TopOne(a.logits, a.labels) : RankOfLabel(a.logits, a.labels).Lt(a.topK).To(DType.Float32);
            return a.reduction switch
            {
                Reduction.Mean => hit.Mean(),
                Reduction.Sum => hit.Sum(),
                _ => hit,
            };
        });
    }

    /// <summary>
    /// The confusion matrix [C, C] (int64): element [t, p] counts the rows whose true class is t and whose predicted class is
    /// p (rows: true classes, columns: predictions, as torchmetrics and scikit-learn lay it out). The predictions are logits
    /// [N, C] (float32; the class is their arg-max, first index on ties) or class indices [N] (int32/int64, with
    /// <paramref name="classes"/> given).
    /// </summary>
    /// <param name="predictions">Logits [N, C] or predicted classes [N].</param>
    /// <param name="labels">True classes [N], int32 or int64, on the predictions' device.</param>
    /// <param name="classes">C: required with class indices; with logits, null or their second dim.</param>
    /// <exception cref="ArgumentNullException">predictions or labels is null.</exception>
    /// <exception cref="ArgumentException">The shapes or dtypes are wrong, classes is missing for class indices or disagrees
    /// with the logits, or N exceeds 2^24 (the counts are exact up to there: add the matrices of smaller batches).</exception>
    /// <exception cref="ArgumentOutOfRangeException">classes is outside [1, 2^24], or a label or predicted class lies outside
    /// [0, C).</exception>
    /// <exception cref="DeviceMismatchException">predictions and labels are on different devices.</exception>
    public static Tensor ConfusionMatrix(Tensor predictions, Tensor labels, int? classes = null)
    {
        const string op = nameof(ConfusionMatrix);
        Check.NotNull(op, predictions, nameof(predictions)); Check.NotNull(op, labels, nameof(labels));
        predictions = Widened(op, predictions, nameof(predictions));
        bool scores = predictions.DType == DType.Float32;
        int c;
        if (scores)
        {
            c = CheckScores(op, predictions, labels, nameof(predictions));
            if (classes is { } given && given != c)
                throw new ArgumentException($"{op}: classes is {given} but the logits have {c} columns; pass null or {c}.",
                    nameof(classes));
        }
        else
        {
            if (predictions.Rank != 1)
                throw new ArgumentException($"{op}: predictions must be logits [N, C] (float32) or classes [N] (int32/int64), got " +
                    $"{predictions.DType.Name()} {Layout.Format(predictions.Layout.ShapeArray)}.", nameof(predictions));
            CheckLabels(op, predictions, nameof(predictions), predictions.Count);
            CheckLabels(op, labels, nameof(labels), predictions.Count);
            Check.SameDevice(op, predictions, nameof(predictions), labels, nameof(labels));
            c = classes ?? throw new ArgumentException(
                $"{op}: predictions are class indices ({predictions.DType.Name()}), so classes must be given.", nameof(classes));
            if (c is < 1 or > MaxClasses)
                throw new ArgumentOutOfRangeException(nameof(classes), c, $"{op}: classes must lie in [1, 2^24], got {c}.");
            CheckRange(op, predictions, nameof(predictions), c);
        }
        if (labels.Count > MaxClasses)
            throw new ArgumentException($"{op}: {labels.Count} rows exceed 2^24, where float32 counts stop being exact; " +
                "add the matrices of smaller batches.", nameof(labels));
        CheckRange(op, labels, nameof(labels), c);
        using var _ = Autograd.NoGrad();
        return TensorScope.Composite((predictions, labels, c, scores), static a =>
        {
            var predicted = a.scores ? a.predictions.ArgMax(1) : a.predictions;
            // Row t of the matrix gathers the one-hot predictions of the samples labelled t: scatter-add by label.
            var counts = Tensor.IndexAddRows([a.c, a.c], a.labels.Dense(), Functional.OneHot(predicted, a.c));
            return counts.To(DType.Int64);
        });
    }

    /// <summary>
    /// Perplexity e^H from a mean cross-entropy H in nats (what <see cref="Functional.CrossEntropy"/> returns with
    /// <see cref="Reduction.Mean"/>): elementwise over any shape, so per-sequence losses [B] give per-sequence
    /// perplexities. Not recorded by autograd.
    /// </summary>
    /// <exception cref="ArgumentNullException">meanCrossEntropy is null.</exception>
    /// <exception cref="NotSupportedException">meanCrossEntropy is not float32 or float64.</exception>
    public static Tensor Perplexity(Tensor meanCrossEntropy)
    {
        Check.NotNull(nameof(Perplexity), meanCrossEntropy, nameof(meanCrossEntropy));
        using var _ = Autograd.NoGrad();
        return meanCrossEntropy.Exp();
    }

    /// <summary>Perplexity e^H of a mean cross-entropy H in nats read back to the host (a chart's or a log line's number);
    /// NaN stays NaN (a diverged run), +∞ gives +∞.</summary>
    /// <exception cref="ArgumentOutOfRangeException">meanCrossEntropy is negative: a cross-entropy never is (a
    /// log-likelihood, its negative, was passed?).</exception>
    public static double Perplexity(double meanCrossEntropy) => meanCrossEntropy < 0
        ? throw new ArgumentOutOfRangeException(nameof(meanCrossEntropy), meanCrossEntropy,
            $"{nameof(Perplexity)}: a mean cross-entropy is ≥ 0, got {meanCrossEntropy}; pass the loss, not a log-likelihood.")
        : Math.Exp(meanCrossEntropy);

    /// <summary>Perplexity of a language model's next-token logits [N, V] against int32/int64 targets [N]:
    /// e^(mean cross-entropy), a 0-D float32 tensor (torchmetrics' <c>perplexity</c> on flattened tokens).</summary>
    /// <exception cref="ArgumentNullException">logits or labels is null.</exception>
    /// <exception cref="ArgumentException">logits is not [N, V] or labels is not int32/int64 [N].</exception>
    /// <exception cref="NotSupportedException">logits is not float32 or float64 (16-bit logits are widened).</exception>
    /// <exception cref="ArgumentOutOfRangeException">A label lies outside [0, V).</exception>
    /// <exception cref="DeviceMismatchException">logits and labels are on different devices.</exception>
    public static Tensor Perplexity(Tensor logits, Tensor labels)
    {
        const string op = nameof(Perplexity);
        logits = Widened(op, logits, nameof(logits));
        int classes = CheckScores(op, logits, labels);
        CheckRange(op, labels, nameof(labels), classes);
        using var _ = Autograd.NoGrad();
        return TensorScope.Composite((logits, labels), static a => Functional.CrossEntropy(a.logits, a.labels).Exp());
    }

    /// <summary>16-bit scores widened to float32 (exact: the ranking is the same), other tensors as they are.</summary>
    private static Tensor Widened(string op, Tensor scores, string name) => Autocast.Wide(Check.NotNull(op, scores, name));

    /// <summary>Class indices are compared as float32, exact up to 2^24 (as <see cref="Functional.OneHot"/>).</summary>
    private const int MaxClasses = 1 << 24;

    /// <summary>1 where the row's arg-max (first index on ties, NaN largest) is its label, else 0: [N] float32.</summary>
    private static Tensor TopOne(Tensor logits, Tensor labels) =>
        logits.ArgMax(1).To(DType.Float32).Eq(labels.To(DType.Float32));

    /// <summary>How many classes rank before each row's label ([N] float32): a larger logit, a NaN over a number, or an
    /// equal logit (NaN equal to NaN) at a lower index.</summary>
    private static Tensor RankOfLabel(Tensor logits, Tensor labels)
    {
        int c = logits.Layout.ShapeArray[1];
        var target = Tensor.Where(Functional.OneHot(labels, c), logits, Tensor.Scalar(0f, logits.Device)).Sum(1, keepDim: true);
        var nanTarget = target.Ne(target);                   // [N, 1]
        var nan = logits.Ne(logits);                         // [N, C]
        var lowerIndex = Tensor.Arange(c, DType.Float32, logits.Device).Lt(labels.To(DType.Float32).Unsqueeze(1));
        // The three cases exclude each other (comparisons with NaN are false), so the sum is a 0/1 mask.
        var ahead = logits.Gt(target) + nan * (1f - nanTarget) + (logits.Eq(target) + nan * nanTarget) * lowerIndex;
        return ahead.Sum(1);
    }

    /// <summary>Scores [N, C] (float32 or float64, C in [1, 2^24]) and labels [N] on one device; returns C.</summary>
    private static int CheckScores(string op, Tensor scores, Tensor labels, string name = "logits")
    {
        Check.NotNull(op, scores, name); Check.NotNull(op, labels, nameof(labels));
        var shape = scores.Layout.ShapeArray;
        if (scores.Rank != 2 || shape[1] < 1)
            throw new ArgumentException($"{op}: {name} must be [N, C] with C ≥ 1 classes, got {Layout.Format(shape)}.", name);
        if (shape[1] > MaxClasses)
            throw new ArgumentException($"{op}: {name} has {shape[1]} classes; at most 2^24 are supported.", name);
        Check.Computes(op, scores, name);
        CheckLabels(op, labels, nameof(labels), shape[0]);
        Check.SameDevice(op, scores, name, labels, nameof(labels));
        return shape[1];
    }

    /// <summary>Class indices: int32/int64 of shape [<paramref name="rows"/>].</summary>
    private static void CheckLabels(string op, Tensor labels, string name, int rows)
    {
        if (labels.DType is not (DType.Int32 or DType.Int64))
            throw new ArgumentException($"{op}: {name} must be int32 or int64 class indices, got {labels.DType.Name()}.", name);
        if (labels.Rank != 1 || labels.Count != rows)
            throw new ArgumentException($"{op}: {name} must be [N] = [{rows}], got {Layout.Format(labels.Layout.ShapeArray)}.", name);
    }

    /// <summary>Every class index in [0, classes), read back to the host so that every device reports the same error.</summary>
    private static void CheckRange(string op, Tensor labels, string name, int classes)
    {
        long[] values = labels.DType == DType.Int64 ? labels.ToArray<long>() : Array.ConvertAll(labels.ToArray<int>(), v => (long)v);
        int bad = Array.FindIndex(values, v => v < 0 || v >= classes);
        if (bad >= 0)
            throw new ArgumentOutOfRangeException(name, values[bad],
                $"{op}: {name}[{bad}] = {values[bad]} is outside [0, {classes}) (the classes).");
    }
}
