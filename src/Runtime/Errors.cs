namespace DeepSharp;

/// <summary>An operation received tensors on different devices. Nothing was launched and nothing was copied.</summary>
public sealed class DeviceMismatchException(string message) : InvalidOperationException(message);

/// <summary>Argument checks shared by the operations; every message names the op and what it found.</summary>
internal static class Check
{
    public static void SameDevice(string op, Tensor a, string nameA, Tensor b, string nameB)
    {
        if (a.Device != b.Device)
            throw new DeviceMismatchException($"{op}: argument '{nameB}' is on {b.Device} but argument '{nameA}' is on {a.Device}. " +
                "Operations never copy between devices; move one with .To(device) first.");
    }

    public static void Float32(string op, Tensor t, string name)
    {
        if (t.DType != DType.Float32)
            throw new NotSupportedException($"{op}: argument '{name}' has dtype {t.DType.Name()}, but {op} computes on float32. " +
                "Convert it with .To(DType.Float32).");
    }

    /// <summary>numpy broadcasting: align from the right; each pair of dims must be equal or contain a 1.</summary>
    public static int[] Broadcast(string op, int[] a, int[] b)
    {
        int rank = Math.Max(a.Length, b.Length);
        var shape = new int[rank];
        for (int i = 0; i < rank; i++)
        {
            int da = i < rank - a.Length ? 1 : a[i - (rank - a.Length)];
            int db = i < rank - b.Length ? 1 : b[i - (rank - b.Length)];
            if (da != db && da != 1 && db != 1)
                throw new ArgumentException($"{op}: shapes {Layout.Format(a)} and {Layout.Format(b)} cannot be broadcast together: " +
                    $"dim {i - rank} is {da} in the first and {db} in the second (each pair must be equal or contain a 1).");
            shape[i] = da == 1 ? db : da;
        }
        return shape;
    }
}

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
