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

/// <summary>The host pool's cap: when it is full, the sizes returned longest ago are dropped for the newest, and an array
/// larger than the cap is never kept. It lowers the process-wide cap, so it runs alone.</summary>
[Collection("Serial")]
public class HostPoolCapTests
{
    [Fact]
    public void AFullPoolDropsTheSizesUsedLongestAgo()
    {
        // Lengths no other test uses (each + 16 floats of alignment padding), ~400 KB each; the cap holds two of them.
        int[] n = [100_003, 100_019, 100_043];
        long before = CpuArrayPool.CapBytes;
        CpuArrayPool.ReleaseCache();
        CpuArrayPool.CapBytes = 2L * 4 * (n[2] + 16) + 1024;
        try
        {
            Tensor.Zeros([n[0]]).Dispose();
            Tensor.Zeros([n[1]]).Dispose();
            Assert.Equal(1, CpuArrayPool.CachedCount(DType.Float32, n[0] + 16));
            Assert.Equal(1, CpuArrayPool.CachedCount(DType.Float32, n[1] + 16));
            // Use the first size again: the second is now the stalest, and the third size's return drops it.
            Tensor.Zeros([n[0]]).Dispose();
            Tensor.Zeros([n[2]]).Dispose();
            Assert.Equal(1, CpuArrayPool.CachedCount(DType.Float32, n[0] + 16));
            Assert.Equal(0, CpuArrayPool.CachedCount(DType.Float32, n[1] + 16));
            Assert.Equal(1, CpuArrayPool.CachedCount(DType.Float32, n[2] + 16));
            Assert.True(CpuArrayPool.CachedBytes <= CpuArrayPool.CapBytes, $"{CpuArrayPool.CachedBytes} bytes cached");
            // An array larger than the whole cap goes to the GC and drops nothing.
            Tensor.Zeros([3 * n[2]]).Dispose();
            Assert.Equal(0, CpuArrayPool.CachedCount(DType.Float32, 3 * n[2] + 16));
            Assert.Equal(1, CpuArrayPool.CachedCount(DType.Float32, n[0] + 16));
        }
        finally
        {
            CpuArrayPool.CapBytes = before;
            CpuArrayPool.ReleaseCache();
        }
    }
}
