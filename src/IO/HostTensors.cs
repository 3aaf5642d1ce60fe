using System.Runtime.InteropServices;
using DeepSharp.Backends;

namespace DeepSharp.IO;

/// <summary>Host tensors the readers fill straight from a file, with one allocation policy for both formats.</summary>
internal static class HostTensors
{
    /// <summary>
    /// An uninitialized CPU tensor to read into. Large ones take pooled, aligned host storage: a model that loads a file
    /// releases the loaded tensors (it keeps copies), so the next load reuses their arrays instead of allocating on the
    /// large-object heap each time. Small ones get an exact array (the pool pads each by 64 bytes for alignment, which only
    /// large tensors use), and empty ones share the one empty array.
    /// </summary>
    public static Tensor Allocate(DType dtype, int[] shape)
    {
        int count = Layout.Numel(shape);
        long bytes = (long)count * dtype.SizeOf();
        if (bytes >= 1024) return Tensor.Empty(shape, dtype, Device.Cpu);
        return dtype switch
        {
            DType.Float32 => Exact<float>(count, shape),
            DType.Float64 => Exact<double>(count, shape),
            DType.Int32 => Exact<int>(count, shape),
            _ => Exact<long>(count, shape),
        };
    }

    private static Tensor Exact<T>(int count, int[] shape) where T : unmanaged =>
        Tensor.Adopt(count == 0 ? Array.Empty<T>() : GC.AllocateUninitializedArray<T>(count), shape);

    /// <summary>A host tensor's elements as bytes (a view of its storage).</summary>
    public static Span<byte> Bytes(Tensor host) => host.DType switch
    {
        DType.Float32 => MemoryMarshal.AsBytes(((CpuStorage)host.Storage).Span<float>()),
        DType.Float64 => MemoryMarshal.AsBytes(((CpuStorage)host.Storage).Span<double>()),
        DType.Int32 => MemoryMarshal.AsBytes(((CpuStorage)host.Storage).Span<int>()),
        _ => MemoryMarshal.AsBytes(((CpuStorage)host.Storage).Span<long>()),
    };

    /// <summary>A float32 host tensor's elements.</summary>
    public static Span<float> Floats(Tensor host) => ((CpuStorage)host.Storage).Span<float>();
}
