namespace DeepSharp.Backends;

/// <summary>
/// Adaptive pooling of dense x [NC, H, W] (from <see cref="Offset"/>) to [NC, OH, OW] with PyTorch's bins: output row i
/// covers input rows [⌊i·H/OH⌋, ⌈(i + 1)·H/OH⌉) (columns alike), so bins differ in size by at most one element when H is
/// not a multiple of OH, and overlap when OH does not divide H.
/// </summary>
internal struct AdaptiveArgs
{
    /// <summary>Images (batch × channels), input and output sizes.</summary>
    public int NC, H, W, OH, OW;
    /// <summary>Offset of x.</summary>
    public int Offset;

    /// <summary>First input index of bin <paramref name="i"/> of <paramref name="outputs"/> over <paramref name="size"/>.</summary>
    public static int Start(int i, int size, int outputs) => (int)((long)i * size / outputs);

    /// <summary>One past the last input index of bin <paramref name="i"/>.</summary>
    public static int End(int i, int size, int outputs) => (int)(((long)(i + 1) * size + outputs - 1) / outputs);

    /// <summary>The first bin that holds input index <paramref name="x"/> (bins [First, Last] hold it).</summary>
    public static int First(int x, int size, int outputs) => (int)((long)x * outputs / size);

    /// <summary>The last bin that holds input index <paramref name="x"/>.</summary>
    public static int Last(int x, int size, int outputs) => (int)(((long)(x + 1) * outputs + size - 1) / size) - 1;
}
