using System.Diagnostics;
using DeepSharp.Backends;
using DeepSharp.Backends.Ilgpu;
using ILGPU;
using ILGPU.Runtime;
using ILGPU.Runtime.Cuda;

namespace DeepSharp.Tests;

/// <summary>
/// A failed device (RELIABILITY.md 13): the failure is reported loudly, and every later operation on that device fails at
/// once with the same cause instead of launching. On the simulator the failure is recorded directly (a simulator cannot
/// fault like a GPU); on CUDA a kernel really writes far out of bounds, in a child process, because CUDA's sticky errors
/// end CUDA for the whole process.
/// </summary>
public sealed class DeviceFaultTests : IDisposable
{
    private readonly SimulatorBackend _simulator = new(warps: 4); // 16-thread groups
    private IlgpuBackend Backend => _simulator.Backend;

    public void Dispose() => _simulator.Dispose();

    [Fact]
    public void AFailedDeviceRefusesEveryLaterOperationWithTheSameCause()
    {
        var x = Backend.Allocate(DType.Float32, 8);
        x.AddRef();
        Backend.Upload<float>([1, 2, 3, 4, 5, 6, 7, 8], x);
        long launches = Backend.Stats().KernelLaunches;

        var cause = new CudaException("an illegal memory access was encountered");
        var first = Backend.Fault(cause, nameof(IlgpuBackend.Synchronize));
        Assert.Same(cause, first.InnerException);
        Assert.Equal(Device.IlgpuCpu, first.Device);
        Assert.Contains("ilgpu-cpu failed during Synchronize", first.Message);
        Assert.Contains("restarts", first.Message);

        var refused = new (string Op, Action Call)[]
        {
            ("Upload", () => Backend.Upload<float>([0f], x)),
            ("Download", () => Backend.Download<float>(x, new float[8])),
            ("Fill", () => Backend.Fill<float, Ops.FillOp<float>>(x, new Ops.FillOp<float>(0f))),
            ("Reduce", () => Backend.Reduce<Ops.SumOp>(x, 0, x, 1, 8, 1)),
            ("MatMul",
                () => Backend.MatMul(x, x, x, new GemmArgs { Batch = 1, M = 2, N = 2, K = 2, RowA = 2, ColA = 1, RowB = 2, ColB = 1 })),
            ("Synchronize", Backend.Synchronize),
            ("Allocate", () => Backend.Allocate(DType.Float32, 4)),
        };
        foreach (var (op, call) in refused)
        {
            var e = Assert.Throws<DeviceFaultException>(call);
            Assert.Same(cause, e.InnerException);                 // the same cause every time
            Assert.Equal("Synchronize", e.DetectedIn);
            Assert.StartsWith($"{op} on ilgpu-cpu: the device failed earlier (during Synchronize", e.Message);
        }
        Assert.Equal(launches, Backend.Stats().KernelLaunches);  // nothing was launched
        // A second failure does not replace the first.
        Assert.Same(cause, Backend.Fault(new CudaException("another"), "Fill").InnerException);
        x.Release();                                               // freeing needs no device call
        // Other devices are unaffected.
        Assert.Equal([2f, 4f], (Tensor.FromArray([1f, 2f]) * 2).ToArray<float>());
    }

    [Theory]
    [InlineData("CUDA_ERROR_ILLEGAL_ADDRESS", true)]
    [InlineData("CUDA_ERROR_LAUNCH_FAILED", true)]
    [InlineData("CUDA_ERROR_MISALIGNED_ADDRESS", true)]
    [InlineData("CUDA_ERROR_OUT_OF_MEMORY", false)]   // one call's problem: the pool reports it, the device stays usable
    [InlineData("CUDA_ERROR_INVALID_VALUE", false)]   // a bad launch configuration
    [InlineData("N/A", false)]
    public void OnlyCudasStickyErrorsFailTheDevice(string error, bool sticky) =>
        Assert.Equal(sticky, IlgpuBackend.IsStickyCudaError(error));

    /// <summary>
    /// A kernel that writes a terabyte past its buffer on the GPU: the next synchronize reports the device as failed, with
    /// CUDA's error, and later operations fail at once with the same cause. Runs <see cref="FaultProbe"/> in a child
    /// process (this test executable, filtered to that one test).
    /// </summary>
    [Fact]
    public void AFaultingKernelOnCudaFailsTheDeviceLoudly()
    {
        TestDevices.Use("cuda:0");
        string method = $"{typeof(DeviceFaultTests).FullName}.{nameof(FaultProbe)}";
        var start = new ProcessStartInfo(Environment.ProcessPath!, $"-method {method} -noColor")
        {
            RedirectStandardOutput = true, RedirectStandardError = true,
        };
        start.Environment[ProbeVariable] = "1";
        using var child = Process.Start(start)!;
        string output = child.StandardOutput.ReadToEnd() + child.StandardError.ReadToEnd();
        Assert.True(child.WaitForExit(120_000), "the probe did not finish in two minutes:\n" + output);
        // The summary, not the exit code: what CUDA does while a failed context is torn down at exit is not ours to test.
        Assert.True(output.Contains("Total: 1, Errors: 0, Failed: 0, Skipped: 0"), $"probe exit code {child.ExitCode}:\n{output}");
    }

    private const string ProbeVariable = "DEEPSHARP_FAULT_PROBE";

    [Fact]
    public void FaultProbe()
    {
        if (Environment.GetEnvironmentVariable(ProbeVariable) != "1")
            Assert.Skip(
                $"runs only as the child process of {nameof(AFaultingKernelOnCudaFailsTheDeviceLoudly)} (it ends CUDA for its process)");
        var d = TestDevices.Use("cuda:0");
        var backend = DeviceManager.Ilgpu(d);
        var x = Tensor.Zeros([4], device: d);
        var writeFar = backend.Accelerator.LoadAutoGroupedStreamKernel<Index1D, ArrayView<float>>(WriteFar);
        writeFar(1, ((IlgpuStorage)x.Storage).View<float>());
        var first = Assert.Throws<DeviceFaultException>(d.Synchronize);
        Assert.Contains("CUDA_ERROR_", first.Message);
        var later = Assert.Throws<DeviceFaultException>(() => Tensor.Ones([2], device: d));
        Assert.Same(first.InnerException, later.InnerException);
        Assert.Equal([1f, 1f], Tensor.Ones([2]).ToArray<float>()); // the CPU is unaffected
    }

    private static void WriteFar(Index1D i, ArrayView<float> x) => x[i + (1L << 38)] = 1f; // 1 TiB past the buffer
}
