using System.Runtime.InteropServices;
using DeepSharp.Backends;

namespace DeepSharp.Tests;

/// <summary>Host storage: element 0 on a 64-byte boundary (whole-cache-line vector loads), kept after the GC runs and
/// when arrays are reused from the pool; the padding in front never shows in the tensor.</summary>
public class CpuStorageTests
{
    private static unsafe long Misalignment(Tensor t)
    {
        var span = ((CpuStorage)t.Storage).Span<float>();
        fixed (float* p = span) return (long)p % 64;
    }

    [Fact]
    public void HostTensorsStartOnA64ByteBoundaryAndStayThere()
    {
        var sizes = new[] { 300, 1000, 4099, 70_000 };
        var tensors = sizes.Select(n => Tensor.Arange(n)).ToArray();
        foreach (var t in tensors) Assert.Equal(0, Misalignment(t));
        GC.Collect(2, GCCollectionMode.Forced, blocking: true, compacting: true);
        foreach (var t in tensors) Assert.Equal(0, Misalignment(t));
        for (int i = 0; i < sizes.Length; i++)
            Assert.Equal(Enumerable.Range(0, sizes[i]).Select(v => (float)v), tensors[i].ToArray<float>());

        // Disposed, their arrays serve the next tensors of the same sizes, each aligned again.
        foreach (var t in tensors) t.Dispose();
        var again = sizes.Select(n => Tensor.Full([n], 2f)).ToArray();
        foreach (var t in again) Assert.Equal(0, Misalignment(t));
        Assert.All(again, t => Assert.All(t.ToArray<float>(), v => Assert.Equal(2f, v)));
    }
}
