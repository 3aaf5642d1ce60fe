namespace DeepSharp.Backends;

/// <summary>Which function of a row the fused softmax kernels compute.</summary>
internal enum SoftmaxKind
{
    /// <summary>e^(x − m) / Σ e^(x − m).</summary>
    Softmax,
    /// <summary>(x − m) − log Σ e^(x − m).</summary>
    LogSoftmax,
}

/// <summary>
/// A softmax over the middle axis of a dense [Outer, N, Inner] tensor (rows: Outer·Inner of N elements, Inner apart). The
/// input (x forward, g backward) starts at <see cref="Offset"/>; the other operands are dense from 0.
/// </summary>
internal struct SoftmaxArgs
{
    /// <summary>Offset of x (forward) or of g (backward).</summary>
    public int Offset;
    /// <summary>The sizes around the axis, and the axis' length.</summary>
    public int Outer, N, Inner;
    /// <summary>Softmax or log-softmax.</summary>
    public SoftmaxKind Kind;

    /// <summary>Elements in all.</summary>
    public readonly long Count => (long)Outer * N * Inner;
}
