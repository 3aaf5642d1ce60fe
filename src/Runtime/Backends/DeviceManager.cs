using System.Runtime.InteropServices;
using System.Text;
using DeepSharp.Backends.Cpu;
using DeepSharp.Backends.Ilgpu;
using ILGPU;
using ILGPU.Runtime;
using ILGPU.Runtime.CPU;
using ILGPU.Runtime.Cuda;
using ILGPU.Runtime.OpenCL;

namespace DeepSharp.Backends;

/// <summary>
/// One ILGPU context per process, created on first use; one accelerator (and backend) per device, created on first use.
/// ILGPU swallows device-enumeration errors, so this class probes the native libraries itself to say why a backend is missing.
/// </summary>
internal static class DeviceManager
{
    /// <summary>
    /// The simulator: 4-lane warps × 4 = 16 threads per group. Every simulated thread is an OS thread and each barrier
    /// waits for all of them, so small groups keep the kernels' tests fast (see benchmarks/NOTES.md, "Moved from code comments");
    /// the kernels size their tiles from the group size.
    /// </summary>
    private static readonly CPUDevice SimulatorDevice = new(numThreadsPerWarp: 4, numWarpsPerMultiprocessor: 4, numMultiprocessors: 1);

    private sealed class State
    {
        public required Context Context;
        public required List<(Device Device, ILGPU.Runtime.Device Ilgpu)> Devices;
        public required List<Device> Gpus;
        public required List<string> Notes;
        public readonly Dictionary<Device, IlgpuBackend> Backends = new();
    }

    private static readonly Lazy<State> _state = new(Create, LazyThreadSafetyMode.ExecutionAndPublication);

    private static State Create()
    {
        NativeLibraries.Install();
        // O1 by default; DEEPSHARP_ILGPU_OPT=O2 (or O0) picks another ILGPU pipeline for measurements.
        var level = Environment.GetEnvironmentVariable("DEEPSHARP_ILGPU_OPT") switch
        {
            "O0" => OptimizationLevel.O0,
            "O2" => OptimizationLevel.O2,
            _ => OptimizationLevel.O1
        };
        // No ILGPU kernel cache: the backends keep every loaded kernel themselves, and ILGPU's cache would compile under a
        // per-accelerator lock, which would serialise Device.WarmUp's parallel compiles.
        var context = Context.Create(b =>
            b.Cuda().OpenCL().CPU(SimulatorDevice).EnableAlgorithms().Optimize(level).Caching(CachingMode.NoKernelCaching));
        var devices = new List<(Device, ILGPU.Runtime.Device)>();
        int cuda = 0, cl = 0;
        foreach (var d in context.Devices)
        {
            var dev = d switch
            {
                CudaDevice => Device.Cuda(cuda++),
                CLDevice => Device.OpenCL(cl++),
                CPUDevice => Device.IlgpuCpu,
                _ => null,
            };
            if (dev != null) devices.Add((dev, d));
        }
        // GPUs: every CUDA device, then OpenCL devices that are GPUs or accelerators (CPU OpenCL runtimes stay opencl:i
        // devices but are not GPUs, so TryGpu never picks one over the faster managed CPU backend).
        var gpus = devices.Where(x => x.Item1.Kind is DeviceKind.Cuda).Concat(devices.Where(x => x.Item2 is CLDevice cl &&
            (cl.DeviceType & (CLDeviceType.CL_DEVICE_TYPE_GPU | CLDeviceType.CL_DEVICE_TYPE_ACCELERATOR)) != 0))
            .Select(x => x.Item1).ToList();
        var notes = new List<string>(NativeLibraries.Problems);
        if (cuda == 0) notes.Add("CUDA: " + WhyNoCuda());
        if (cl == 0) notes.Add("OpenCL: " + WhyNoOpenCL());
        AppDomain.CurrentDomain.ProcessExit += (_, _) => Shutdown();
        return new State { Context = context, Devices = devices, Gpus = gpus, Notes = notes };
    }

    private static string WhyNoCuda()
    {
        var ld = Environment.GetEnvironmentVariable("LD_LIBRARY_PATH") ?? "";
        if (ld.Split(':').Any(p => p.Contains("stubs", StringComparison.Ordinal)))
            return $"no device; LD_LIBRARY_PATH contains a CUDA 'stubs' folder whose fake libcuda.so makes cuInit fail ({ld}).";
        foreach (var name in new[] { "libcuda.so.1", "libcuda.so" })
            if (NativeLibrary.TryLoad(name, out var h))
            {
                NativeLibrary.Free(h);
                return $"the driver ({name}) loaded but reported no usable device.";
            }
        return "no NVIDIA driver found (libcuda.so.1 is not installed).";
    }

    private static string WhyNoOpenCL()
    {
        foreach (var name in new[] { "libOpenCL.so.1", "libOpenCL.so" })
            if (NativeLibrary.TryLoad(name, out var h))
            {
                NativeLibrary.Free(h);
                return $"{name} loaded but no device qualifies (ILGPU needs OpenCL 2.0, or 3.0 with generic address space; PoCL before " +
                    "4.0, Debian 12's 3.1 among them, lacks the latter).";
            }
        return "no OpenCL runtime found (libOpenCL.so.1 is not installed).";
    }

    public static IReadOnlyList<Device> Gpus => _state.Value.Gpus;

    public static bool Exists(Device d) => d.Kind == DeviceKind.Cpu || _state.Value.Devices.Any(x => x.Device == d);

    public static IBackend Backend(Device d)
    {
        if (d.Kind == DeviceKind.Cpu) return CpuBackend.Instance;
        return Ilgpu(d);
    }

    public static IlgpuBackend Ilgpu(Device d)
    {
        var s = _state.Value;
        lock (s.Backends)
        {
            if (s.Backends.TryGetValue(d, out var b)) return b;
            var entry = s.Devices.FirstOrDefault(x => x.Device == d);
            if (entry.Device is null)
            {
                var same = s.Devices.Where(x => x.Device.Kind == d.Kind).Select(x => x.Device.ToString()).ToList();
                throw new ArgumentException($"Device {d} does not exist on this machine: it has {same.Count} {d.Kind} device(s)" +
                    (same.Count > 0 ? $" ({string.Join(", ", same)})" : "") +
                    ". Use Device.TryGpu(i) to fall back to the CPU, or Device.Describe() to list devices.");
            }
            b = new IlgpuBackend(entry.Ilgpu.CreateAccelerator(s.Context), d);
            s.Backends[d] = b;
            return b;
        }
    }

    public static IReadOnlyList<DeviceInfo> List()
    {
        var list = new List<DeviceInfo>
        {
            new(Device.Cpu, RuntimeInformation.ProcessArchitecture + " host", GC.GetGCMemoryInfo().TotalAvailableMemoryBytes, null,
                $"managed SIMD backend, {Cpu.CpuBackend.VectorBits}-bit vectors, {Environment.ProcessorCount} cores, "
                + $"AVX2={System.Runtime.Intrinsics.X86.Avx2.IsSupported}, FMA={System.Runtime.Intrinsics.X86.Fma.IsSupported}"),
        };
        foreach (var (dev, d) in _state.Value.Devices)
        {
            string? cc = d is CudaDevice cd && cd.Architecture is { } arch ? $"{arch.Major}.{arch.Minor}" : null;
            string details = d switch
            {
                CudaDevice c => $"CUDA driver {c.DriverVersion}, {d.NumMultiprocessors} SMs",
                CPUDevice => $"ILGPU CPU simulator, {d.MaxNumThreadsPerGroup} threads/group (runs GPU kernels; slow, for tests)",
                CLDevice cl =>
                    $"OpenCL {cl.CLStdVersion}, {cl.DeviceType.ToString().Replace("CL_DEVICE_TYPE_", "")}, {cl.VendorName} (OpenCL " +
                    "support is lightly tested)",
                _ => $"{d.AcceleratorType}",
            };
            list.Add(new DeviceInfo(dev, d.Name, d is CPUDevice ? list[0].MemoryBytes : d.MemorySize, cc, details));
        }
        return list;
    }

    public static string Describe()
    {
        var sb = new StringBuilder($"Devices (ILGPU {typeof(Context).Assembly.GetName().Version?.ToString(3)}):\n");
        foreach (var i in List())
            sb.Append($"  {i.Device,-10} {i.Name}, {i.MemoryBytes / (double)(1L << 30):F1} GiB" +
                      (i.ComputeCapability is null ? "" : $", compute capability {i.ComputeCapability}") + $" — {i.Details}\n");
        foreach (var n in _state.Value.Notes) sb.Append($"  ({n})\n");
        return sb.ToString();
    }

    private static void Shutdown()
    {
        if (!_state.IsValueCreated) return;
        var s = _state.Value;
        lock (s.Backends) foreach (var b in s.Backends.Values) b.Accelerator.Dispose();
        s.Context.Dispose();
    }
}
