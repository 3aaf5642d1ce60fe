using DeepSharp.Ops;

namespace DeepSharp.Backends.Cpu;

// Fused cross-entropy both ways, row by row from max-shifted logits (see LossMath).
internal sealed partial class CpuBackend
{
    public void CrossEntropy(Storage logits, int offset, int n, int c, Storage labels, int labelsOffset, Storage loss, Storage probs,
        bool reduce, float scale)
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

    public void CrossEntropyBackward(Storage probs, int n, int c, Storage labels, int labelsOffset, Storage g, int gOffset, int gStride,
        float scale, Storage dx)
    {
        var p = E(probs); var gs = E(g); var d = E(dx);
        for (int r = 0; r < n; r++)
        {
            long label = IndexAt(labels, labelsOffset + r);
            float gr = gs[gOffset + r * gStride] * scale;
            for (int j = 0; j < c; j++) d[r * c + j] = (p[r * c + j] - (label == j ? 1f : 0f)) * gr;
        }
    }
}
