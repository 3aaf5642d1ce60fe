using System.Buffers;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using DeepSharp.Ops;

namespace DeepSharp.Backends.Cpu;

// Fused cross-entropy both ways, row by row from max-shifted logits (see LossMath).
internal sealed partial class CpuBackend
{
    public void CrossEntropy(Storage logits, int offset, int n, int c, Storage labels, int labelsOffset, Storage loss, Storage probs,
        bool reduce, float scale)
    {
        var x = E(logits); var l = E(loss); var p = E(probs);
        for (int r = 0; r < n; r++) // checked first, so the message names the first bad row whatever the split
        {
            long label = IndexAt(labels, labelsOffset + r);
            if (label < 0 || label >= c)
                throw new ArgumentOutOfRangeException("labels", label, $"CrossEntropy: labels must lie in [0, {c}); row {r} has {label}.");
        }
        float[]? rows = reduce ? ArrayPool<float>.Shared.Rent(n) : null;
        // Rows in parallel (each row's arithmetic is the same whatever the split); the total summed in row order after.
        CpuParallel.For(n, 4 * c, (lo, hi) =>
        {
            for (int r = lo; r < hi; r++)
            {
                float rowLoss = CrossEntropyRow(x.AsSpan(offset + r * c, c), p.AsSpan(r * c, c), (int)IndexAt(labels, labelsOffset + r));
                if (rows is not null) rows[r] = rowLoss;
                else l[r] = rowLoss;
            }
        });
        if (rows is null) return;
        double total = 0;
        for (int r = 0; r < n; r++) total += rows[r];
        l[0] = (float)total * scale;
        ArrayPool<float>.Shared.Return(rows);
    }

    /// <summary>
    /// One row's loss, and its softmax into <paramref name="p"/>, from max-shifted values only (see LossMath): m and its
    /// first index k, R = Σ_{j≠k} e^(x − m), the loss log1p(R) − (x_label − m) and softmax = e^(x − m) / (1 + R). Each
    /// e^(x − m) is computed once, eight lanes at a time where the row holds no NaN.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)] // SIMD loops: tier-0 code runs them several times slower
    private static float CrossEntropyRow(Span<float> row, Span<float> p, int label)
    {
        int c = row.Length, k = 0, j = 0;
        float m = float.NegativeInfinity, rest = 0f;
        bool vector = Wide && c >= 8 && !HasNaN(row);
        if (vector)
        {
            var mv = Vector256.Create(float.NegativeInfinity);
            for (; j <= c - 8; j += 8) mv = Vector256.MaxNative(mv, Vector256.Create<float>(row[j..]));
            for (int i = 0; i < 8; i++) m = Math.Max(m, mv.GetElement(i));
            for (; j < c; j++) m = Math.Max(m, row[j]);
            k = row.IndexOf(m);
            var mm = Vector256.Create(m);
            for (j = 0; j <= c - 8; j += 8) (Vector256.Exp(Vector256.Create<float>(row[j..]) - mm)).CopyTo(p[j..]);
            for (; j < c; j++) p[j] = MathF.Exp(row[j] - m);
            // R without the max's own term (added below): a sum that held e^0 = 1 would lose a tiny R.
            float ek = p[k];
            p[k] = 0f;
            var sum = Vector256<float>.Zero;
            for (j = 0; j <= c - 8; j += 8) sum += Vector256.Create<float>(p[j..]);
            rest = Vector256.Sum(sum);
            for (; j < c; j++) rest += p[j];
            p[k] = ek;
        }
        else
        {
            for (; j < c; j++) if (LossMath.Beats(row[j], m)) { m = row[j]; k = j; }
            for (j = 0; j < c; j++) p[j] = MathF.Exp(row[j] - m);
            for (j = 0; j < k; j++) rest += p[j];
            for (j = k + 1; j < c; j++) rest += p[j];
        }
        rest += LossMath.MaxTerm(row[k], m); // c ≥ 1: the label check needs a class
        float loss = LossMath.CrossEntropy(rest, row[label], m), inv = 1f / (1f + rest);
        for (j = 0; j < c; j++) p[j] *= inv;
        return loss;
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)] // SIMD loops: tier-0 code runs them several times slower
    private static void Scale(Span<float> x, float a, Span<float> y)
    {
        int j = 0;
        if (Wide) for (var av = Vector256.Create(a); j <= x.Length - 8; j += 8) (Vector256.Create<float>(x[j..]) * av).CopyTo(y[j..]);
        for (; j < x.Length; j++) y[j] = x[j] * a;
    }

    private static bool HasNaN(Span<float> row)
    {
        foreach (float v in row) if (float.IsNaN(v)) return true;
        return false;
    }

    public void CrossEntropyBackward(Storage probs, int n, int c, Storage labels, int labelsOffset, Storage g, int gOffset, int gStride,
        float scale, Storage dx)
    {
        var p = E(probs); var gs = E(g); var d = E(dx);
        CpuParallel.For(n, c, (lo, hi) =>
        {
            for (int r = lo; r < hi; r++)
            {
                long label = IndexAt(labels, labelsOffset + r);
                float gr = gs[gOffset + r * gStride] * scale;
                Scale(p.AsSpan(r * c, c), gr, d.AsSpan(r * c, c));
                d[r * c + (int)label] = (p[r * c + (int)label] - 1f) * gr;
            }
        });
    }
}
