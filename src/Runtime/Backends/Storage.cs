namespace DeepSharp.Backends;

/// <summary>
/// A flat block of elements on one device. Tensors hold a reference; views share it. Device memory goes back to its pool
/// when the last tensor using it is disposed (or, as a safety net, when the storage is collected).
/// </summary>
public abstract class Storage
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

/// <summary>Elements in a managed array on the host, rented from <see cref="Cpu.CpuArrayPool"/> and returned on release.</summary>
internal sealed class CpuStorage : Storage
{
    public Array Data { get; }

    public CpuStorage(DType dtype, int count) : base(dtype, count)
    {
        Data = dtype switch
        {
            DType.Float32 => Cpu.CpuArrayPool.Rent<float>(count),
            DType.Float64 => Cpu.CpuArrayPool.Rent<double>(count),
            DType.Int32 => Cpu.CpuArrayPool.Rent<int>(count),
            _ => Cpu.CpuArrayPool.Rent<long>(count),
        };
    }

    /// <summary>Adopts <paramref name="data"/> as the storage (no copy); the caller gives up the array.</summary>
    public CpuStorage(DType dtype, Array data) : base(dtype, data.Length) => Data = data;

    public override Device Device => Device.Cpu;

    public Span<T> Span<T>() where T : unmanaged => ((T[])Data).AsSpan(0, Count);

    // Undisposed tensors are simply collected by the GC; disposed ones hand their array back for reuse.
    protected override void Free() => Cpu.CpuArrayPool.Return(DType, Data);
}
