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
