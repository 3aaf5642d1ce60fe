using System.Numerics;
using System.Collections.Concurrent;
using ILGPU;
using ILGPU.Runtime;
using ILGPU.Runtime.Cuda;

namespace DeepSharp.Backends.Ilgpu;

/// <summary>
/// A caching allocator for one accelerator (ILGPU 1.5.3 has no memory pool). Freed buffers are kept by size class and
/// reused; all work runs on one in-order stream, so a buffer handed out again is never overwritten while an earlier kernel
/// still reads it. On allocation failure the cache is released and the allocation retried once.
/// </summary>
internal sealed class DevicePool(Accelerator accelerator, Device device)
{
    private readonly Dictionary<long, Stack<MemoryBuffer1D<byte, Stride1D.Dense>>> _free = new();
    private readonly ConcurrentQueue<MemoryBuffer1D<byte, Stride1D.Dense>> _returned = new();
    // Rented buffers stay strongly referenced here: ILGPU buffers have finalizers of their own, and a buffer reachable only
    // from a collected storage would otherwise be freed by ILGPU in the same GC in which our storage returns it to the pool.
    private readonly HashSet<MemoryBuffer1D<byte, Stride1D.Dense>> _rented = new(ReferenceEqualityComparer.Instance);
    private readonly Lock _lock = new();

    /// <summary>Bytes held in the cache, ready for reuse.</summary>
    public long CachedBytes { get; private set; }
    private long _inUse, _peak;

    /// <summary>Most bytes in use at once since creation or the last <see cref="ResetPeak"/>.</summary>
    public long PeakBytes
    {
        get { lock (_lock) return _peak; }
    }

    /// <summary>Starts peak tracking again from the bytes in use now.</summary>
    public void ResetPeak()
    {
        lock (_lock) { DrainReturned(); _peak = _inUse; }
    }

    /// <summary>Bytes handed out and not yet returned (counting returns queued by finalizers).</summary>
    public long InUseBytes
    {
        get { lock (_lock) { DrainReturned(); return _inUse; } }
    }

    /// <summary>Size classes: 256-byte multiples up to 1 MiB rounded to powers of two, then whole MiB.</summary>
    public static long SizeClass(long bytes)
    {
        if (bytes <= 256) return 256;
        if (bytes <= 1 << 20) return (long)BitOperations.RoundUpToPowerOf2((ulong)bytes);
        return (bytes + (1 << 20) - 1) & ~((1L << 20) - 1);
    }

    public MemoryBuffer1D<byte, Stride1D.Dense> Rent(long bytes)
    {
        long size = SizeClass(bytes);
        lock (_lock)
        {
            DrainReturned();
            if (_free.TryGetValue(size, out var stack) && stack.Count > 0)
            {
                CachedBytes -= size; _inUse += size; _peak = Math.Max(_peak, _inUse);
                var reused = stack.Pop();
                _rented.Add(reused);
                return reused;
            }
            MemoryBuffer1D<byte, Stride1D.Dense> buffer;
            try { buffer = accelerator.Allocate1D<byte>(size); }
            catch (Exception first) when (first is not DeviceOutOfMemoryException && IsOutOfMemory(first))
            {
                // Give back everything cached (and anything the GC is about to return), then try once more.
                ReleaseCache();
                GC.Collect(); GC.WaitForPendingFinalizers();
                DrainReturned(); ReleaseCache();
                try { buffer = accelerator.Allocate1D<byte>(size); }
                catch (Exception second) when (IsOutOfMemory(second))
                {
                    var (free, total) = MemoryInfo();
                    throw new DeviceOutOfMemoryException(device, size, free, total, _inUse, second);
                }
            }
            _inUse += size; _peak = Math.Max(_peak, _inUse);
            _rented.Add(buffer);
            return buffer;
        }
    }

    /// <summary>Whether a failed allocation is reported as out of memory: every failure except a sticky CUDA error left by
    /// an earlier kernel (an illegal address…), which the backend reports as a <see cref="DeviceFaultException"/>.</summary>
    private static bool IsOutOfMemory(Exception e) => !(e is ILGPU.Runtime.Cuda.CudaException c && IlgpuBackend.IsStickyCudaError(c.Error));

    /// <summary>Number of cached buffers of one size class (for tests and diagnostics).</summary>
    public int CachedCount(long sizeClass)
    {
        lock (_lock)
        {
            DrainReturned();
            return _free.TryGetValue(sizeClass, out var s) ? s.Count : 0;
        }
    }

    /// <summary>Returns a buffer to the cache; safe to call from a finalizer thread (it only enqueues).</summary>
    public void Return(MemoryBuffer1D<byte, Stride1D.Dense> buffer) => _returned.Enqueue(buffer);

    private void DrainReturned()
    {
        while (_returned.TryDequeue(out var b))
        {
            _rented.Remove(b);
            long size = b.LengthInBytes;
            if (!_free.TryGetValue(size, out var stack)) _free[size] = stack = new();
            stack.Push(b);
            CachedBytes += size; _inUse -= size;
        }
    }

    /// <summary>Frees every cached buffer back to the device.</summary>
    public void ReleaseCache()
    {
        lock (_lock)
        {
            foreach (var stack in _free.Values) while (stack.Count > 0) stack.Pop().Dispose();
            CachedBytes = 0;
        }
    }

    /// <summary>Free and total device memory in bytes (free is -1 where the backend cannot tell).</summary>
    public (long Free, long Total) MemoryInfo()
    {
        if (accelerator is CudaAccelerator)
        {
            using var _ = accelerator.BindScoped();
            if (CudaAPI.CurrentAPI.GetMemoryInfo(out long free, out long total) == CudaError.CUDA_SUCCESS) return (free, total);
        }
        return (-1, accelerator.MemorySize);
    }
}
