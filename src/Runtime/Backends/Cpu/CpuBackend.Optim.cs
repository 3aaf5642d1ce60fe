using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using DeepSharp.Ops;

namespace DeepSharp.Backends.Cpu;

// The fused optimizer update: one pass over each parameter with its gradient and state.
internal sealed partial class CpuBackend
{
    public void Update<TOp>(IReadOnlyList<UpdateItem> items, TOp op) where TOp : struct, IUpdateOp
    {
        foreach (var u in items) Update(u.P, u.POffset, u.G, u.GOffset, u.M, u.V, u.Count, op);
    }

    private static void Update<TOp>(Storage p, int pOffset, Storage g, int gOffset, Storage m, Storage v, int count, TOp op)
        where TOp : struct, IUpdateOp
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
}
