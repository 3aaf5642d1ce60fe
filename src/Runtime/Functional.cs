namespace DeepSharp;

/// <summary>
/// Composite functions and losses (PyTorch's <c>torch.nn.functional</c>), built from the primitive ops, so their
/// gradients come from autograd. Each is numerically stable for large logits (no NaN at ±100).
/// </summary>
public static partial class Functional
{
    /// <summary>
    /// softmax(x) along <paramref name="axis"/> (<c>F.softmax</c>): e^(x − max) / Σ e^(x − max), in one launch each way
    /// (any axis; x may be a strided view). Exact for logits near ±1e4; −inf entries (masks) get 0, and a row with no finite
    /// maximum (all −inf, or holding +inf or NaN) is all NaN, as in PyTorch. Gradient y·(g − Σ g·y).
    /// </summary>
    /// <exception cref="ArgumentNullException">x is null.</exception>
    /// <exception cref="ArgumentOutOfRangeException">axis is out of range.</exception>
    public static Tensor Softmax(Tensor x, int axis = -1) => SoftmaxAlong(nameof(Softmax), x, axis, Backends.SoftmaxKind.Softmax);

    /// <summary>
    /// log(softmax(x)) along <paramref name="axis"/> (<c>F.log_softmax</c>): (x − max) − log Σ e^(x − max), never forming
    /// the log-sum-exp, in one launch each way. −inf entries stay −inf; a row with no finite maximum is all NaN (as
    /// PyTorch). Gradient g − softmax·Σ g.
    /// </summary>
    /// <exception cref="ArgumentNullException">x is null.</exception>
    /// <exception cref="ArgumentOutOfRangeException">axis is out of range.</exception>
    public static Tensor LogSoftmax(Tensor x, int axis = -1) =>
        SoftmaxAlong(nameof(LogSoftmax), x, axis, Backends.SoftmaxKind.LogSoftmax);

    private static Tensor SoftmaxAlong(string op, Tensor x, int axis, Backends.SoftmaxKind kind)
    {
        if (Autocast.IsHalf(Check.NotNull(op, x, nameof(x)))) // on the float32 list
            return Autocast.InFloat32(x, Autocast.Float32ListResult(x), w => SoftmaxAlong(op, w, axis, kind));
        Check.Computes(op, x, nameof(x));
        int ax = Layout.Axis(axis, x.Rank, op);
        if (x.DType == DType.Float64) return Composed64(x, ax, kind);
        var y = Tensor.SoftmaxAlong(x, ax, kind);
        return Autograd.Needed(x) ? Autograd.Record(y, op, [x], g => [Grads.Softmax(y, g, ax, kind)], y) : y;
    }

    /// <summary>
    /// Float64 softmax and log-softmax composed from the op set (float64 serves exact checks, not speed): z = x − max (the
    /// max held constant), then e^z / Σ e^z or z − log Σ e^z, with the fused kernels' special values (−inf entries give 0
    /// and −inf; a row without a finite max is all NaN). Autograd differentiates the composite.
    /// </summary>
    private static Tensor Composed64(Tensor x, int ax, Backends.SoftmaxKind kind)
    {
        if (x.Layout.ShapeArray[ax] == 0) return x * 0f; // empty: an empty result, recorded as the float32 path's
        return TensorScope.Composite((x, ax, kind), static a =>
        {
            Tensor m;
            using (Autograd.NoGrad()) m = a.x.Max(a.ax, keepDim: true);
            var z = a.x - m;
            return a.kind == Backends.SoftmaxKind.Softmax ? z.Exp() / z.Exp().Sum(a.ax, keepDim: true)
                : z - z.Exp().Sum(a.ax, keepDim: true).Log();
        });
    }

    /// <summary>
    /// y = x·Wᵀ + b (PyTorch's <c>F.linear</c>): x [..., in], weight [out, in], bias [out] or null → [..., out]. The bias is
    /// added inside the product's kernel (one launch on accelerators for small layers) and backward computes only the
    /// gradients that are needed.
    /// </summary>
    /// <exception cref="ArgumentException">The shapes do not fit together or a tensor is not float32 or float64.</exception>
    /// <exception cref="DeviceMismatchException">The tensors are on different devices.</exception>
    public static Tensor Linear(Tensor x, Tensor weight, Tensor? bias = null)
    {
        const string op = nameof(Linear);
        Check.NotNull(op, x, "x"); Check.NotNull(op, weight, "weight");
        if (Autocast.LowersAny(x, weight, bias)) // on the lower-precision list
            return Autocast.Lowered([x, weight, bias], t => Linear(t[0]!, t[1]!, t[2]));
        if (Autocast.AnyHalf(x, weight, bias)) // the product accumulates in float32 and rounds once, bias included
            return Autocast.InFloat32([x, weight, bias], Autocast.Promote(x.DType, weight.DType), t => Linear(t[0]!, t[1]!, t[2]));
        if (Autocast.Mixed(x, weight) || bias is not null && Autocast.Mixed(x, bias)) // float32 with float64: in float64
        {
            var dt = bias is null ? Autocast.Promote(x.DType, weight.DType)
                : Autocast.Promote(Autocast.Promote(x.DType, weight.DType), bias.DType);
            return TensorScope.Composite((x, weight, bias, dt),
                static a => Linear(a.x.To(a.dt), a.weight.To(a.dt), a.bias?.To(a.dt)));
        }
        Check.Computes(op, x, "x"); Check.Computes(op, weight, "weight");
        Check.SameDevice(op, x, "x", weight, "weight");
        if (weight.Rank != 2)
            throw new ArgumentException($"{op}: weight must be [out, in], got {Layout.Format(weight.Layout.ShapeArray)}.");
        int outF = weight.Layout.ShapeArray[0], inF = weight.Layout.ShapeArray[1];
        if (x.Rank == 0 || x.Layout.ShapeArray[^1] != inF)
            throw new ArgumentException(
                $"{op}: x has shape {Layout.Format(x.Layout.ShapeArray)}; its last dim must be the weight's in = {inF} (weight is " +
                $"[{outF}, {inF}]).");
        CheckBias(op, x, bias, outF);
        if (x.Rank == 2) return Tensor.Linear2D(x, weight, bias);
        return TensorScope.Composite((x, weight, bias, inF, outF), static a =>
        {
            var lead = a.x.Layout.ShapeArray[..^1];
            return Tensor.Linear2D(a.x.Reshape(Layout.Numel(lead), a.inF), a.weight, a.bias).Reshape([.. lead, a.outF]);
        });
    }

    /// <summary>Mean (or sum) of squared differences. Shapes must match exactly.</summary>
    /// <exception cref="ArgumentNullException">prediction or target is null.</exception>
    /// <exception cref="ArgumentException">The shapes differ.</exception>
    /// <exception cref="ArgumentOutOfRangeException">reduction is not a <see cref="Reduction"/>.</exception>
    public static Tensor MseLoss(Tensor prediction, Tensor target, Reduction reduction = Reduction.Mean)
    {
        SameShape(nameof(MseLoss), prediction, target, nameof(prediction), nameof(target));
        Check.Defined(nameof(MseLoss), reduction);
        if (Autocast.AnyHalf(prediction, target)) // on the float32 list
            return Autocast.InFloat32(prediction, target, Autocast.Float32ListResult(prediction, target),
                (p, t) => MseLoss(p, t, reduction));
        return TensorScope.Composite((prediction, target, reduction),
            static a => Reduce((a.prediction - a.target).Square(), a.reduction));
    }

    /// <summary>
    /// Cross-entropy from logits [batch, classes] and integer labels [batch] (int32 or int64, values in [0, classes)).
    /// </summary>
    /// <exception cref="ArgumentNullException">logits or labels is null.</exception>
    /// <exception cref="ArgumentException">Shapes or label dtype are wrong.</exception>
    /// <exception cref="ArgumentOutOfRangeException">reduction is not a <see cref="Reduction"/>; or, on the CPU, a label is
    /// outside [0, classes) (on accelerators the loss is NaN).</exception>
    /// <remarks>The labels are saved for backward: changing them in place before then makes Backward throw.</remarks>
    public static Tensor CrossEntropy(Tensor logits, Tensor labels, Reduction reduction = Reduction.Mean)
    {
        const string op = nameof(CrossEntropy);
        Check.NotNull(op, logits, nameof(logits)); Check.NotNull(op, labels, nameof(labels));
        Check.Defined(op, reduction);
        if (logits.Rank != 2)
            throw new ArgumentException($"{op}: logits must be [batch, classes], got {Layout.Format(logits.Layout.ShapeArray)}.");
        if (labels.DType is not (DType.Int32 or DType.Int64))
            throw new ArgumentException($"{op}: labels must be int32 or int64 class indices, got {labels.DType.Name()}.");
        if (labels.Rank != 1 || labels.Count != logits.Layout.ShapeArray[0])
            throw new ArgumentException(
                $"{op}: labels must be [batch] = [{logits.Layout.ShapeArray[0]}], got {Layout.Format(labels.Layout.ShapeArray)}.");
        Check.SameDevice(op, logits, "logits", labels, "labels");
        if (Autocast.IsHalf(logits)) // on the float32 list
            return Autocast.InFloat32(logits, Autocast.Float32ListResult(logits), w => CrossEntropy(w, labels, reduction));
        Check.Computes(op, logits, "logits");
        if (logits.DType == DType.Float64)
            return TensorScope.Composite((logits, labels, reduction), static a => CrossEntropy64(a.logits, a.labels, a.reduction));
        // One fused kernel per direction (a stable log-sum-exp per row; softmax minus one-hot back) instead of the ~20
        // launches of the composite of log-softmax, one-hot, multiply and sum. No host round-trip: a label outside [0, classes)
        // throws on the CPU and gives a NaN loss on accelerators (as a device-side assert would in PyTorch).
        return TensorScope.Composite((logits, labels, reduction), static a => CrossEntropyRows(a.logits, a.labels, a.reduction));
    }

    private static Tensor CrossEntropyRows(Tensor logits, Tensor labels, Reduction reduction)
    {
        const string op = nameof(CrossEntropy);
        int n = logits.Layout.ShapeArray[0];
        var idx = labels.Dense();
        // Mean and sum come out of the same launch (one group folds every row) up to 2^16 rows; beyond, rows then a reduction.
        bool fused = reduction != Reduction.None && n <= 1 << 16;
        float scale = reduction == Reduction.Mean ? 1f / Math.Max(n, 1) : 1f;
        if (fused && n == 0)
        {
            var empty = Tensor.Full([], reduction == Reduction.Mean ? float.NaN : 0f, DType.Float32, logits.Device);
            return Autograd.Record(empty, op, [logits], g => [Grads.Zero(logits, empty, g)], logits);
        }
        var (loss, probs) = Tensor.CrossEntropyRows(logits, idx, fused, scale);
        // idx is what backward reads: a label changed in place since must not silently change the gradient.
        loss = Autograd.Record(loss, op, [logits], g => [Grads.CrossEntropy(probs, idx, g, fused, scale)], logits, idx);
        return fused ? loss : Reduce(loss, reduction);
    }

    /// <summary>Float64 cross-entropy composed from the op set (exact checks): −log_softmax(x)[label] per row, then the
    /// reduction. The labels are read back to the host and checked on every device.</summary>
    private static Tensor CrossEntropy64(Tensor logits, Tensor labels, Reduction reduction)
    {
        int classes = logits.Layout.ShapeArray[1];
        var values = labels.To(DType.Int64).ToArray<long>();
        int bad = Array.FindIndex(values, v => v < 0 || v >= classes);
        if (bad >= 0)
            throw new ArgumentOutOfRangeException(nameof(labels), values[bad],
                $"{nameof(CrossEntropy)}: label {values[bad]} (row {bad}) is outside [0, {classes}).");
        var logp = LogSoftmax(logits, 1);
        var picked = Tensor.Where(OneHot(labels, classes, logits.Device), logp, Tensor.Full([], 0, DType.Float64, logits.Device));
        return Reduce(-picked.Sum(1), reduction);
    }

    /// <summary>
    /// Binary cross-entropy from logits and targets in [0, 1] of the same shape (PyTorch's
    /// <c>F.binary_cross_entropy_with_logits</c>): max(x, 0) − x·t + log1p(e^−|x|) per element, in one launch, then the
    /// reduction. Gradients: (σ(x) − t)·g for the logits — smooth at x = 0, where it is 0.5 − t — and −x·g for the targets
    /// when they require grad (as PyTorch).
    /// </summary>
    /// <exception cref="ArgumentException">The shapes differ.</exception>
    /// <exception cref="NotSupportedException">A tensor is not float32 or float64.</exception>
    /// <exception cref="DeviceMismatchException">The tensors are on different devices.</exception>
    public static Tensor BinaryCrossEntropyWithLogits(Tensor logits, Tensor targets, Reduction reduction = Reduction.Mean)
    {
        const string op = nameof(BinaryCrossEntropyWithLogits);
        SameShape(op, logits, targets);
        if (Autocast.AnyHalf(logits, targets)) // on the float32 list
            return Autocast.InFloat32(logits, targets, Autocast.Float32ListResult(logits, targets),
                (x, t) => BinaryCrossEntropyWithLogits(x, t, reduction));
        if (Autocast.Mixed(logits, targets))
            return Autocast.Promoted(logits, targets, (x, t) => BinaryCrossEntropyWithLogits(x, t, reduction));
        Check.Computes(op, logits, "logits"); Check.Computes(op, targets, "targets");
        Check.SameDevice(op, logits, "logits", targets, "targets");
        // Its own rule rather than the composite's: relu'(0) = 0 and |x|'(0) = 0 made the composite's gradient −t at x = 0.
        return TensorScope.Composite((logits, targets, reduction), static a =>
        {
            var (logits, targets, reduction) = a;
            var loss = Tensor.Map(op, logits, targets, new Ops.BceWithLogitsOp());
            if (Autograd.Needed(logits, targets))
                loss = Autograd.Record(loss, op, [logits, targets], g => Grads.BceWithLogits(logits, targets, g), logits, targets);
            return Reduce(loss, reduction);
        });
    }

    /// <summary>
    /// Float32 one-hot vectors (PyTorch's <c>F.one_hot</c>, as float): int32/int64 labels of any shape [...] →
    /// [..., classes], 1 at each label's position.
    /// </summary>
    /// <exception cref="ArgumentNullException">labels is null.</exception>
    /// <exception cref="ArgumentException">labels are not int32 or int64.</exception>
    /// <exception cref="ArgumentOutOfRangeException">classes is negative or above 2^24, or (on the CPU, where the labels can be read
    /// without a device round-trip) a label lies outside [0, classes).</exception>
    public static Tensor OneHot(Tensor labels, int classes, Device? device = null)
    {
        const string op = nameof(OneHot);
        Check.NotNull(op, labels, nameof(labels));
        if (labels.DType is not (DType.Int32 or DType.Int64))
            throw new ArgumentException($"{op}: labels must be int32 or int64 class indices, got {labels.DType.Name()}.", nameof(labels));
        // The labels are compared as float32 (exact up to 2^24): beyond, neighbouring labels would share a column.
        if (classes is < 0 or > 1 << 24)
            throw new ArgumentOutOfRangeException(nameof(classes), classes, $"{op}: classes must lie in [0, 2^24], got {classes}.");
        if (labels.Device == Device.Cpu)
        {
            var values = labels.To(DType.Int64).ToArray<long>();
            int bad = Array.FindIndex(values, v => v < 0 || v >= classes);
            if (bad >= 0)
                throw new ArgumentOutOfRangeException(nameof(labels), values[bad],
                    $"{op}: label {values[bad]} (element {bad}) is outside [0, {classes}).");
        }
        return labels.To(DType.Float32).Unsqueeze(-1).Eq(Tensor.Arange(0, classes, 1, DType.Float32, device ?? labels.Device));
    }

    private static Tensor Reduce(Tensor x, Reduction r) => r switch
    {
        Reduction.Mean => x.Mean(),
        Reduction.Sum => x.Sum(),
        Reduction.None => x,
        _ => throw new ArgumentOutOfRangeException("reduction", r, $"{(int)r} is not a Reduction; use Mean, Sum or None."),
    };

    /// <summary>A layer's optional bias: float32, on x's device, shape [out].</summary>
    private static void CheckBias(string op, Tensor x, Tensor? bias, int outFeatures)
    {
        if (bias is null) return;
        Check.Computes(op, bias, "bias");
        Check.SameDevice(op, x, "x", bias, "bias");
        if (bias.Rank != 1 || bias.Count != outFeatures)
            throw new ArgumentException($"{op}: bias must be [out] = [{outFeatures}], got {Layout.Format(bias.Layout.ShapeArray)}.");
    }

    private static void SameShape(string op, Tensor a, Tensor b, string nameA = "logits", string nameB = "targets")
    {
        Check.NotNull(op, a, nameA); Check.NotNull(op, b, nameB);
        if (!a.Layout.ShapeArray.SequenceEqual(b.Layout.ShapeArray))
            throw new ArgumentException($"{op}: {nameA} has shape {Layout.Format(a.Layout.ShapeArray)} but {nameB} has " +
                $"{Layout.Format(b.Layout.ShapeArray)}; they must match.");
    }
}

/// <summary>How a loss combines per-element values.</summary>
public enum Reduction
{
    /// <summary>The mean over all elements.</summary>
    Mean,
    /// <summary>The sum over all elements.</summary>
    Sum,
    /// <summary>No reduction: one value per element (per row for cross-entropy).</summary>
    None,
}
