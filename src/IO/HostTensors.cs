using System.Runtime.InteropServices;

namespace DeepSharp.IO;

/// <summary>Host tensors the readers fill straight from a file, with one allocation policy for both formats.</summary>
internal static class HostTensors
{
    /// <summary>
    /// An uninitialized CPU tensor to read into, in pooled, aligned host storage: a model that loads a file releases the
    /// loaded tensors (it keeps copies), so the next load reuses their arrays instead of allocating each time.
    /// </summary>
    public static Tensor Allocate(DType dtype, int[] shape) => Tensor.Empty(shape, dtype, Device.Cpu);

    /// <summary>A host tensor's elements as bytes (a view of its memory, no copy).</summary>
    public static Span<byte> Bytes(Tensor host) => host.DType switch
    {
        DType.Float32 => MemoryMarshal.AsBytes(host.AsSpan<float>()),
        DType.Float64 => MemoryMarshal.AsBytes(host.AsSpan<double>()),
        DType.Int32 => MemoryMarshal.AsBytes(host.AsSpan<int>()),
        DType.Int64 => MemoryMarshal.AsBytes(host.AsSpan<long>()),
        DType.Float16 => MemoryMarshal.AsBytes(host.AsSpan<Half>()),
        _ => MemoryMarshal.AsBytes(host.AsSpan<BFloat16>()),
    };
}
