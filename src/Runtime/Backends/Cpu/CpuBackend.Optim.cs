using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using DeepSharp.Ops;

namespace DeepSharp.Backends.Cpu;

// The fused optimizer update: one pass over each parameter with its gradient and state.
internal sealed partial class CpuBackend
{
    public void Update<TOp>(IReadOnlyList<UpdateItem> items, TOp op) where TOp : struct, IUpdateOp
    {
        foreach (var u in items) Update(u, op);
    }

    private static void Update<TOp>(UpdateItem u, TOp op) where TOp : struct, IUpdateOp
    {
        if (u.P.DType == DType.Float64) { UpdateScalar<double, TOp>(u, op); return; }
        var ps = E(u.P); var gs = E(u.G); var ms = E(u.M); var vs = E(u.V); var ws = E(u.W);
        int pOffset = u.POffset, gOffset = u.GOffset;
        bool wide = Wide;
        CpuParallel.For(u.Count, 8, (lo, hi) =>
        {
            // Unchecked refs (the optimizer checked every shape); the parameter is written last: the states may alias g.
            ref float pr = ref Unsafe.Add(ref ps.Ref, pOffset), gr = ref Unsafe.Add(ref gs.Ref, gOffset);
            ref float mr = ref ms.Ref, vr = ref vs.Ref, wr = ref ws.Ref;
            int i = wide ? UpdateRun<TOp, Simd256, Vector256<float>>(ref pr, ref gr, ref mr, ref vr, ref wr, lo, hi, op)
                : UpdateRun<TOp, Simd128, Vector128<float>>(ref pr, ref gr, ref mr, ref vr, ref wr, lo, hi, op);
            for (; i < hi; i++)
            {
                var (np, nm, nv, nw) = op.Apply(Unsafe.Add(ref pr, i), Unsafe.Add(ref gr, i), Unsafe.Add(ref mr, i),
                    Unsafe.Add(ref vr, i), Unsafe.Add(ref wr, i));
                Unsafe.Add(ref mr, i) = nm; Unsafe.Add(ref vr, i) = nv; Unsafe.Add(ref wr, i) = nw; Unsafe.Add(ref pr, i) = np;
            }
        });
    }

    /// <summary>The update over [lo, hi) in whole vectors; returns where the tail starts.</summary>
    private static int UpdateRun<TOp, TS, TV>(ref float p, ref float g, ref float m, ref float v, ref float w, int lo, int hi, TOp op)
        where TOp : struct, IUpdateOp where TS : struct, ISimd<TV> where TV : struct
    {
        int i = lo, n = TS.Count;
        for (; i <= hi - n; i += n)
        {
            nuint k = (nuint)i;
            var (np, nm, nv, nw) = TS.Update(op, TS.Load(ref p, k), TS.Load(ref g, k), TS.Load(ref m, k), TS.Load(ref v, k),
                TS.Load(ref w, k));
            TS.Store(nm, ref m, k); TS.Store(nv, ref v, k); TS.Store(nw, ref w, k); TS.Store(np, ref p, k);
        }
        return i;
    }

    // Gradient norms: one partial per block of GradNormBlock elements (a fixed split, so the result does not depend on the
    // number of threads), each summed in double.
    private const int GradNormBlock = 16384;

    public int GradNormPartialCount(IReadOnlyList<GradNormItem> items) => items.Sum(u => (u.Count + GradNormBlock - 1) / GradNormBlock);

    public void GradNormPartials(IReadOnlyList<GradNormItem> items, Storage partials, float p)
    {
        var kind = GradNormTerm.Kind(p);
        var blocks = new List<(GradNormItem Item, int Start)>();
        foreach (var u in items) for (int s = 0; s < u.Count; s += GradNormBlock) blocks.Add((u, s));
        var output = partials.DType == DType.Float64 ? default : E(partials);
        CpuParallel.For(blocks.Count, GradNormBlock, (lo, hi) =>
        {
            for (int b = lo; b < hi; b++)
            {
                var (u, start) = blocks[b];
                bool x64 = u.X.DType == DType.Float64; // one dtype per call (ClipGrad), partials in it
                var x = x64 ? default : E(u.X);
                var xs64 = x64 ? Host<double>(u.X) : default;
                ref float xr = ref x64 ? ref Unsafe.NullRef<float>() : ref Unsafe.Add(ref x.Ref, u.Offset);
                ref double xd = ref x64 ? ref Unsafe.Add(ref xs64.Ref, u.Offset) : ref Unsafe.NullRef<double>();
                int end = Math.Min(u.Count, start + GradNormBlock);
                double acc = 0;
                for (int i = start; i < end; i++)
                {
                    double v = x64 ? Unsafe.Add(ref xd, i) : Unsafe.Add(ref xr, i);
                    acc = kind switch
                    {
                        GradNormKind.Two => acc + v * v,
                        GradNormKind.One => acc + Math.Abs(v),
                        GradNormKind.Inf => double.IsNaN(v) || Math.Abs(v) > acc ? Math.Abs(v) : acc,
                        _ => acc + Math.Pow(Math.Abs(v), p),
                    };
                    if (double.IsNaN(acc)) break; // NaN stays NaN (torch's norm of a NaN gradient)
                }
                if (x64) Host<double>(partials)[b] = acc;
                else Unsafe.Add(ref output.Ref, b) = (float)acc;
            }
        });
    }
}
