using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using DeepSharp.Ops;

namespace DeepSharp.Backends.Cpu;

// The training operations on the host: row gather and scatter-add, the fused optimizer update, fused cross-entropy both
// ways, im2col and col2im.
internal sealed partial class CpuBackend
{
    public void GatherRows(Storage x, int xOffset, int rows, int cols, Storage index, int indexOffset, Storage y, int count)
    {
        var xs = E(x); var ys = E(y);
        for (int r = 0; r < count; r++)
        {
            long ix = IndexAt(index, indexOffset + r);
            if (ix < -rows || ix >= rows)
                throw new ArgumentOutOfRangeException("index", ix,
                    $"GatherRows: index {ix} at position {r} is out of range for {rows} rows (expected {-rows}..{rows - 1}).");
            if (ix < 0) ix += rows;
            xs.AsSpan((int)(xOffset + ix * cols), cols).CopyTo(ys.AsSpan(r * cols, cols));
        }
    }

    public void IndexAddRows(Storage y, int rows, int cols, Storage index, int indexOffset, Storage src, int srcOffset, int count)
    {
        var ys = ((CpuStorage)y).Span<float>(); var xs = E(src);
        for (int r = 0; r < count; r++)
        {
            long ix = IndexAt(index, indexOffset + r);
            if (ix < 0) ix += rows; // validated by the forward GatherRows
            var dst = ys.Slice((int)ix * cols, cols);
            var row = xs.AsSpan(srcOffset + r * cols, cols);
            for (int c = 0; c < cols; c++) dst[c] += row[c];
        }
    }

    public void Update<TOp>(IReadOnlyList<UpdateItem> items, TOp op) where TOp : struct, IUpdateOp
    {
        foreach (var u in items) Update(u.P, u.POffset, u.G, u.GOffset, u.M, u.V, u.Count, op);
    }

    private static void Update<TOp>(Storage p, int pOffset, Storage g, int gOffset, Storage m, Storage v, int count, TOp op) where TOp : struct, IUpdateOp
    {
        var ps = E(p); var gs = E(g); var ms = E(m); var vs = E(v);
        CpuParallel.For(count, 8, (lo, hi) =>
        {
            // Unchecked refs (the optimizer checked every shape); the parameter is written last: m and v may alias g.
            ref float pr = ref Unsafe.Add(ref ps.Ref, pOffset), gr = ref Unsafe.Add(ref gs.Ref, gOffset);
            ref float mr = ref ms.Ref, vr = ref vs.Ref;
            int i = lo;
            for (; i <= hi - 8; i += 8)
            {
                nuint k = (nuint)i;
                var (np, nm, nv) = op.Apply(Vector256.LoadUnsafe(ref pr, k), Vector256.LoadUnsafe(ref gr, k),
                    Vector256.LoadUnsafe(ref mr, k), Vector256.LoadUnsafe(ref vr, k));
                nm.StoreUnsafe(ref mr, k); nv.StoreUnsafe(ref vr, k); np.StoreUnsafe(ref pr, k);
            }
            for (; i < hi; i++)
            {
                var (np, nm, nv) = op.Apply(Unsafe.Add(ref pr, i), Unsafe.Add(ref gr, i), Unsafe.Add(ref mr, i), Unsafe.Add(ref vr, i));
                Unsafe.Add(ref mr, i) = nm; Unsafe.Add(ref vr, i) = nv; Unsafe.Add(ref pr, i) = np;
            }
        });
    }

    public void CrossEntropy(Storage logits, int offset, int n, int c, Storage labels, int labelsOffset, Storage loss, Storage probs, bool reduce, float scale)
    {
        var x = E(logits); var l = E(loss); var p = E(probs);
        double total = 0;
        for (int r = 0; r < n; r++)
        {
            long label = IndexAt(labels, labelsOffset + r);
            if (label < 0 || label >= c)
                throw new ArgumentOutOfRangeException("labels", label, $"CrossEntropy: labels must lie in [0, {c}); row {r} has {label}.");
            var row = x.AsSpan(offset + r * c, c);
            // From max-shifted values only (see LossMath): m and its first index k, R = Σ_{j≠k} e^(x − m), then the loss
            // and softmax = e^(x − m) / (1 + R).
            float m = float.NegativeInfinity, rest = 0f;
            int k = 0;
            for (int j = 0; j < c; j++) if (LossMath.Beats(row[j], m)) { m = row[j]; k = j; }
            for (int j = 0; j < k; j++) rest += MathF.Exp(row[j] - m);
            for (int j = k + 1; j < c; j++) rest += MathF.Exp(row[j] - m);
            rest += LossMath.MaxTerm(row[k], m); // c ≥ 1: the label check above needs a class
            float rowLoss = LossMath.CrossEntropy(rest, row[(int)label], m), inv = 1f / (1f + rest);
            if (reduce) total += rowLoss;
            else l[r] = rowLoss;
            for (int j = 0; j < c; j++) p[r * c + j] = MathF.Exp(row[j] - m) * inv;
        }
        if (reduce) l[0] = (float)total * scale;
    }

    public void CrossEntropyBackward(Storage probs, int n, int c, Storage labels, int labelsOffset, Storage g, int gOffset, int gStride, float scale, Storage dx)
    {
        var p = E(probs); var gs = E(g); var d = E(dx);
        for (int r = 0; r < n; r++)
        {
            long label = IndexAt(labels, labelsOffset + r);
            float gr = gs[gOffset + r * gStride] * scale;
            for (int j = 0; j < c; j++) d[r * c + j] = (p[r * c + j] - (label == j ? 1f : 0f)) * gr;
        }
    }

    /// <summary>Element i of an int32 or int64 index (or label) tensor.</summary>
    private static long IndexAt(Storage indices, int i) => indices.DType == DType.Int32 ? S<int>(indices)[i] : S<long>(indices)[i];

    public void Unfold(Storage x, Storage cols, WindowArgs a)
    {
        var xs = E(x); var cs = E(cols);
        if (TableFor(a) is { } table) { UnfoldByTable(xs, cs, a, table); return; }
        int kk = a.K * a.K, plane = a.OH * a.OW;
        CpuParallel.For(a.N * a.C, kk * plane, (lo, hi) =>
        {
            for (int nc = lo; nc < hi; nc++)
                for (int ij = 0; ij < kk; ij++)
                {
                    int i = ij / a.K, j = ij % a.K;
                    if (a.S == 1 && a.OW == a.W && Math.Abs(j - a.P) < a.OW)
                    {
                        ShiftedPlane(xs, cs, a, nc, i, j, a.Plane(nc, ij) * plane);
                        continue;
                    }
                    var (owLo, owHi) = ValidColumns(a, j);
                    for (int oh = 0; oh < a.OH; oh++)
                    {
                        int h = oh * a.S - a.P + i;
                        var row = cs.AsSpan(a.Plane(nc, ij) * plane + oh * a.OW, a.OW);
                        if (h < 0 || h >= a.H || owLo >= owHi) { row.Fill(a.Pad); continue; }
                        row[..owLo].Fill(a.Pad);
                        row[owHi..].Fill(a.Pad);
                        int src = a.Offset + (nc * a.H + h) * a.W + owLo * a.S - a.P + j; // input column of output column owLo
                        if (a.S == 1) xs.AsSpan(src, owHi - owLo).CopyTo(row[owLo..owHi]);
                        else for (int ow = owLo; ow < owHi; ow++, src += a.S) row[ow] = xs[src];
                    }
                }
        });
    }

    /// <summary>
    /// One window plane at stride 1 when output rows are as wide as input rows ("same" convolutions): the input plane
    /// shifted by (i − P, j − P) — one copy of all valid rows at once, then the columns that wrapped into a neighbouring
    /// row and the rows outside the input set to the pad value (a 32×32 plane: one copy instead of 32 row copies).
    /// </summary>
    private static void ShiftedPlane(HostElements<float> xs, HostElements<float> cs, WindowArgs a, int nc, int i, int j, int dst)
    {
        int shift = j - a.P, ow = a.OW;
        int ohLo = Math.Max(0, a.P - i), ohHi = Math.Min(a.OH, a.H + a.P - i); // output rows whose input row exists
        var plane = cs.AsSpan(dst, a.OH * ow);
        if (ohLo >= ohHi) { plane.Fill(a.Pad); return; }
        plane[..(ohLo * ow)].Fill(a.Pad);
        plane[(ohHi * ow)..].Fill(a.Pad);
        int rows = (ohHi - ohLo) * ow, src = a.Offset + (nc * a.H + ohLo + i - a.P) * a.W; // input row of output row ohLo
        if (shift >= 0) xs.AsSpan(src + shift, rows - shift).CopyTo(plane.Slice(ohLo * ow, rows - shift));
        else xs.AsSpan(src, rows + shift).CopyTo(plane.Slice(ohLo * ow - shift, rows + shift));
        for (int oh = ohLo; oh < ohHi; oh++)
            if (shift >= 0) plane.Slice(oh * ow + ow - shift, shift).Fill(a.Pad);
            else plane.Slice(oh * ow, -shift).Fill(a.Pad);
    }

    /// <summary>The output columns [lo, hi) whose window column j lands inside the input (w = ow·S − P + j in [0, W)).</summary>
    private static (int Lo, int Hi) ValidColumns(WindowArgs a, int j)
    {
        int before = a.P - j, last = a.W - 1 + a.P - j;                 // ow·S ≥ before and ow·S ≤ last
        int lo = Math.Min(a.OW, before <= 0 ? 0 : (before + a.S - 1) / a.S);
        int hi = last < 0 ? 0 : Math.Min(a.OW, last / a.S + 1);
        return (lo, Math.Max(lo, hi));
    }

    public unsafe void Fold(Storage cols, Storage dx, WindowArgs a)
    {
        var cs = E(cols); var ds = E(dx);
        if (TableFor(a) is { } table) { FoldByTable(cs, ds, a, table); return; }
        int kk = a.K * a.K, plane = a.OH * a.OW;
        CpuParallel.For(a.N * a.C, kk * plane, (lo, hi) =>
        {
            // Raw pointers, and rows shorter than a vector added inline: a small image's rows are a few floats (the digits
            // CNN's second layer: 18,432 rows of ≤ 4 floats per batch; its unfold forward + backward 71–75 → 66–68 µs).
            fixed (float* cp = cs, dp = ds)
                for (int nc = lo; nc < hi; nc++)
                {
                    float* img = dp + (long)nc * a.H * a.W;
                    new Span<float>(img, a.H * a.W).Clear();
                    for (int ij = 0; ij < kk; ij++)
                    {
                        int i = ij / a.K, j = ij % a.K;
                        var (owLo, owHi) = ValidColumns(a, j);
                        int n = owHi - owLo;
                        if (n <= 0) continue;
                        for (int oh = 0; oh < a.OH; oh++)
                        {
                            int h = oh * a.S - a.P + i;
                            if (h < 0 || h >= a.H) continue;
                            float* src = cp + a.Offset + (long)a.Plane(nc, ij) * plane + oh * a.OW + owLo;
                            float* dst = img + h * a.W + owLo * a.S - a.P + j;
                            if (a.S != 1) for (int k = 0; k < n; k++) dst[k * a.S] += src[k];
                            else if (n >= 8) AddInto(dst, src, n);
                            else for (int k = 0; k < n; k++) dst[k] += src[k];
                        }
                    }
                }
        });
    }
}
