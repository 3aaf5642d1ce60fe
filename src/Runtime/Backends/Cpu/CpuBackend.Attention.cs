using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using DeepSharp.Ops;

namespace DeepSharp.Backends.Cpu;

// The attention softmax (AttentionArgs) both ways, one row of S keys at a time: the scaled and masked scores are written
// into the output row, then max-shifted and normalized there in place (the softmax's vector loops: Max256, Terms256).
internal sealed partial class CpuBackend
{
    public void AttentionSoftmax(Storage x, Storage? mask, Storage y, AttentionArgs a)
    {
        if (a.Count == 0) return;
        var xs = E(x); var ys = E(y); var ms = mask is null ? default : E(mask);
        int s = a.S;
        CpuParallel.For(a.Rows, 5 * s, (lo, hi) =>
        {
            for (int r = lo; r < hi; r++) AttentionRow(xs, ms, ys.AsSpan(r * s, s), r, a);
        });
    }

    public void AttentionSoftmaxBackward(Storage y, Storage g, Storage dx, AttentionArgs a)
    {
        if (a.Count == 0) return;
        var ys = E(y); var gs = E(g); var ds = E(dx);
        int s = a.S;
        CpuParallel.For(a.Rows, 4 * s, (lo, hi) =>
        {
            for (int r = lo; r < hi; r++)
            {
                var dr = ds.AsSpan(r * s, s);
                SoftmaxBackRow(ys.AsSpan(r * s, s), gs.AsSpan(a.Offset + r * s, s), dr, SoftmaxKind.Softmax);
                if (a.Scale != 1f) ScaleRow(dr, a.Scale);
            }
        });
    }

    private static void AttentionRow(HostElements<float> xs, HostElements<float> ms, Span<float> y, int r, AttentionArgs a)
    {
        int n = a.Visible(r);
        var x = xs.AsSpan(a.Offset + r * a.S, n);
        if ((a.Masks & AttentionMasks.Additive) == 0) ScaledRow(x, y[..n], a.Scale, default, 0);
        else
        {
            int m0 = a.MaskRow(r), cs = a.MaskColStride;
            if (cs is 0 or 1) ScaledRow(x, y[..n], a.Scale, ms.AsSpan(m0, cs == 0 ? 1 : n), cs);
            else for (int j = 0; j < n; j++) y[j] = x[j] * a.Scale + ms[m0 + j * cs];
        }
        y[n..].Clear();
        if (n == 0) return;
        int full = Wide ? n - n % 8 : n - n % 4;
        ref float yr = ref MemoryMarshal.GetReference(y);
        float m = Wide ? Max256(ref yr, full) : Max128(ref yr, full), below = 0f, ties = 0f;
        for (int j = full; j < n; j++) m = default(MaxOp).Combine(m, y[j]);
        if (m == float.NegativeInfinity) { y[..n].Clear(); return; } // every key masked: a zero row (see Functional)
        if (!SoftmaxMath.Finite(m)) { y[..n].Fill(float.NaN); return; }
        if (Wide) Terms256(ref yr, ref yr, full, m, true, ref below, ref ties);
        else Terms128(ref yr, ref yr, full, m, true, ref below, ref ties);
        for (int j = full; j < n; j++)
        {
            float d = y[j] - m, e = MathF.Exp(d);
            y[j] = e;
            if (d == 0f) ties += 1f; else below += e;
        }
        ScaleRow(y[..n], 1f / (below + ties));
    }

    /// <summary>y = scale·x + mask, the mask dense (stride 1), one value for the row (stride 0, one element) or absent (empty).</summary>
    private static void ScaledRow(Span<float> x, Span<float> y, float scale, Span<float> mask, int stride)
    {
        int n = x.Length, j = 0;
        ref float xr = ref MemoryMarshal.GetReference(x); ref float yr = ref MemoryMarshal.GetReference(y);
        ref float mr = ref MemoryMarshal.GetReference(mask);
        float m0 = mask.IsEmpty ? 0f : mask[0];
        bool dense = stride == 1 && !mask.IsEmpty;
        if (Wide)
        {
            Vector256<float> sv = Vector256.Create(scale), mv = Vector256.Create(m0);
            for (; j + 8 <= n; j += 8)
            {
                var add = dense ? Vector256.LoadUnsafe(ref mr, (nuint)j) : mv;
                (Vector256.LoadUnsafe(ref xr, (nuint)j) * sv + add).StoreUnsafe(ref yr, (nuint)j);
            }
        }
        else
        {
            Vector128<float> sv = Vector128.Create(scale), mv = Vector128.Create(m0);
            for (; j + 4 <= n; j += 4)
            {
                var add = dense ? Vector128.LoadUnsafe(ref mr, (nuint)j) : mv;
                (Vector128.LoadUnsafe(ref xr, (nuint)j) * sv + add).StoreUnsafe(ref yr, (nuint)j);
            }
        }
        for (; j < n; j++) y[j] = x[j] * scale + (dense ? mask[j] : m0);
    }

    /// <summary>y *= c.</summary>
    private static void ScaleRow(Span<float> y, float c)
    {
        int n = y.Length, j = 0;
        ref float yr = ref MemoryMarshal.GetReference(y);
        if (Wide)
        {
            var cv = Vector256.Create(c);
            for (; j + 8 <= n; j += 8) (Vector256.LoadUnsafe(ref yr, (nuint)j) * cv).StoreUnsafe(ref yr, (nuint)j);
        }
        else
        {
            var cv = Vector128.Create(c);
            for (; j + 4 <= n; j += 4) (Vector128.LoadUnsafe(ref yr, (nuint)j) * cv).StoreUnsafe(ref yr, (nuint)j);
        }
        for (; j < n; j++) y[j] *= c;
    }
}
