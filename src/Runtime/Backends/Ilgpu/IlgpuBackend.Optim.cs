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
            for (int start = 0; start < items.Count; start += 4)
            {
                // Up to four parameters per launch; unused slots repeat the last one with an empty range.
                var s = new UpdateSlots();
                int end = 0;
                for (int k = 0; k < 4; k++)
                {
                    var u = items[Math.Min(start + k, items.Count - 1)];
                    if (start + k < items.Count) end += u.Count;
                    s.Set(k, V<float>(u.P), u.POffset, V<float>(u.G), u.GOffset, V<float>(u.M), V<float>(u.V), V<float>(u.W), end);
                }
                if (end == 0) continue;
                _launches++;
                UpdateK<TOp>()(end, s, op);
            }
        }
        catch (AcceleratorException e) when (IsDeviceFailure(e)) { throw Fault(e, nameof(Update)); }
    }

    /// <summary>Threads of one norm launch (each folds a strided share of up to four gradients).</summary>
    private const int GradNormThreads = 2048;

    public int GradNormPartialCount(IReadOnlyList<GradNormItem> items) => (items.Count + 3) / 4 * GradNormThreads;

    public void GradNormPartials(IReadOnlyList<GradNormItem> items, Storage partials, float p)
    {
        using var scope = Enter(nameof(GradNormPartials));
        try
        {
            var args = new GradNormArgs { Kind = GradNormTerm.Kind(p), P = p, Threads = GradNormThreads };
            for (int start = 0; start < items.Count; start += 4, args.Base += GradNormThreads)
            {
                // Unused slots repeat the last item with an empty range; an all-empty launch still writes its zeros.
                var s = new GradNormSlots();
                int end = 0;
                for (int k = 0; k < 4; k++)
                {
                    var u = items[Math.Min(start + k, items.Count - 1)];
                    if (start + k < items.Count) end += u.Count;
                    s.Set(k, V<float>(u.X), u.Offset, end);
                }
                _launches++;
                GradNormPartialsK()(GradNormThreads, s, V<float>(partials), args);
            }
        }
        catch (AcceleratorException e) when (IsDeviceFailure(e)) { throw Fault(e, nameof(GradNormPartials)); }
    }
}
