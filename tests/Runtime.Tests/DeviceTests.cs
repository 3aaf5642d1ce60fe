using DeepSharp;

namespace DeepSharp.Tests;

public class DeviceTests
{
    [Fact]
    public void NamesParseAndPrint()
    {
        Assert.Equal("cpu", Device.Cpu.ToString());
        Assert.Equal("cuda:1", Device.Parse("cuda:1").ToString());
        Assert.Equal(Device.Cuda(0), Device.Parse("CUDA"));
        Assert.Equal(Device.OpenCL(2), Device.Parse("opencl:2"));
        Assert.Equal(Device.IlgpuCpu, Device.Parse("ilgpu-cpu"));
        Assert.True(Device.Cuda(3) == Device.Parse("cuda:3"));
        foreach (var bad in new[] { "tpu", "cuda:-1", "cuda:x", "cpu:1", "" })
            Assert.Contains("expected 'cpu'", Assert.Throws<FormatException>(() => Device.Parse(bad)).Message);
        Assert.Throws<ArgumentOutOfRangeException>(() => Device.Cuda(-1));
    }

    [Fact]
    public void GpuFallbacksNeverThrow()
    {
        Assert.Equal(Device.Cpu, Device.TryGpu(Device.GpuCount)); // one past the last GPU
        var all = Device.TryAllGpus();
        if (Device.GpuCount == 0) Assert.Equal([Device.Cpu], all);
        else Assert.Equal(Device.GpuCount, all.Count);
        Assert.Equal(Device.GpuCount > 0 ? all[0] : Device.Cpu, Device.TryGpu());
        Assert.Contains("cpu", Device.Describe());
        Assert.Contains(Device.List(), i => i.Device == Device.IlgpuCpu);
    }

    [Fact]
    public void MissingDeviceGivesAClearError()
    {
        var missing = Device.Cuda(Device.List().Count(i => i.Device.Kind == DeviceKind.Cuda) + 7);
        Assert.False(missing.IsAvailable);
        var e = Assert.Throws<ArgumentException>(() => Tensor.Zeros([2], device: missing));
        Assert.Contains(missing.ToString(), e.Message);
        Assert.Contains("TryGpu", e.Message);
    }

    [Theory, MemberData(nameof(TestDevices.Accelerators), MemberType = typeof(TestDevices))]
    public void ToIsIdentityOnSameDeviceAndCopiesOtherwise(string device)
    {
        var d = TestDevices.Use(device);
        var x = Tensor.FromArray(new float[] { 1, 2, 3, 4, 5, 6 }, [2, 3]);
        Assert.Same(x, x.To(Device.Cpu));
        var g = x.To(d);
        Assert.Equal(d, g.Device);
        Assert.Same(g, g.To(d));
        Assert.NotSame(g, g.Copy(d));
        Assert.Equal(x.ToArray<float>(), g.Copy(d).ToArray<float>());
        Assert.Equal(x.T.ToArray<float>(), g.T.To(Device.Cpu).ToArray<float>()); // strided view → dense copy
        var back = g.To(Device.Cpu);
        Assert.Equal(Device.Cpu, back.Device);
        Assert.Equal(x.ToArray<float>(), back.ToArray<float>());
        Assert.Equal(new long[] { 7, 8 }, Tensor.FromArray(new long[] { 7, 8 }).To(d).To(Device.Cpu).ToArray<long>());
        Assert.Contains($"device='{d}'", g.ToString());
    }

    [Theory, MemberData(nameof(TestDevices.Accelerators), MemberType = typeof(TestDevices))]
    public void MixedDevicesFailBeforeLaunchNamingOpArgumentsAndDevices(string device)
    {
        var d = TestDevices.Use(device);
        var cpu = Tensor.Ones(2, 2);
        var acc = Tensor.Ones([2, 2], device: d);
        foreach (var (op, call) in new (string, Func<Tensor>)[]
        {
            ("Add", () => cpu + acc), ("Mul", () => acc * cpu), ("MatMul", () => cpu.MatMul(acc)),
            ("Where", () => Tensor.Where(cpu, acc, acc)), ("Concat", () => Tensor.Concat([cpu, acc])),
            ("GatherRows", () => acc.GatherRows(Tensor.Zeros([1], DType.Int64))),
        })
        {
            var e = Assert.Throws<DeviceMismatchException>(call);
            Assert.Contains(op, e.Message);
            Assert.Contains("cpu", e.Message);
            Assert.Contains(d.ToString(), e.Message);
            Assert.Contains("'", e.Message); // names the argument
        }
    }

    [Fact]
    public void CudaDeviceComputesWhenPresent()
    {
        var d = TestDevices.Use("cuda:0");
        var info = Device.List().Single(i => i.Device == d);
        Assert.NotNull(info.ComputeCapability);
        Assert.True(info.MemoryBytes > 0);
        var x = Tensor.Rand([512, 256], device: d);
        var y = x.MatMul(x.T).Sum();
        var yCpu = x.To(Device.Cpu).MatMul(x.To(Device.Cpu).T).Sum();
        Assert.True(Math.Abs(y.Item() - yCpu.Item()) < 1e-3 * Math.Abs(yCpu.Item()));
    }

    [Theory, MemberData(nameof(TestDevices.Accelerators), MemberType = typeof(TestDevices))]
    public void OutOfMemoryIsClearAndTheDeviceStillWorks(string device)
    {
        var d = TestDevices.Use(device);
        var pool = Backends.DeviceManager.Ilgpu(d).Pool;
        const long huge = 1L << 50; // 1 PiB: beyond any device, and beyond x86-64's 128 TiB user address space (32 TiB was
                                    // granted by an overcommitting host to the CPU simulator)
        var e = Assert.Throws<DeviceOutOfMemoryException>(() => pool.Rent(huge));
        Assert.Contains(d.ToString(), e.Message);
        Assert.Contains("1048576.00 GiB", e.Message); // what was requested
        Assert.Contains("free", e.Message);
        Assert.Equal(huge, e.RequestedBytes);
        var x = Tensor.Arange(0, 10, 1, device: d);
        Assert.Equal(45f, x.Sum().Item()); // the device still computes after the failure
    }

    /// <summary>The background warm-up compiles the common kernels in parallel (ILGPU compiles on several threads at
    /// once here, while other tests launch on the same simulator); afterwards a training step runs and is correct.</summary>
    [Fact]
    public async Task WarmUpCompilesTheCommonKernelsInParallelAndStepsStillWork()
    {
        var d = TestDevices.Use("ilgpu-cpu");
        await d.WarmUp().WaitAsync(TimeSpan.FromMinutes(2), TestContext.Current.CancellationToken);
        Assert.Same(d.WarmUp(), d.WarmUp()); // started once
        Assert.True(d.Stats.KernelsCompiled >= 20, $"only {d.Stats.KernelsCompiled} kernels compiled");
        Assert.True(Device.Cpu.WarmUp().IsCompleted);
        float[] Step(Device dev)
        {
            var w = Tensor.FromArray(Ref.Random(6 * 4, 3), [6, 4], dev).RequiresGradient();
            var x = Tensor.FromArray(Ref.Random(5 * 4, 4), [5, 4], dev);
            Functional.CrossEntropy(Functional.Linear(x, w).Relu(), Tensor.FromArray(new long[] { 0, 1, 2, 3, 5 }, device: dev)).Backward();
            new Optim.Sgd([w], lr: 0.5f).Step();
            return w.ToArray<float>();
        }
        Ref.Close(Step(Device.Cpu).Select(v => (double)v).ToArray(), Step(d), 1e-5, "step after warm-up");
    }
}

/// <summary>The device pool's bookkeeping, counted exactly: run alone.</summary>
[Collection("Serial")]
public class DevicePoolTests
{
    [Theory, MemberData(nameof(TestDevices.Accelerators), MemberType = typeof(TestDevices))]
    public void DisposedMemoryIsReusedByThePool(string device)
    {
        var d = TestDevices.Use(device);
        var pool = Backends.DeviceManager.Ilgpu(d).Pool;
        // The pool's counts per size class (3 MB → the 3 MiB class), in the serial collection so that no other test allocates
        // or frees in between. Earlier tests may have left blocks of this class cached: the first tensor takes one of them if
        // so, and the counts are taken from there (counted before it, a reused block made the dispose look like a loss).
        const int n = 750_001;
        long size = Backends.Ilgpu.DevicePool.SizeClass(4L * n);
        Tensor.Empty([n], DType.Float32, d).Dispose(); // at least one block of the class cached, as after other tests
        int cached = pool.CachedCount(size);
        var first = Tensor.Empty([n], DType.Float32, d);
        int before = pool.CachedCount(size);
        Assert.Equal(cached - 1, before); // the cached block was reused, not a new one made
        first.Dispose();
        Assert.Equal(before + 1, pool.CachedCount(size));
        var again = Tensor.Empty([n], DType.Float32, d);
        Assert.Equal(before, pool.CachedCount(size));
        again.Dispose();
        Assert.Throws<ObjectDisposedException>(() => again.ToArray<float>());
    }
}
