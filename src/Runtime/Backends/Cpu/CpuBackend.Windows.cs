using System.Runtime.CompilerServices;

namespace DeepSharp.Backends.Cpu;

// The sliding windows of convolution and pooling: im2col and col2im, by rows (small images use index tables: see
// CpuBackend.WindowTables.cs).
internal sealed partial class CpuBackend
{
    public void Unfold(Storage x, Storage cols, WindowArgs a)
    {
        var xs = E(x); var cs = E(cols);
        if (TableFor(a) is { } table) { UnfoldByTable(xs, cs, a, table); return; }
        CpuParallel.For(a.N * a.C, a.KK * a.OH * a.OW, (lo, hi) => UnfoldRows(xs, cs, a, lo, hi));
    }

    /// <summary>
    /// Images [lo, hi) of <see cref="Unfold"/>, row by row. The window's fields are read into locals once per plane: read
    /// in the row loop, each use of the struct (captured by the caller's lambda) would load it again.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)] // hot loops: tier-0 code runs them several times slower
    private static void UnfoldRows(HostElements<float> xs, HostElements<float> cs, WindowArgs a, int lo, int hi)
    {
        int kk = a.KK, kw = a.KW, oh = a.OH, ow = a.OW, sh = a.SH, sw = a.SW, h = a.H, w = a.W, plane = oh * ow;
        float pad = a.Pad;
        bool shifted = sh == 1 && sw == 1 && ow == w;
        for (int nc = lo; nc < hi; nc++)
            for (int ij = 0; ij < kk; ij++)
            {
                int i = ij / kw, j = ij % kw, down = i * a.DH - a.PH, shift = j * a.DW - a.PW, dst = a.Plane(nc, ij) * plane;
                if (shifted && Math.Abs(shift) < ow)
                {
                    ShiftedPlane(xs, cs, a, nc, i, j, dst);
                    continue;
                }
                var (owLo, owHi) = ValidColumns(a, j);
                int first = a.Offset + nc * h * w + owLo * sw + shift; // the input column of output column owLo, in row 0
                for (int r = 0; r < oh; r++)
                {
                    int hh = r * sh + down;
                    var row = cs.AsSpan(dst + r * ow, ow);
                    if (hh < 0 || hh >= h || owLo >= owHi) { row.Fill(pad); continue; }
                    row[..owLo].Fill(pad);
                    row[owHi..].Fill(pad);
                    int src = first + hh * w;
                    if (sw == 1) xs.AsSpan(src, owHi - owLo).CopyTo(row[owLo..owHi]);
                    else for (int c = owLo; c < owHi; c++, src += sw) row[c] = xs[src];
                }
            }
    }

    /// <summary>
    /// One window plane at stride 1 when output rows are as wide as input rows ("same" convolutions): the input plane
    /// shifted by (i·DH − PH, j·DW − PW) — one copy of all valid rows at once, then the columns that wrapped into a neighbouring
    /// row and the rows outside the input set to the pad value (a 32×32 plane: one copy instead of 32 row copies).
    /// </summary>
    private static void ShiftedPlane(HostElements<float> xs, HostElements<float> cs, WindowArgs a, int nc, int i, int j, int dst)
    {
        int shift = j * a.DW - a.PW, down = i * a.DH - a.PH, ow = a.OW;
        int ohLo = Math.Max(0, -down), ohHi = Math.Min(a.OH, a.H - down); // output rows whose input row exists
        var plane = cs.AsSpan(dst, a.OH * ow);
        if (ohLo >= ohHi) { plane.Fill(a.Pad); return; }
        plane[..(ohLo * ow)].Fill(a.Pad);
        plane[(ohHi * ow)..].Fill(a.Pad);
        int rows = (ohHi - ohLo) * ow, src = a.Offset + (nc * a.H + ohLo + down) * a.W; // input row of output row ohLo
        if (shift >= 0) xs.AsSpan(src + shift, rows - shift).CopyTo(plane.Slice(ohLo * ow, rows - shift));
        else xs.AsSpan(src, rows + shift).CopyTo(plane.Slice(ohLo * ow - shift, rows + shift));
        for (int oh = ohLo; oh < ohHi; oh++)
            if (shift >= 0) plane.Slice(oh * ow + ow - shift, shift).Fill(a.Pad);
            else plane.Slice(oh * ow, -shift).Fill(a.Pad);
    }

    /// <summary>The output columns [lo, hi) whose window column j lands inside the input (w = ow·SW − PW + j·DW in
    /// [0, W)).</summary>
    private static (int Lo, int Hi) ValidColumns(WindowArgs a, int j)
    {
        int before = a.PW - j * a.DW, last = a.W - 1 + before;                 // ow·SW ≥ before and ow·SW ≤ last
        int lo = Math.Min(a.OW, before <= 0 ? 0 : (before + a.SW - 1) / a.SW);
        int hi = last < 0 ? 0 : Math.Min(a.OW, last / a.SW + 1);
        return (lo, Math.Max(lo, hi));
    }

    public unsafe void Fold(Storage cols, Storage dx, WindowArgs a)
    {
        var cs = E(cols); var ds = E(dx);
        if (TableFor(a) is { } table) { FoldByTable(cs, ds, a, table); return; }
        CpuParallel.For(a.N * a.C, a.KK * a.OH * a.OW, (lo, hi) => FoldRows(cs, ds, a, lo, hi));
    }

    /// <summary>Images [lo, hi) of <see cref="Fold"/>, row by row (the window's fields in locals, as in
    /// <see cref="UnfoldRows"/>).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static unsafe void FoldRows(HostElements<float> cs, HostElements<float> ds, WindowArgs a, int lo, int hi)
    {
        int kk = a.KK, kw = a.KW, oh = a.OH, ow = a.OW, sh = a.SH, sw = a.SW, h = a.H, w = a.W, plane = oh * ow;
        // Raw pointers, and rows shorter than a vector added inline: a small image's rows are a few floats (the digits
        // CNN's second layer: 18,432 rows of ≤ 4 floats per batch; see benchmarks/NOTES.md, "Moved from code comments").
        fixed (float* cp = cs, dp = ds)
            for (int nc = lo; nc < hi; nc++)
            {
                float* img = dp + (long)nc * h * w;
                new Span<float>(img, h * w).Clear();
                for (int ij = 0; ij < kk; ij++)
                {
                    int i = ij / kw, j = ij % kw, down = i * a.DH - a.PH;
                    var (owLo, owHi) = ValidColumns(a, j);
                    int n = owHi - owLo;
                    if (n <= 0) continue;
                    float* src = cp + a.Offset + (long)a.Plane(nc, ij) * plane + owLo;
                    float* first = img + owLo * sw + j * a.DW - a.PW; // output column owLo's input column, in row 0
                    for (int r = 0; r < oh; r++, src += ow)
                    {
                        int hh = r * sh + down;
                        if (hh < 0 || hh >= h) continue;
                        float* dst = first + hh * w;
                        if (sw != 1) for (int k = 0; k < n; k++) dst[k * sw] += src[k];
                        else if (n >= 8) AddInto(dst, src, n);
                        else for (int k = 0; k < n; k++) dst[k] += src[k];
                    }
                }
            }
    }
}
