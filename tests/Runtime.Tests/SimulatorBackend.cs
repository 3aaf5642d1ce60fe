using DeepSharp.Backends.Ilgpu;
using ILGPU;
using ILGPU.Runtime.CPU;

namespace DeepSharp.Tests;

/// <summary>
/// A private <see cref="IlgpuBackend"/> on its own ILGPU CPU simulator (one multiprocessor, 4-thread warps), for tests that
/// need other group sizes than the shared <c>ilgpu-cpu</c> device (16 threads) or state of their own.
/// </summary>
internal sealed class SimulatorBackend : IDisposable
{
    private readonly Context _context;

    public SimulatorBackend(int warps)
    {
        _context = Context.Create(b => b.CPU(new CPUDevice(numThreadsPerWarp: 4, numWarpsPerMultiprocessor: warps, numMultiprocessors: 1)));
        Backend = new IlgpuBackend(_context.CreateCPUAccelerator(0), Device.IlgpuCpu);
    }

    /// <summary>The backend (groups of up to 4·warps threads).</summary>
    public IlgpuBackend Backend { get; }

    public void Dispose()
    {
        Backend.Pool.ReleaseCache();
        Backend.Accelerator.Dispose();
        _context.Dispose();
    }
}
