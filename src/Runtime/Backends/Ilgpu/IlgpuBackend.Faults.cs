using ILGPU.Runtime;
using ILGPU.Runtime.Cuda;

namespace DeepSharp.Backends.Ilgpu;

// A failed device (RELIABILITY.md 13): every entry point enters through Enter (fail fast) and turns a failure the
// accelerator reports into DeviceFaultException through Fault.
internal sealed partial class IlgpuBackend
{
    // The first failure, wrapped; null while the device works.
    private DeviceFaultException? _fault;

    /// <summary>Enters the device's lock, or throws its recorded failure (nothing is launched on a failed device).</summary>
    private Lock.Scope Enter(string op)
    {
        var scope = _sync.EnterScope();
        if (Volatile.Read(ref _fault) is { } f) { scope.Dispose(); throw new DeviceFaultException(f, op); }
        return scope;
    }

    /// <summary>Whether the accelerator reported a failure of the device itself: one of CUDA's sticky errors, after which
    /// the context returns the same error from every call. Other errors (a bad launch configuration, out of memory, any
    /// OpenCL error) belong to the one call and pass through unchanged.</summary>
    private static bool IsDeviceFailure(AcceleratorException e) => e is CudaException c && IsStickyCudaError(c.Error);

    internal static bool IsStickyCudaError(string error) => error is nameof(CudaError.CUDA_ERROR_ILLEGAL_ADDRESS)
        or nameof(CudaError.CUDA_ERROR_LAUNCH_FAILED) or nameof(CudaError.CUDA_ERROR_ILLEGAL_INSTRUCTION)
        or nameof(CudaError.CUDA_ERROR_MISALIGNED_ADDRESS) or nameof(CudaError.CUDA_ERROR_INVALID_ADDRESS_SPACE)
        or nameof(CudaError.CUDA_ERROR_INVALID_PC) or nameof(CudaError.CUDA_ERROR_HARDWARE_STACK_ERROR)
        or nameof(CudaError.CUDA_ERROR_ASSERT) or nameof(CudaError.CUDA_ERROR_LAUNCH_TIMEOUT)
        or nameof(CudaError.CUDA_ERROR_ECC_UNCORRECTABLE) or nameof(CudaError.CUDA_ERROR_CONTEXT_IS_DESTROYED);

    /// <summary>Records <paramref name="e"/>, a failure the accelerator reported during <paramref name="op"/>, as this
    /// device's failure (the first one is kept) and returns the exception to throw.</summary>
    internal DeviceFaultException Fault(AcceleratorException e, string op)
    {
        Interlocked.CompareExchange(ref _fault, new DeviceFaultException(Device, op, e), null);
        return _fault!.InnerException == e ? _fault : new DeviceFaultException(_fault, op);
    }
}
