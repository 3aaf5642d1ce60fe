namespace DeepSharp.Backends;

/// <summary>How <see cref="WindowArgs"/> lays out the columns' planes.</summary>
internal enum ColumnLayout
{
    /// <summary>[N, C, k·k]: each image's planes together (plane nc·k² + ij).</summary>
    PerImage,
    /// <summary>[C, k·k, N]: the batch innermost (plane (c·k² + ij)·N + n), so the columns form one matrix [C·k², N·OH·OW].</summary>
    BatchInner,
}

/// <summary>
/// Sliding k×k windows with stride S and padding P over dense x [N, C, H, W]; OH, OW the output grid. The columns are
/// planes of OH·OW window elements, one per (image nc = n·C + c, window position ij), laid out [N, C, k·k] (plane
/// (nc·k² + ij)) or, with <see cref="ColumnLayout.BatchInner"/>, [C, k·k, N] (plane ((c·k² + ij)·N + n)): the convolution of small
/// images multiplies the whole batch's columns as one matrix [C·k², N·OH·OW].
/// </summary>
internal struct WindowArgs
{
    /// <summary>Input sizes.</summary>
    public int N, C, H, W;
    /// <summary>Window edge, stride, padding, output grid.</summary>
    public int K, S, P, OH, OW;
    /// <summary>Offset of x (Unfold) or of cols (Fold).</summary>
    public int Offset;
    /// <summary>Value read outside the input (0 for convolution, -inf for max pooling).</summary>
    public float Pad;
    /// <summary>How the columns' planes are laid out.</summary>
    public ColumnLayout Columns;

    /// <summary>Index of the plane of image <paramref name="nc"/> at window position <paramref name="ij"/>.</summary>
    public readonly int Plane(int nc, int ij)
    {
        int kk = K * K;
        if (Columns == ColumnLayout.PerImage) return nc * kk + ij;
        int n = nc / C;
        return ((nc - n * C) * kk + ij) * N + n;
    }

    /// <summary>Whether (h, w) lies inside the input (else a window reads <see cref="Pad"/> there).</summary>
    public readonly bool Inside(int h, int w) => h >= 0 && h < H && w >= 0 && w < W;

    /// <summary>Whether input coordinate <paramref name="x"/> (a row or column) is at position <paramref name="i"/> of the
    /// window of output <paramref name="o"/> along an axis of <paramref name="outputs"/> outputs.</summary>
    public readonly bool Covers(int x, int i, int outputs, out int o)
    {
        int v = x + P - i;
        o = v / S;
        return v >= 0 && v - o * S == 0 && o < outputs;
    }

    /// <summary>The image and window position of plane <paramref name="plane"/> (the inverse of <see cref="Plane"/>).</summary>
    public readonly void ImageOf(int plane, out int nc, out int ij)
    {
        int kk = K * K;
        if (Columns == ColumnLayout.PerImage) { nc = plane / kk; ij = plane - nc * kk; return; }
        int n = plane % N, r = plane / N, c = r / kk;
        ij = r - c * kk;
        nc = n * C + c;
    }
}
