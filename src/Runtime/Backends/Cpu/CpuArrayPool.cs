using System.Collections.Concurrent;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace DeepSharp.Backends.Cpu;

/// <summary>
/// Reuses host arrays of disposed tensors, keyed by element type and exact length (a training loop repeats the same
/// shapes), so steady-state ops allocate nothing. New arrays skip zeroing: every op writes all of its output.
/// The cache is capped; when it is full, the sizes returned longest ago are dropped first (left to the GC), so a loop's
/// current shapes are kept over those of an earlier phase (an evaluation at another batch size filled the cap and every
/// training step after it allocated afresh). An allocation that cannot be made (longer than a .NET array
/// can be, or refused by the runtime even after the cache is dropped) is a <see cref="DeviceOutOfMemoryException"/>
/// on <c>cpu</c>, the same error accelerators raise.
/// </summary>
internal static class CpuArrayPool
{
    /// <summary>Most bytes kept for reuse: an eighth of the memory the process may use, at least 512 MiB. A training step
    /// returns its whole working set at once (ResNet-18 on a batch of 32 28×28 images: ~650 MB); below that, every step
    /// allocated the excess afresh (see benchmarks/NOTES.md, 2026-12-02 third session). Settable for tests.</summary>
    public static long CapBytes { get; set; } = Math.Max(512L << 20, GC.GetGCMemoryInfo().TotalAvailableMemoryBytes / 8);
    private static readonly ConcurrentDictionary<(DType, int), Bucket> _free = new();
    private static long _cached, _clock;

    /// <summary>The cached arrays of one element type and length, and when one was last returned or taken.</summary>
    private sealed class Bucket
    {
        public readonly ConcurrentBag<Array> Arrays = new();
        public long LastUsed;
    }

    /// <summary>Bytes currently cached.</summary>
    public static long CachedBytes => Interlocked.Read(ref _cached);

    /// <summary>An array with room for <paramref name="count"/> elements from a 64-byte boundary, and the index of that
    /// boundary. Arrays of 1 KB or more are allocated pinned, so the boundary does not move.</summary>
    /// <exception cref="DeviceOutOfMemoryException">The array cannot be made.</exception>
    public static unsafe (T[] Array, int Base) RentAligned<T>(int count) where T : unmanaged
    {
        ArgumentOutOfRangeException.ThrowIfNegative(count);
        long wanted = (long)count + 64 / sizeof(T); // in 64 bits: count + pad wraps an int near int.MaxValue
        if (wanted > System.Array.MaxLength) throw TooLong<T>(count);
        int length = (int)wanted;
        T[]? a = null;
        if (_free.TryGetValue((DTypes.Of<T>(), length), out var bucket) && bucket.Arrays.TryTake(out var cached))
        {
            bucket.LastUsed = Interlocked.Increment(ref _clock);
            Interlocked.Add(ref _cached, -(long)length * sizeof(T));
            a = (T[])cached;
        }
        a ??= Allocate(length, static n => GC.AllocateUninitializedArray<T>(n, pinned: (long)n * sizeof(T) >= 1024));
        nint address = (nint)Unsafe.AsPointer(ref MemoryMarshal.GetArrayDataReference(a)); // arrays are 8-byte aligned
        return (a, (int)((64 - (address & 63)) & 63) / sizeof(T));
    }

    /// <summary>A new host array of <paramref name="count"/> elements (zeroed) for reading a tensor out, with the errors of
    /// <see cref="RentAligned{T}"/>.</summary>
    /// <exception cref="DeviceOutOfMemoryException">The array cannot be made.</exception>
    public static T[] NewArray<T>(int count) where T : unmanaged
    {
        ArgumentOutOfRangeException.ThrowIfNegative(count);
        if (count > System.Array.MaxLength) throw TooLong<T>(count);
        return Allocate(count, static n => new T[n]);
    }

    /// <summary>Tests only: this many of the next allocations on this thread fail as if the runtime were out of memory.</summary>
    [ThreadStatic] internal static int SimulatedFailures;

    /// <summary>Makes an array; when the runtime refuses, drops the cache, collects, and tries once more (as the device
    /// pools do).</summary>
    private static T[] Allocate<T>(int length, Func<int, T[]> make) where T : unmanaged
    {
        try { return Attempt(length, make); }
        catch (OutOfMemoryException)
        {
            ReleaseCache();
            GC.Collect(GC.MaxGeneration, GCCollectionMode.Aggressive, blocking: true, compacting: true);
            try { return Attempt(length, make); }
            catch (OutOfMemoryException second)
            {
                throw DeviceOutOfMemoryException.Host((long)length * Unsafe.SizeOf<T>(), second);
            }
        }
    }

    private static T[] Attempt<T>(int length, Func<int, T[]> make)
    {
        if (SimulatedFailures > 0)
        {
            SimulatedFailures--;
            throw new OutOfMemoryException("Simulated: the test asked this allocation to fail.");
        }
        return make(length);
    }

    private static DeviceOutOfMemoryException TooLong<T>(int count) where T : unmanaged
    {
        var why = $"{count} {typeof(T).Name} elements (with alignment padding) are more than the {System.Array.MaxLength} one .NET " +
            "array can hold, whatever memory is free; split the tensor or move it to an accelerator";
        return DeviceOutOfMemoryException.Host((long)count * Unsafe.SizeOf<T>(), new OutOfMemoryException(why), why);
    }

    /// <summary>Number of cached arrays of one element type and array length (for tests and diagnostics).</summary>
    public static int CachedCount(DType dtype, int length) => _free.TryGetValue((dtype, length), out var b) ? b.Arrays.Count : 0;

    /// <summary>Drops every cached array (they go to the GC).</summary>
    public static void ReleaseCache()
    {
        foreach (var (key, bucket) in _free)
            while (bucket.Arrays.TryTake(out var a)) Interlocked.Add(ref _cached, -(long)a.Length * key.Item1.SizeOf());
    }

    public static void Return(DType dtype, Array a)
    {
        long bytes = (long)a.Length * dtype.SizeOf();
        if (a.Length == 0 || bytes > CapBytes) return;
        var key = (dtype, a.Length);
        var bucket = _free.GetOrAdd(key, _ => new());
        bucket.LastUsed = Interlocked.Increment(ref _clock);
        while (Interlocked.Add(ref _cached, bytes) > CapBytes)
        {
            Interlocked.Add(ref _cached, -bytes);
            if (!DropStalest(key)) return; // nothing else cached: this one goes to the GC
        }
        bucket.Arrays.Add(a);
    }

    /// <summary>Drops one array of the size used longest ago (other than <paramref name="keep"/>); false when there is none.</summary>
    private static bool DropStalest((DType, int) keep)
    {
        KeyValuePair<(DType, int), Bucket>? stalest = null;
        foreach (var entry in _free)
            if (entry.Key != keep && !entry.Value.Arrays.IsEmpty
                && (stalest is null || entry.Value.LastUsed < stalest.Value.Value.LastUsed))
                stalest = entry;
        if (stalest is not { } s || !s.Value.Arrays.TryTake(out var old)) return false;
        Interlocked.Add(ref _cached, -(long)old.Length * s.Key.Item1.SizeOf());
        return true;
    }
}
