using System.Collections.Concurrent;

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

    public static T[] Rent<T>(int length) where T : unmanaged
    {
        if (length > 0 && _free.TryGetValue((DTypes.Of<T>(), length), out var bag) && bag.TryTake(out var a))
        {
            Interlocked.Add(ref _cached, -(long)length * DTypes.Of<T>().SizeOf());
            return (T[])a;
        }
        return GC.AllocateUninitializedArray<T>(length);
    }

    public static void Return(DType dtype, Array a)
    {
        long bytes = (long)a.Length * dtype.SizeOf();
        if (a.Length == 0) return;
        if (Interlocked.Add(ref _cached, bytes) > CapBytes) { Interlocked.Add(ref _cached, -bytes); return; }
        _free.GetOrAdd((dtype, a.Length), _ => new()).Add(a);
    }
}
