using System.Collections.Concurrent;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace DeepSharp.Backends.Cpu;

/// <summary>
/// Reuses host arrays of disposed tensors, keyed by element type and exact length (a training loop repeats the same
/// shapes), so steady-state ops allocate nothing. New arrays skip zeroing: every op writes all of its output.
/// The cache is capped; beyond it arrays are left to the GC.
/// </summary>
internal static class CpuArrayPool
{
    /// <summary>Most bytes kept for reuse.</summary>
    public const long CapBytes = 512L << 20;
    private static readonly ConcurrentDictionary<(DType, int), ConcurrentBag<Array>> _free = new();
    private static long _cached;

    /// <summary>Bytes currently cached.</summary>
    public static long CachedBytes => Interlocked.Read(ref _cached);

    /// <summary>An array with room for <paramref name="count"/> elements from a 64-byte boundary, and the index of that
    /// boundary. Arrays of 1 KB or more are allocated pinned, so the boundary does not move.</summary>
    public static unsafe (T[] Array, int Base) RentAligned<T>(int count) where T : unmanaged
    {
        int pad = 64 / sizeof(T), length = count + pad;
        T[]? a = null;
        if (_free.TryGetValue((DTypes.Of<T>(), length), out var bag) && bag.TryTake(out var cached))
        {
            Interlocked.Add(ref _cached, -(long)length * sizeof(T));
            a = (T[])cached;
        }
        a ??= GC.AllocateUninitializedArray<T>(length, pinned: (long)length * sizeof(T) >= 1024);
        nint address = (nint)Unsafe.AsPointer(ref MemoryMarshal.GetArrayDataReference(a)); // arrays are 8-byte aligned
        return (a, (int)((64 - (address & 63)) & 63) / sizeof(T));
    }

    public static void Return(DType dtype, Array a)
    {
        long bytes = (long)a.Length * dtype.SizeOf();
        if (a.Length == 0) return;
        if (Interlocked.Add(ref _cached, bytes) > CapBytes) { Interlocked.Add(ref _cached, -bytes); return; }
        _free.GetOrAdd((dtype, a.Length), _ => new()).Add(a);
    }
}
