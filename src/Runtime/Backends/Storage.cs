using System.Runtime.CompilerServices;

namespace DeepSharp.Backends;

/// <summary>
/// A flat block of elements on one device. Tensors hold a reference; views share it. Device memory goes back to its pool
/// when the last tensor using it is disposed (or, as a safety net, when the storage is collected).
/// </summary>
internal abstract class Storage
{
    private int _refs;

    /// <summary>The device the elements live on.</summary>
    public abstract Device Device { get; }
    /// <summary>Element type.</summary>
    public DType DType { get; }
    /// <summary>Number of elements.</summary>
    public int Count { get; }

    /// <summary>Incremented by every in-place write (autograd refuses gradients computed from overwritten values).</summary>
    public int Version { get; private set; }

    internal void Bump() => Version++;

    /// <summary>Records the element type and count.</summary>
    protected Storage(DType dtype, int count) { DType = dtype; Count = count; }

    internal void AddRef() => Interlocked.Increment(ref _refs);

    /// <summary>Number of live tensors (views included) on this storage.</summary>
    internal int RefCount => Volatile.Read(ref _refs);

    internal void Release()
    {
        if (Interlocked.Decrement(ref _refs) == 0) Free();
    }

    /// <summary>Returns the memory to its owner; called once, when the last reference is released.</summary>
    protected abstract void Free();
}

/// <summary>
/// Elements in a managed array on the host, rented from <see cref="Cpu.CpuArrayPool"/> and returned on release. Element 0
/// sits <see cref="Base"/> elements into the array, at a 64-byte boundary: a Vector512 load across two cache lines costs
/// two (see benchmarks/NOTES.md, "Moved from code comments").
/// Arrays of 1 KB or more are pinned, so the boundary stays; smaller ones may be moved by the GC (still correct, maybe
/// unaligned). Empty storages share the empty array.
/// </summary>
internal sealed class CpuStorage : Storage
{
    private readonly Array _data;

    /// <summary>The array's index of element 0.</summary>
    public int Base { get; }

    public CpuStorage(DType dtype, int count) : base(dtype, count)
    {
        (_data, Base) = dtype switch
        {
            DType.Float32 => Aligned<float>(count),
            DType.Float64 => Aligned<double>(count),
            DType.Int32 => Aligned<int>(count),
            DType.Int64 => Aligned<long>(count),
            DType.Float16 => Aligned<Half>(count),
            _ => Aligned<BFloat16>(count),
        };
    }

    // An empty tensor holds no elements: it shares the one empty array (which the pool never takes back).
    private static (Array, int) Aligned<T>(int count) where T : unmanaged =>
        count == 0 ? (Array.Empty<T>(), 0) : Cpu.CpuArrayPool.RentAligned<T>(count);

    public override Device Device => Device.Cpu;

    /// <summary>The elements as an indexable handle (element i is array[Base + i]) that lambdas can capture.</summary>
    public Cpu.HostElements<T> Elements<T>() where T : unmanaged => new(Elems<T>(), Base);

    public Span<T> Span<T>() where T : unmanaged => Elems<T>().AsSpan(Base, Count);

    /// <summary>The array as T[]: its own type, or the ushort bits of a Half or BFloat16 array (the same size, no references;
    /// the backends compute on the bits, the host API hands out Half and BFloat16).</summary>
    private T[] Elems<T>() where T : unmanaged
    {
        if (_data is T[] a) return a;
        if (typeof(T) == typeof(ushort) && DType is DType.Float16 or DType.BFloat16) return Unsafe.As<T[]>(_data);
        throw new InvalidCastException($"A {DType.Name()} storage holds no {typeof(T).Name} elements.");
    }

    // Undisposed tensors are simply collected by the GC; disposed ones hand their array back for reuse.
    protected override void Free() => Cpu.CpuArrayPool.Return(DType, _data);
}
