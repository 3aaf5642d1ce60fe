namespace DeepSharp;

public sealed partial class Tensor
{
    /// <summary>This tensor on <paramref name="device"/>: the same instance when it is already there, else a copy.</summary>
    /// <exception cref="ArgumentNullException">device is null.</exception>
    /// <exception cref="ArgumentException">The device does not exist on this machine.</exception>
    public Tensor To(Device device) => Check.NotNull(nameof(To), device, nameof(device)) == Device ? this : Copy(device);

    /// <summary>A dense copy on <paramref name="device"/> (always copies, even to the same device).</summary>
    /// <exception cref="ArgumentNullException">device is null.</exception>
    /// <exception cref="ArgumentException">The device does not exist on this machine.</exception>
    public Tensor Copy(Device device)
    {
        Check.NotNull(nameof(Copy), device, nameof(device));
        if (device == Device) return Clone();
        var src = IsContiguous && Layout.Offset == 0 ? this : Dense(copy: true);
        var dst = Allocate(Shape, DType, device);
        switch (DType)
        {
            case DType.Float32: Move<float>(src, dst); break;
            case DType.Float64: Move<double>(src, dst); break;
            case DType.Int32: Move<int>(src, dst); break;
            case DType.Int64: Move<long>(src, dst); break;
            default: Move<ushort>(src, dst); break; // Float16, BFloat16: their bits
        }
        if (!ReferenceEquals(src, this)) src.Dispose();
        var from = Device;
        return Autograd.Record(dst, "To", [this], g => [Grads.ToDevice(g, from)]);
    }

    // Between two devices the elements pass through host memory once (device → host → device).
    private static void Move<T>(Tensor src, Tensor dst) where T : unmanaged
    {
        var host = Backends.Cpu.CpuArrayPool.NewArray<T>(src.Count);
        src.Backend.Download<T>(src.Storage, host);
        dst.Backend.Upload<T>(host, dst.Storage);
    }

    /// <summary>This tensor converted to <paramref name="dtype"/> (the same instance when it already has it). Float → int
    /// truncates toward zero.</summary>
    /// <exception cref="ArgumentOutOfRangeException">dtype is not a <see cref="DType"/>.</exception>
    public Tensor To(DType dtype)
    {
        Check.Defined(nameof(To), dtype);
        if (dtype == DType) return this;
        var y = CopyInto(Allocate(Shape, dtype, Device));
        var from = DType;
        return dtype.IsFloat() ? Autograd.Record(y, "To", [this], g => [Grads.Cast(g, from)]) : y; // integers carry no gradient
    }
}
