using DeepSharp.Backends.Cpu;
using DeepSharp.Backends.Ilgpu;

namespace DeepSharp.Tests;

/// <summary>
/// Host allocations refused by the runtime: the CPU pool drops its cache and retries once, as the device pools do, and then
/// raises the accelerators' <see cref="DeviceOutOfMemoryException"/> naming requested, free and total bytes. The refusals
/// are simulated on the test's thread (a real one would need gigabytes on a shared machine).
/// </summary>
public class HostMemoryTests
{
    [Fact]
    public void ARefusedAllocationIsRetriedOnceAfterTheCacheIsDropped()
    {
        // A length no other test uses, so the cached count below is this test's alone.
        const int n = 123_457, length = n + 16; // 16 floats of alignment padding
        CpuArrayPool.ReleaseCache(); // below its cap, so the array disposed next is cached
        Tensor.Zeros([n]).Dispose();
        Assert.Equal(1, CpuArrayPool.CachedCount(DType.Float32, length));
        try
        {
            CpuArrayPool.SimulatedFailures = 1;
            var t = Tensor.Full([n + 1], 3); // a length the cache cannot serve: allocated, refused once, retried
            Assert.Equal(0, CpuArrayPool.SimulatedFailures);
            Assert.Equal(0, CpuArrayPool.CachedCount(DType.Float32, length)); // the cache was dropped before the retry
            Assert.All(t.ToArray<float>(), v => Assert.Equal(3f, v));
        }
        finally { CpuArrayPool.SimulatedFailures = 0; }
    }

    [Fact]
    public void ARefusalThatPersistsIsDeviceOutOfMemoryNamingTheBytes()
    {
        try
        {
            CpuArrayPool.SimulatedFailures = 2;
            var e = Assert.Throws<DeviceOutOfMemoryException>(() => Tensor.Zeros([1000, 1000], DType.Float64));
            Assert.Equal(Device.Cpu, e.Device);
            Assert.InRange(e.RequestedBytes, 8_000_000, 8_000_064); // the elements and the alignment padding
            Assert.True(e.TotalBytes > 0 && e.FreeBytes >= 0 && e.FreeBytes <= e.TotalBytes, $"free {e.FreeBytes}, total {e.TotalBytes}");
            Assert.Contains("Out of memory on cpu: tried to allocate 7.6 MiB", e.Message);
            Assert.Contains("free of", e.Message);
            Assert.IsType<OutOfMemoryException>(e.InnerException);
            Assert.Equal(0, CpuArrayPool.SimulatedFailures);

            var x = Tensor.Ones(4);
            CpuArrayPool.SimulatedFailures = 2; // reading a tensor out to a host array fails the same way
            Assert.Throws<DeviceOutOfMemoryException>(() => x.ToArray<float>());
        }
        finally { CpuArrayPool.SimulatedFailures = 0; }
        Assert.Equal(4f, Tensor.Ones(4).Sum().Item()); // the CPU still computes after the failure
    }
}
