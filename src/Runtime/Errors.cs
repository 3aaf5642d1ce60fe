namespace DeepSharp;

/// <summary>An operation received tensors on different devices. Nothing was launched and nothing was copied.</summary>
public sealed class DeviceMismatchException(string message) : InvalidOperationException(message);

/// <summary>
/// A device failed (a kernel faulted, e.g. with an illegal memory access, or the driver reported a lost context). Its
/// context cannot be used again in this process (CUDA's errors are sticky): every later operation on the device throws
/// this exception at once, with the same <see cref="Exception.InnerException"/>, instead of launching. Other devices and
/// files saved before are unaffected; restart the process to use the device again.
/// </summary>
public sealed class DeviceFaultException : InvalidOperationException
{
    internal DeviceFaultException(Device device, string detectedIn, Exception cause)
        : base($"{device} failed during {detectedIn}: {Describe(cause)}. A kernel on {device} faulted, so its context is unusable " +
               $"until the process restarts; every later operation on {device} fails with this error. Other devices are unaffected.", cause)
    {
        Device = device;
        DetectedIn = detectedIn;
    }

    internal DeviceFaultException(DeviceFaultException first, string op)
        : base($"{op} on {first.Device}: the device failed earlier (during {first.DetectedIn}: {Describe(first.InnerException!)}) and " +
               $"cannot run anything until the process restarts.", first.InnerException)
    {
        Device = first.Device;
        DetectedIn = first.DetectedIn;
    }

    /// <summary>The device that failed.</summary>
    public Device Device { get; }

    private static string Describe(Exception cause) =>
        cause is ILGPU.Runtime.Cuda.CudaException c ? $"{c.Error}, \"{c.Message.TrimEnd('.')}\"" : cause.Message.TrimEnd('.');

    /// <summary>The operation during which the failure showed (a launch, a copy or a synchronize; kernels run asynchronously,
    /// so the faulting kernel may be an earlier one).</summary>
    public string DetectedIn { get; }
}

/// <summary>
/// An allocation failed even after the allocator released its cache: on an accelerator, or on <c>cpu</c> when the runtime
/// refuses the host array (or it would be longer than a .NET array can be). The device stays usable.
/// </summary>
public sealed class DeviceOutOfMemoryException : Exception
{
    internal DeviceOutOfMemoryException(Device device, long requested, long free, long total, long inUse, Exception inner,
        string? why = null)
        : base(why is not null ? $"Out of memory on {device}: {why} ({Bytes(free)} of {Bytes(total)} free)."
               : $"Out of memory on {device}: tried to allocate {Bytes(requested)} with {(free < 0 ? "unknown" : Bytes(free))} free of " +
               $"{Bytes(total)}{(inUse < 0 ? "" : $" ({Bytes(inUse)} held by live tensors)")}. Free tensors you no longer need " +
               $"(Dispose), use smaller batches, or move work to another device. Cause: {inner.Message}", inner)
    {
        Device = device;
        RequestedBytes = requested;
        FreeBytes = free;
        TotalBytes = total;
    }

    /// <summary>The host's version: free and total memory as the GC sees them (its limit, the machine's, or a container's).</summary>
    internal static DeviceOutOfMemoryException Host(long requested, Exception inner, string? why = null)
    {
        var info = GC.GetGCMemoryInfo();
        long total = info.TotalAvailableMemoryBytes;
        return new DeviceOutOfMemoryException(Device.Cpu, requested, Math.Max(0, total - info.MemoryLoadBytes), total, -1, inner, why);
    }

    /// <summary>The device that ran out.</summary>
    public Device Device { get; }
    /// <summary>Bytes requested (after size-class rounding on accelerators).</summary>
    public long RequestedBytes { get; }
    /// <summary>Free bytes on the device when the allocation failed (-1 where the backend cannot tell).</summary>
    public long FreeBytes { get; }
    /// <summary>The device's total bytes.</summary>
    public long TotalBytes { get; }

    private static string Bytes(long b) =>
        b >= 1 << 30 ? $"{b / (double)(1 << 30):F2} GiB" : b >= 1 << 20 ? $"{b / (double)(1 << 20):F1} MiB" : $"{b} B";
}
