namespace DeepSharp.Backends;

/// <summary>Where a product's fused bias goes (<see cref="GemmArgs.Bias"/>).</summary>
internal enum BiasMode
{
    /// <summary>No bias.</summary>
    None,
    /// <summary>bias[OffBias + col] added to every row of C (a dense layer).</summary>
    PerColumn,
    /// <summary>bias[OffBias + row] added to every column of C (a convolution, whose rows are output channels).</summary>
    PerRow,
}

/// <summary>Sizes and strides of a (batched) matrix product C[b] = A[b] · B[b]; C is dense [batch, M, N].</summary>
internal struct GemmArgs
{
    /// <summary>Batch count and matrix sizes.</summary>
    public int Batch, M, N, K;
    /// <summary>A: offset, batch stride, row stride, column stride (in elements).</summary>
    public int OffA, BatchA, RowA, ColA;
    /// <summary>B: offset, batch stride, row stride, column stride (in elements).</summary>
    public int OffB, BatchB, RowB, ColB;
    /// <summary>Blocks of C per row of blocks and per column of blocks (set by accelerator backends for the 1-D launch grid).</summary>
    public int BlocksX, BlocksY;
    /// <summary>The fused bias, if any, and where it goes.</summary>
    public BiasMode Bias;
    /// <summary>Offset of the bias (in elements).</summary>
    public int OffBias;
    /// <summary>Split-K (set by accelerator backends, 0 or 1 otherwise): the launch's batch entry e is slice e % Slices of
    /// product e / Slices, covering k from (e % Slices)·K; A and B strides stay those of the products.</summary>
    public int Slices;
}
