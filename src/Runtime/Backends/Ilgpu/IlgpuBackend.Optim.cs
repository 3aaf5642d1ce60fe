using System.Numerics;
using DeepSharp.Ops;
using ILGPU;
using ILGPU.Runtime;

namespace DeepSharp.Backends.Ilgpu;

// Launches of the fused optimizer update (Kernels.Optim.cs), four parameters at a time.
internal sealed partial class IlgpuBackend
{
    public void Update<TOp>(IReadOnlyList<UpdateItem> items, TOp op) where TOp : struct, IUpdateOp
    {
        using var scope = Enter(nameof(Update));
        try
        {
            if (items.Count == 0) return;
            if (items[0].P.DType == DType.Float64) Update<double, TOp>(items, op); // one dtype per call (Optimizer.Launch)
            else Update<float, TOp>(items, op);
        }
        catch (AcceleratorException e) when (IsDeviceFailure(e)) { throw Fault(e, nameof(Update)); }
    }

    private void Update<T, TOp>(IReadOnlyList<UpdateItem> items, TOp op) where T : unmanaged where TOp : struct, IUpdateOp<T>
    {
        for (int start = 0; start < items.Count; start += 4)
        {
            // Up to four parameters per launch; unused slots repeat the last one with an empty range.
            var s = new UpdateSlots<T>();
            int end = 0;
            for (int k = 0; k < 4; k++)
            {
                var u = items[Math.Min(start + k, items.Count - 1)];
                if (start + k < items.Count) end += u.Count;
                s.Set(k, V<T>(u.P), u.POffset, V<T>(u.G), u.GOffset, V<T>(u.M), V<T>(u.V), V<T>(u.W), end);
            }
            if (end == 0) continue;
            _launches++;
            UpdateK<T, TOp>()(end, s, op);
        }
    }

    /// <summary>Threads of one norm launch (each folds a strided share of up to four gradients).</summary>
    private const int GradNormThreads = 2048;

    public int GradNormPartialCount(IReadOnlyList<GradNormItem> items) => (items.Count + 3) / 4 * GradNormThreads;

    public void GradNormPartials(IReadOnlyList<GradNormItem> items, Storage partials, float p)
    {
        using var scope = Enter(nameof(GradNormPartials));
        try
        {
            if (partials.DType == DType.Float64) GradNormPartials<double>(items, partials, p, p); // one dtype per call (ClipGrad)
            else GradNormPartials<float>(items, partials, p, p);
        }
        catch (AcceleratorException e) when (IsDeviceFailure(e)) { throw Fault(e, nameof(GradNormPartials)); }
    }

    private void GradNormPartials<T>(IReadOnlyList<GradNormItem> items, Storage partials, float p, T pT)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        var args = new GradNormArgs { Kind = GradNormTerm.Kind(p), Threads = GradNormThreads };
        for (int start = 0; start < items.Count; start += 4, args.Base += GradNormThreads)
        {
            // Unused slots repeat the last item with an empty range; an all-empty launch still writes its zeros.
            var s = new GradNormSlots<T>();
            int end = 0;
            for (int k = 0; k < 4; k++)
            {
                var u = items[Math.Min(start + k, items.Count - 1)];
                if (start + k < items.Count) end += u.Count;
                s.Set(k, V<T>(u.X), u.Offset, end);
            }
            _launches++;
            GradNormPartialsK<T>()(GradNormThreads, s, V<T>(partials), args, pT);
        }
    }

    private Action<Index1D, GradNormSlots<T>, ArrayView<T>, GradNormArgs, T> GradNormPartialsK<T>()
        where T : unmanaged, IFloatingPointIeee754<T> =>
        Compiled("gradNormPartials", typeof(T), null, static b =>
            b.Accelerator.LoadAutoGroupedStreamKernel<Index1D, GradNormSlots<T>, ArrayView<T>, GradNormArgs, T>(Kernels.GradNormPartials));

    private Action<Index1D, UpdateSlots<T>, TOp> UpdateK<T, TOp>() where T : unmanaged where TOp : struct, IUpdateOp<T> =>
        Compiled("update", typeof(TOp), typeof(T),
            static b => b.Accelerator.LoadAutoGroupedStreamKernel<Index1D, UpdateSlots<T>, TOp>(Kernels.Update<T, TOp>));
}
