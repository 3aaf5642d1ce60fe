namespace DeepSharp.Backends;

/// <summary>How <see cref="WindowArgs"/> lays out the columns' planes.</summary>
internal enum ColumnLayout
{
    /// <summary>[N, C, kH·kW]: each image's planes together (plane nc·kk + ij).</summary>
    PerImage,
    /// <summary>[C, kH·kW, N]: the batch innermost (plane (c·kk + ij)·N + n), so the columns form one matrix
    /// [C·kk, N·OH·OW].</summary>
    BatchInner,
}

/// <summary>
/// Sliding kH×kW windows with strides (SH, SW), padding (PH, PW) and dilation (DH, DW) over dense x [N, C, H, W]; OH, OW
/// the output grid. Window element ij = i·KW + j of output (oh, ow) reads x[h, w] with h = oh·SH − PH + i·DH and
/// w = ow·SW − PW + j·DW. The columns are planes of OH·OW window elements, one per (image nc = n·C + c, window position
/// ij), laid out [N, C, kk] (plane (nc·kk + ij)) or, with <see cref="ColumnLayout.BatchInner"/>, [C, kk, N] (plane
/// ((c·kk + ij)·N + n)): the convolution of small images multiplies the whole batch's columns as one matrix
/// [C·kk, N·OH·OW], and a grouped convolution each group's rows of it.
/// </summary>
internal struct WindowArgs
{
    /// <summary>Input sizes.</summary>
    public int N, C, H, W;
    /// <summary>Window height and width, strides, paddings and dilations along the rows and the columns.</summary>
    public int KH, KW, SH, SW, PH, PW, DH, DW;
    /// <summary>Output grid.</summary>
    public int OH, OW;
    /// <summary>Offset of x (Unfold) or of cols (Fold).</summary>
    public int Offset;
    /// <summary>Value read outside the input (0 for convolution, -inf for max pooling).</summary>
    public float Pad;
    /// <summary>How the columns' planes are laid out.</summary>
    public ColumnLayout Columns;

    /// <summary>Elements per window (kH·kW).</summary>
    public readonly int KK => KH * KW;

    /// <summary>Index of the plane of image <paramref name="nc"/> at window position <paramref name="ij"/>.</summary>
    public readonly int Plane(int nc, int ij)
    {
        int kk = KH * KW;
        if (Columns == ColumnLayout.PerImage) return nc * kk + ij;
        int n = nc / C;
        return ((nc - n * C) * kk + ij) * N + n;
    }

    /// <summary>Whether (h, w) lies inside the input (else a window reads <see cref="Pad"/> there).</summary>
    public readonly bool Inside(int h, int w) => h >= 0 && h < H && w >= 0 && w < W;

    /// <summary>Whether input row <paramref name="h"/> is row <paramref name="i"/> of the window of output row
    /// <paramref name="oh"/>.</summary>
    public readonly bool CoversRow(int h, int i, out int oh) => Covers(h + PH - i * DH, SH, OH, out oh);

    /// <summary>Whether input column <paramref name="w"/> is column <paramref name="j"/> of the window of output column
    /// <paramref name="ow"/>.</summary>
    public readonly bool CoversColumn(int w, int j, out int ow) => Covers(w + PW - j * DW, SW, OW, out ow);

    private static bool Covers(int v, int stride, int outputs, out int o)
    {
        o = v / stride;
        return v >= 0 && v - o * stride == 0 && o < outputs;
    }

    /// <summary>The image and window position of plane <paramref name="plane"/> (the inverse of <see cref="Plane"/>).</summary>
    public readonly void ImageOf(int plane, out int nc, out int ij)
    {
        int kk = KH * KW;
        if (Columns == ColumnLayout.PerImage) { nc = plane / kk; ij = plane - nc * kk; return; }
        int n = plane % N, r = plane / N, c = r / kk;
        ij = r - c * kk;
        nc = n * C + c;
    }
}
