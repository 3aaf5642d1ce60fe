using System.Numerics;
using DeepSharp.Ops;
using ILGPU;
using ILGPU.Runtime;

namespace DeepSharp.Backends.Ilgpu;

// The fused optimizer update.
internal static partial class Kernels
{
    /// <summary>
    /// Fused optimizer step over up to four parameters in one launch: element i belongs to the first slot whose End
    /// exceeds it. (p, m, v, w) = op(p, g, m, v, w); the parameter is written last (the states may alias g).
    /// </summary>
    public static void Update<T, TOp>(Index1D i, UpdateSlots<T> s, TOp op) where T : unmanaged where TOp : struct, IUpdateOp<T>
    {
        if (i < s.End0) UpdateOne(s.P0, s.PO0, s.G0, s.GO0, s.M0, s.V0, s.W0, i, op);
        else if (i < s.End1) UpdateOne(s.P1, s.PO1, s.G1, s.GO1, s.M1, s.V1, s.W1, i - s.End0, op);
        else if (i < s.End2) UpdateOne(s.P2, s.PO2, s.G2, s.GO2, s.M2, s.V2, s.W2, i - s.End1, op);
        else UpdateOne(s.P3, s.PO3, s.G3, s.GO3, s.M3, s.V3, s.W3, i - s.End2, op);
    }

    private static void UpdateOne<T, TOp>(ArrayView<T> p, int po, ArrayView<T> g, int go, ArrayView<T> m, ArrayView<T> v,
        ArrayView<T> w, int i, TOp op)
        where T : unmanaged where TOp : struct, IUpdateOp<T>
    {
        var (np, nm, nv, nw) = op.Apply(p[po + i], g[go + i], m[i], v[i], w[i]);
        m[i] = nm; v[i] = nv; w[i] = nw; p[po + i] = np;
    }
}

/// <summary>Partials of a gradient norm (<see cref="GradNormTerm"/>) over up to four gradients in one launch.</summary>
internal static partial class Kernels
{
    /// <summary>Thread t folds elements t, t + T, t + 2T, … of the four runs laid end to end (T threads) into
    /// partials[Base + t]: a fixed assignment, so the sum of the partials does not depend on scheduling.</summary>
    public static void GradNormPartials<T>(Index1D t, GradNormSlots<T> s, ArrayView<T> partials, GradNormArgs a, T p)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        T acc = T.Zero;
        for (int i = t; i < s.End3; i += a.Threads)
        {
            T x = i < s.End0 ? s.X0[s.O0 + i] : i < s.End1 ? s.X1[s.O1 + i - s.End0]
                : i < s.End2 ? s.X2[s.O2 + i - s.End1] : s.X3[s.O3 + i - s.End2];
            acc = GradNormTerm.Combine(acc, GradNormTerm.Of(x, a.Kind, p), a.Kind);
        }
        partials[a.Base + t] = acc;
    }

}

/// <summary>The norm's power and where a launch writes its partials.</summary>
internal struct GradNormArgs
{
    /// <summary>Which power (p itself is a kernel argument in the element type).</summary>
    public GradNormKind Kind;
    /// <summary>Threads per launch, and the first partial this launch writes.</summary>
    public int Threads, Base;
}

/// <summary>Four gradient runs of one <see cref="Kernels.GradNormPartials{T}"/> launch: views, offsets, cumulative ends.</summary>
internal struct GradNormSlots<T> where T : unmanaged
{
    /// <summary>The gradients' views.</summary>
    public ArrayView<T> X0, X1, X2, X3;
    /// <summary>Element offsets per slot.</summary>
    public int O0, O1, O2, O3;
    /// <summary>Cumulative element counts: slot k covers [End(k-1), End(k)).</summary>
    public int End0, End1, End2, End3;

    internal void Set(int k, ArrayView<T> x, int offset, int end)
    {
        switch (k)
        {
            case 0: (X0, O0, End0) = (x, offset, end); break;
            case 1: (X1, O1, End1) = (x, offset, end); break;
            case 2: (X2, O2, End2) = (x, offset, end); break;
            default: (X3, O3, End3) = (x, offset, end); break;
        }
    }
}

/// <summary>Four parameters of one <see cref="Kernels.Update{T, TOp}"/> launch: views, offsets and cumulative element ends.</summary>
internal struct UpdateSlots<T> where T : unmanaged
{
    /// <summary>Parameter, gradient and state views per slot.</summary>
    public ArrayView<T> P0, G0, M0, V0, W0, P1, G1, M1, V1, W1, P2, G2, M2, V2, W2, P3, G3, M3, V3, W3;
    /// <summary>Element offsets of the parameter and gradient per slot.</summary>
    public int PO0, GO0, PO1, GO1, PO2, GO2, PO3, GO3;
    /// <summary>Cumulative element counts: slot k covers [End(k-1), End(k)).</summary>
    public int End0, End1, End2, End3;

    internal void Set(int k, ArrayView<T> p, int po, ArrayView<T> g, int go, ArrayView<T> m, ArrayView<T> v, ArrayView<T> w, int end)
    {
        switch (k)
        {
            case 0: (P0, PO0, G0, GO0, M0, V0, W0, End0) = (p, po, g, go, m, v, w, end); break;
            case 1: (P1, PO1, G1, GO1, M1, V1, W1, End1) = (p, po, g, go, m, v, w, end); break;
            case 2: (P2, PO2, G2, GO2, M2, V2, W2, End2) = (p, po, g, go, m, v, w, end); break;
            default: (P3, PO3, G3, GO3, M3, V3, W3, End3) = (p, po, g, go, m, v, w, end); break;
        }
    }
}
