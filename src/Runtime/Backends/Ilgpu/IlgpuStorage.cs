using ILGPU;
using ILGPU.Runtime;

namespace DeepSharp.Backends.Ilgpu;

/// <summary>Elements in a pooled device buffer of an ILGPU accelerator.</summary>
internal sealed class IlgpuStorage : Storage
{
    private readonly DevicePool _pool;
    private MemoryBuffer1D<byte, Stride1D.Dense>? _buffer;

    public IlgpuStorage(Device device, DevicePool pool, DType dtype, int count) : base(dtype, count)
    {
        Device = device;
        _pool = pool;
        _buffer = pool.Rent(Math.Max((long)count * dtype.SizeOf(), 1));
    }

    public override Device Device { get; }

    /// <summary>The elements as a typed view of exactly <see cref="Storage.Count"/> elements.</summary>
    public ArrayView<T> View<T>() where T : unmanaged
    {
        var b = _buffer
            ?? throw new ObjectDisposedException(nameof(Tensor), "This tensor's device memory was already released (Dispose was called).");
        return b.View.AsContiguous().SubView(0, (long)Count * DType.SizeOf()).Cast<T>();
    }

    protected override void Free()
    {
        var b = Interlocked.Exchange(ref _buffer, null);
        if (b != null) { _pool.Return(b); GC.SuppressFinalize(this); }
    }

    // Safety net for tensors that were never disposed: hand the buffer back to the pool (no device call on this thread).
    ~IlgpuStorage() => Free();
}
