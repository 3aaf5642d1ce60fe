using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

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
    /// Images [lo, hi) of <see cref="Unfold"/>, row by row. What depends only on the window position (the valid rows and
    /// columns, the shift) is worked out once per call, not per plane: LeNet's second layer unfolds 38,400 planes of ten
    /// 10-float rows per batch, and a handful of integer divisions per plane cost as much as its copies.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)] // hot loops: tier-0 code runs them several times slower
    private static unsafe void UnfoldRows(HostElements<float> xs, HostElements<float> cs, WindowArgs a, int lo, int hi)
    {
        int kk = a.KK, oh = a.OH, ow = a.OW, sh = a.SH, sw = a.SW, h = a.H, w = a.W, plane = oh * ow;
        float pad = a.Pad;
        bool shifted = sh == 1 && sw == 1 && ow == w;
        Span<int> table = kk * RowFields <= 1024 ? stackalloc int[kk * RowFields] : new int[kk * RowFields];
        WindowRowsTable(a, table);
        fixed (float* xp = xs, cp = cs)
        fixed (int* t = table)
            for (int nc = lo; nc < hi; nc++)
            {
                float* image = xp + a.Offset + (long)nc * h * w;
                int first = a.Plane(nc, 0), between = a.Plane(nc, Math.Min(1, kk - 1)) - first; // planes of nc: first + ij·between
                for (int ij = 0; ij < kk; ij++)
                {
                    int* f = t + ij * RowFields;
                    int dst = (first + ij * between) * plane;
                    if (shifted && Math.Abs(ij % a.KW * a.DW - a.PW) < ow)
                    {
                        ShiftedPlane(xs, cs, a, nc, ij / a.KW, ij % a.KW, dst);
                        continue;
                    }
                    int owLo = f[1], owHi = f[2], rLo = f[3], rHi = f[4], n = owHi - owLo;
                    float* rows = cp + dst;
                    if (rLo > 0) new Span<float>(rows, rLo * ow).Fill(pad);
                    if (rHi < oh) new Span<float>(rows + rHi * ow, (oh - rHi) * ow).Fill(pad);
                    if (owLo > 0 || owHi < ow)
                        for (int r = rLo; r < rHi; r++)
                        {
                            for (int c = 0; c < owLo; c++) rows[r * ow + c] = pad;
                            for (int c = owHi; c < ow; c++) rows[r * ow + c] = pad;
                        }
                    // Nothing but the copy in the row loop (a 10-wide row is 40 bytes: a call or a branch per row costs
                    // more than the copy).
                    float* src = image + f[0], row = rows + rLo * ow + owLo;
                    long step = (long)sh * w;
                    if (sw == 1)
                        for (int r = rLo; r < rHi; r++, src += step, row += ow) CopyShort(src, row, n);
                    else
                        for (int r = rLo; r < rHi; r++, src += step, row += ow)
                            for (int c = 0; c < n; c++) row[c] = src[c * sw];
                }
            }
    }

    /// <summary>Fields per window position in <see cref="WindowRowsTable"/>.</summary>
    private const int RowFields = 5;

    /// <summary>
    /// For each window position ij: the input offset (from the image's start) that output (rLo, owLo) reads, the output
    /// columns [owLo, owHi) and rows [rLo, rHi) whose input lies inside the image (the rest read padding; no rows when no
    /// column is inside). Unfold and fold work these out once per call rather than once per plane: LeNet's second layer has
    /// 38,400 planes of ten 10-float rows per batch, and a handful of integer divisions per plane cost as much as its copies.
    /// </summary>
    private static void WindowRowsTable(WindowArgs a, Span<int> table)
    {
        for (int ij = 0; ij < a.KK; ij++)
        {
            int i = ij / a.KW, j = ij % a.KW, down = i * a.DH - a.PH, shift = j * a.DW - a.PW;
            var (owLo, owHi) = ValidColumns(a, j);
            int rLo = down >= 0 ? 0 : Math.Min(a.OH, (a.SH - 1 - down) / a.SH);
            int rHi = a.H - 1 - down < 0 || owHi <= owLo ? rLo : Math.Clamp((a.H - 1 - down) / a.SH + 1, rLo, a.OH);
            var f = table.Slice(ij * RowFields, RowFields);
            (f[0], f[1], f[2], f[3], f[4]) = ((rLo * a.SH + down) * a.W + owLo * a.SW + shift, owLo, owHi, rLo, rHi);
        }
    }

    /// <summary>d[0..n) = s[0..n) for runs of a few floats: whole vectors, the last one overlapping the one before it
    /// (so nothing outside [0, n) is read or written), instead of a call to memmove.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static unsafe void CopyShort(float* s, float* d, int n)
    {
        if (n >= 8 && Wide)
        {
            int j = 0;
            for (; j <= n - 8; j += 8) Vector256.Store(Vector256.Load(s + j), d + j);
            if (j < n) Vector256.Store(Vector256.Load(s + n - 8), d + n - 8);
        }
        else if (n >= 4)
        {
            int j = 0;
            for (; j <= n - 4; j += 4) Vector128.Store(Vector128.Load(s + j), d + j);
            if (j < n) Vector128.Store(Vector128.Load(s + n - 4), d + n - 4);
        }
        else for (int j = 0; j < n; j++) d[j] = s[j];
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
        int kk = a.KK, ow = a.OW, sh = a.SH, sw = a.SW, h = a.H, w = a.W, plane = a.OH * ow;
        Span<int> table = kk * RowFields <= 1024 ? stackalloc int[kk * RowFields] : new int[kk * RowFields];
        WindowRowsTable(a, table);
        // Raw pointers, and short rows added inline: a small image's rows are a few floats (the digits CNN's second layer:
        // 18,432 rows of ≤ 4 floats per batch; see benchmarks/NOTES.md, "Moved from code comments").
        fixed (float* cp = cs, dp = ds)
        fixed (int* t = table)
            for (int nc = lo; nc < hi; nc++)
            {
                float* img = dp + (long)nc * h * w;
                new Span<float>(img, h * w).Clear();
                int first = a.Plane(nc, 0), between = a.Plane(nc, Math.Min(1, kk - 1)) - first; // planes of nc: first + ij·between
                for (int ij = 0; ij < kk; ij++)
                {
                    int* f = t + ij * RowFields;
                    int owLo = f[1], n = f[2] - owLo, rLo = f[3], rHi = f[4];
                    float* src = cp + a.Offset + (long)(first + ij * between) * plane + rLo * ow + owLo, dst = img + f[0];
                    long step = (long)sh * w;
                    if (sw != 1)
                        for (int r = rLo; r < rHi; r++, src += ow, dst += step)
                            for (int k = 0; k < n; k++) dst[k * sw] += src[k];
                    else
                        for (int r = rLo; r < rHi; r++, src += ow, dst += step) AddShort(dst, src, n);
                }
            }
    }

    /// <summary>d[0..n) += s[0..n), inline for short rows.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static unsafe void AddShort(float* d, float* s, int n)
    {
        int k = 0;
        if (Wide)
            for (; k <= n - 8; k += 8) Vector256.Store(Vector256.Load(d + k) + Vector256.Load(s + k), d + k);
        for (; k <= n - 4; k += 4) Vector128.Store(Vector128.Load(d + k) + Vector128.Load(s + k), d + k);
        for (; k < n; k++) d[k] += s[k];
    }
}
