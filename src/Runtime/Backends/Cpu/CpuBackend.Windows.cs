namespace DeepSharp.Backends.Cpu;

// The sliding windows of convolution and pooling: im2col and col2im, by rows (small images use index tables: see
// CpuBackend.WindowTables.cs).
internal sealed partial class CpuBackend
{
    public void Unfold(Storage x, Storage cols, WindowArgs a)
    {
        var xs = E(x); var cs = E(cols);
        if (TableFor(a) is { } table) { UnfoldByTable(xs, cs, a, table); return; }
        int kk = a.KK, plane = a.OH * a.OW;
        bool shifted = a.SH == 1 && a.SW == 1 && a.OW == a.W;
        CpuParallel.For(a.N * a.C, kk * plane, (lo, hi) =>
        {
            for (int nc = lo; nc < hi; nc++)
                for (int ij = 0; ij < kk; ij++)
                {
                    int i = ij / a.KW, j = ij % a.KW;
                    if (shifted && Math.Abs(j * a.DW - a.PW) < a.OW)
                    {
                        ShiftedPlane(xs, cs, a, nc, i, j, a.Plane(nc, ij) * plane);
                        continue;
                    }
                    var (owLo, owHi) = ValidColumns(a, j);
                    for (int oh = 0; oh < a.OH; oh++)
                    {
                        int h = oh * a.SH - a.PH + i * a.DH;
                        var row = cs.AsSpan(a.Plane(nc, ij) * plane + oh * a.OW, a.OW);
                        if (h < 0 || h >= a.H || owLo >= owHi) { row.Fill(a.Pad); continue; }
                        row[..owLo].Fill(a.Pad);
                        row[owHi..].Fill(a.Pad);
                        int src = a.Offset + (nc * a.H + h) * a.W + owLo * a.SW - a.PW + j * a.DW; // input column of owLo
                        if (a.SW == 1) xs.AsSpan(src, owHi - owLo).CopyTo(row[owLo..owHi]);
                        else for (int ow = owLo; ow < owHi; ow++, src += a.SW) row[ow] = xs[src];
                    }
                }
        });
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
        int kk = a.KK, plane = a.OH * a.OW;
        CpuParallel.For(a.N * a.C, kk * plane, (lo, hi) =>
        {
            // Raw pointers, and rows shorter than a vector added inline: a small image's rows are a few floats (the digits
            // CNN's second layer: 18,432 rows of ≤ 4 floats per batch; see benchmarks/NOTES.md, "Moved from code comments").
            fixed (float* cp = cs, dp = ds)
                for (int nc = lo; nc < hi; nc++)
                {
                    float* img = dp + (long)nc * a.H * a.W;
                    new Span<float>(img, a.H * a.W).Clear();
                    for (int ij = 0; ij < kk; ij++)
                    {
                        int i = ij / a.KW, j = ij % a.KW;
                        var (owLo, owHi) = ValidColumns(a, j);
                        int n = owHi - owLo;
                        if (n <= 0) continue;
                        for (int oh = 0; oh < a.OH; oh++)
                        {
                            int h = oh * a.SH - a.PH + i * a.DH;
                            if (h < 0 || h >= a.H) continue;
                            float* src = cp + a.Offset + (long)a.Plane(nc, ij) * plane + oh * a.OW + owLo;
                            float* dst = img + h * a.W + owLo * a.SW - a.PW + j * a.DW;
                            if (a.SW != 1) for (int k = 0; k < n; k++) dst[k * a.SW] += src[k];
                            else if (n >= 8) AddInto(dst, src, n);
                            else for (int k = 0; k < n; k++) dst[k] += src[k];
                        }
                    }
                }
        });
    }
}
