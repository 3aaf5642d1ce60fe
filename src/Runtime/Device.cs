using DeepSharp.Backends;

namespace DeepSharp;

/// <summary>What executes a device's work.</summary>
public enum DeviceKind
{
    /// <summary>The managed host backend (SIMD loops, multi-threaded, blocked GEMM).</summary>
    Cpu,
    /// <summary>An NVIDIA GPU through ILGPU's CUDA backend.</summary>
    Cuda,
    /// <summary>An OpenCL 2.0+ device through ILGPU's OpenCL backend.</summary>
    OpenCL,
    /// <summary>ILGPU's CPU accelerator: runs the exact GPU kernels, one OS thread per lane. Slow; for tests.</summary>
    IlgpuCpu,
}

/// <summary>
/// A place where tensors live and compute: <c>cpu</c>, <c>cuda:0</c>, <c>opencl:0</c> or <c>ilgpu-cpu</c>. A device value is
/// only a name; it is checked against the machine when a tensor is first created on it.
/// </summary>
public sealed class Device : IEquatable<Device>
{
    private Device(DeviceKind kind, int index) { Kind = kind; Index = index; }

    /// <summary>Backend kind.</summary>
    public DeviceKind Kind { get; }
    /// <summary>Ordinal among devices of the same kind.</summary>
    public int Index { get; }

    /// <summary>The host CPU (the managed backend).</summary>
    public static Device Cpu { get; } = new(DeviceKind.Cpu, 0);
    /// <summary>ILGPU's CPU simulator, which runs the GPU kernels on the host (for testing kernels without a GPU).</summary>
    public static Device IlgpuCpu { get; } = new(DeviceKind.IlgpuCpu, 0);

    /// <summary>CUDA GPU number <paramref name="index"/> (printed <c>cuda:i</c>).</summary>
    /// <exception cref="ArgumentOutOfRangeException">index is negative.</exception>
    public static Device Cuda(int index = 0) => new(DeviceKind.Cuda, CheckIndex(index));
    /// <summary>OpenCL device number <paramref name="index"/> (printed <c>opencl:i</c>).</summary>
    /// <exception cref="ArgumentOutOfRangeException">index is negative.</exception>
    public static Device OpenCL(int index = 0) => new(DeviceKind.OpenCL, CheckIndex(index));

    private static int CheckIndex(int i) =>
        i >= 0 ? i : throw new ArgumentOutOfRangeException(nameof(i), $"A device index must be >= 0, got {i}.");

    /// <summary>Parses <c>cpu</c>, <c>cuda</c>, <c>cuda:1</c>, <c>opencl:0</c> or <c>ilgpu-cpu</c> (case-insensitive).</summary>
    /// <exception cref="ArgumentNullException">text is null.</exception>
    /// <exception cref="FormatException">The text is not one of those forms.</exception>
    public static Device Parse(string text)
    {
        var t = Check.NotNull(nameof(Parse), text, nameof(text)).Trim().ToLowerInvariant();
        var parts = t.Split(':');
        int index = 0;
        if (parts.Length > 2 || (parts.Length == 2 && (!int.TryParse(parts[1], out index) || index < 0)))
            throw BadName(text);
        return parts[0] switch
        {
            "cpu" when index == 0 => Cpu,
            "ilgpu-cpu" when index == 0 => IlgpuCpu,
            "cuda" or "gpu" => Cuda(index),
            "opencl" => OpenCL(index),
            _ => throw BadName(text),
        };
    }

    private static FormatException BadName(string? text) =>
        new($"'{text}' is not a device name; expected 'cpu', 'cuda', 'cuda:<index>', 'opencl:<index>' or 'ilgpu-cpu'.");

    /// <summary>
    /// Threads the <c>cpu</c> device computes with (PyTorch's <c>torch.set_num_threads</c>), at most one per core. The
    /// default comes from the environment when the process starts: <c>DEEPSHARP_NUM_THREADS</c>, else
    /// <c>OMP_NUM_THREADS</c> (which libtorch also reads), else every core (<see cref="Environment.ProcessorCount"/>).
    /// Set it between operations, e.g. <c>Device.CpuThreads = 1</c> to leave the other cores to other work. A value above
    /// the core count runs as one thread per core (and reads back as the core count).
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">Set to less than 1.</exception>
    public static int CpuThreads
    {
        get => Backends.Cpu.CpuParallel.Threads;
        set => Backends.Cpu.CpuParallel.Threads = value >= 1 ? value
            : throw new ArgumentOutOfRangeException(nameof(value), value, $"Device.CpuThreads must be at least 1, got {value}.");
    }

    /// <summary>
    /// Whether 2-D float32 products (<see cref="Tensor.MatMul(Tensor, Tensor)"/>) on CUDA devices may run on TF32 tensor
    /// cores: the operands rounded to 10 fraction bits (about 1e-3 relative), the sums kept in float32 (PyTorch's
    /// <c>torch.backends.cuda.matmul.allow_tf32</c>). Off by default, because it changes results; other devices ignore it.
    /// The kernel is compiled and assembled for sm_90 in CI but has not run on a GPU yet.
    /// </summary>
    public static bool AllowTf32 { get; set; }

    /// <summary>Number of GPUs (CUDA devices, then OpenCL devices) on this machine.</summary>
    public static int GpuCount => DeviceManager.Gpus.Count;

    /// <summary>GPU number <paramref name="i"/> if it exists (CUDA first, then OpenCL), else <see cref="Cpu"/> — never throws.</summary>
    public static Device TryGpu(int i = 0) => i >= 0 && i < DeviceManager.Gpus.Count ? DeviceManager.Gpus[i] : Cpu;

    /// <summary>Every GPU, or <c>[cpu]</c> when there is none.</summary>
    public static IReadOnlyList<Device> TryAllGpus() => DeviceManager.Gpus.Count > 0 ? DeviceManager.Gpus : [Cpu];

    /// <summary>Every usable device with its name, memory and compute capability.</summary>
    public static IReadOnlyList<DeviceInfo> List() => DeviceManager.List();

    /// <summary>A printable listing of the devices (the <c>nvidia-smi</c> moment), including why a backend is unavailable.</summary>
    public static string Describe() => DeviceManager.Describe();

    /// <summary>True when this device exists on this machine.</summary>
    public bool IsAvailable => DeviceManager.Exists(this);

    /// <summary>Waits until all work queued on this device has finished.</summary>
    public void Synchronize() => Backend.Synchronize();

    /// <summary>
    /// Work and memory counters of this device: kernel launches and compiled kernels since the process started, time spent
    /// compiling them, and the caching allocator's bytes (in use by live tensors, the most in use at once since
    /// <see cref="ResetPeakMemory"/>, and cached for reuse). On <c>cpu</c> there are no kernels and host memory belongs to the
    /// GC: launches and compile figures are 0 and the bytes in use are reported as -1.
    /// </summary>
    public DeviceStats Stats => Kind == DeviceKind.Cpu
        ? new DeviceStats(0, 0, TimeSpan.Zero, -1, -1, Backends.Cpu.CpuArrayPool.CachedBytes)
        : DeviceManager.Ilgpu(this).Stats();

    /// <summary>
    /// Compiles the kernels a typical training loop needs (dense and convolution layers, activations, cross-entropy, SGD,
    /// Adam, accuracy) on background threads; the task completes when they are ready. Awaiting it moves the compile cost
    /// to a point of your choosing (before a timed region, while data loads). It is not started automatically: it compiles
    /// more kernels than a first step needs, and ILGPU compiles largely one at a time, so it would delay the first step.
    /// Kernels compile once per process; a launch that needs one still compiling waits for it.
    /// Completed at once on <c>cpu</c>.
    /// </summary>
    public Task WarmUp() => Kind == DeviceKind.Cpu ? Task.CompletedTask : DeviceManager.Ilgpu(this).WarmUp();

    /// <summary>Restarts <see cref="DeviceStats.PeakBytesInUse"/> from the bytes in use now (no effect on <c>cpu</c>).</summary>
    public void ResetPeakMemory()
    {
        if (Kind != DeviceKind.Cpu) DeviceManager.Ilgpu(this).Pool.ResetPeak();
    }

    internal IBackend Backend => DeviceManager.Backend(this);

    /// <inheritdoc/>
    public override string ToString() => Kind switch
    {
        DeviceKind.Cpu => "cpu",
        DeviceKind.IlgpuCpu => "ilgpu-cpu",
        DeviceKind.Cuda => $"cuda:{Index}",
        _ => $"opencl:{Index}",
    };

    /// <inheritdoc/>
    public bool Equals(Device? other) => other is not null && other.Kind == Kind && other.Index == Index;
    /// <inheritdoc/>
    public override bool Equals(object? obj) => Equals(obj as Device);
    /// <inheritdoc/>
    public override int GetHashCode() => HashCode.Combine(Kind, Index);
    /// <summary>Value equality.</summary>
    public static bool operator ==(Device? a, Device? b) => a is null ? b is null : a.Equals(b);
    /// <summary>Value inequality.</summary>
    public static bool operator !=(Device? a, Device? b) => !(a == b);
}

/// <summary>Counters of one device (see <see cref="Device.Stats"/>).</summary>
/// <param name="KernelLaunches">Kernels launched (cuBLAS calls included) since the process started.</param>
/// <param name="KernelsCompiled">Distinct kernels compiled (each once per process and device).</param>
/// <param name="CompileTime">Total time spent compiling them.</param>
/// <param name="BytesInUse">Device bytes held by live tensors (size-class rounded); -1 on <c>cpu</c>.</param>
/// <param name="PeakBytesInUse">Most bytes in use at once since the device was first used or <see cref="Device.ResetPeakMemory"/>; -1 on
/// <c>cpu</c>.</param>
/// <param name="BytesCached">Freed bytes kept by the allocator for reuse.</param>
public readonly record struct DeviceStats(long KernelLaunches, int KernelsCompiled, TimeSpan CompileTime, long BytesInUse,
    long PeakBytesInUse, long BytesCached);

/// <summary>One line of the device listing.</summary>
/// <param name="Device">The device.</param>
/// <param name="Name">Hardware name as the driver reports it.</param>
/// <param name="MemoryBytes">Total memory in bytes.</param>
/// <param name="ComputeCapability">CUDA compute capability (e.g. "9.0"), or null.</param>
/// <param name="Details">Backend details (driver, threads, cuBLAS …).</param>
/// <exception cref="ArgumentNullException">Device, Name or Details is null.</exception>
public sealed record DeviceInfo(Device Device, string Name, long MemoryBytes, string? ComputeCapability, string Details)
{
    // Checked in the constructor and in `with` expressions alike.
    /// <summary>The device.</summary>
    public Device Device { get; init => field = Required(value, nameof(Device)); } = Required(Device, nameof(Device));
    /// <summary>Hardware name as the driver reports it.</summary>
    public string Name { get; init => field = Required(value, nameof(Name)); } = Required(Name, nameof(Name));
    /// <summary>Backend details (driver, threads, cuBLAS …).</summary>
    public string Details { get; init => field = Required(value, nameof(Details)); } = Required(Details, nameof(Details));

    private static T Required<T>(T? value, string name) where T : class => value ?? throw new ArgumentNullException(name);
}
