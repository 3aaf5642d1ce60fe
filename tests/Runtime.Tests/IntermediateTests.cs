namespace DeepSharp.Tests;

/// <summary>
/// Ops built from several ops (convolution, pooling, softmax, losses, a linear layer over a batch of sequences) and ops
/// that copy a strided input before their kernel release what they create in between as soon as autograd records nothing:
/// inference outside a <see cref="TensorScope"/> must not leave buffers to the GC (on the CPU a fresh array per call, and
/// full collections; on accelerators device memory held until a finalizer runs).
/// Counts a device's bytes in use, so it runs alone.
/// </summary>
[CollectionDefinition(nameof(IntermediateTests), DisableParallelization = true)]
[Collection(nameof(IntermediateTests))]
public class IntermediateTests
{
    /// <summary>Each case: a name and an inference call whose intermediates are at least 100 KB.</summary>
    private static readonly (string Name, Func<Device, Func<Tensor>> Make)[] Cases =
    [
        ("Conv2d, image by image", d => Call(d, [2, 3, 32, 32], x => Functional.Conv2d(x, W(d, [8, 3, 3, 3]), W(d, [8]), padding: 1))),
        ("Conv2d, the whole batch", d => Call(d, [64, 3, 8, 8], x => Functional.Conv2d(x, W(d, [8, 3, 3, 3]), padding: 1))),
        ("AvgPool2d", d => Call(d, [4, 8, 32, 32], x => Functional.AvgPool2d(x, 2))),
        ("Unfold", d => Call(d, [2, 3, 32, 32], x => Functional.Unfold(x, 3, padding: 1))),
        ("Softmax", d => Call(d, [64, 1000], x => Functional.Softmax(x))),
        ("LogSoftmax", d => Call(d, [64, 1000], x => Functional.LogSoftmax(x))),
        ("Linear over [batch, time, in]", d => Call(d, [8, 64, 128], x => Functional.Linear(x, W(d, [32, 128])))),
        ("MseLoss", d => Call(d, [256, 256], x => Functional.MseLoss(x, W(d, [256, 256])))),
        ("CrossEntropy", d => Call(d, [256, 1000], x => Functional.CrossEntropy(x, Labels(d, 256, 1000)))),
        ("BinaryCrossEntropyWithLogits", d => Call(d, [256, 256], x => Functional.BinaryCrossEntropyWithLogits(x, Probabilities(d)))),
        ("Reshape of a transposed view (a copy)", d => Call(d, [256, 256], x => x.T.Reshape(-1))),
        ("ArgMax of a transposed view", d => Call(d, [256, 256], x => x.T.ArgMax(1))),
        ("MaxWithIndices", d => Call(d, [256, 256], x => { var (v, i) = x.T.MaxWithIndices(1); i.Dispose(); return v; })),
        ("CrossEntropy of transposed logits", d => Call(d, [1000, 256], x => Functional.CrossEntropy(x.T, Labels(d, 256, 1000)))),
    ];

    public static TheoryData<string, int> All()
    {
        var data = new TheoryData<string, int>();
        foreach (var device in TestDevices.Names)
            for (int i = 0; i < Cases.Length; i++) data.Add(device, i);
        return data;
    }

    [Theory, MemberData(nameof(All))]
    public void InferenceOutsideAScopeReturnsItsIntermediatesAtOnce(string device, int index)
    {
        var d = TestDevices.Use(device);
        var (name, make) = Cases[index];
        var run = make(d);
        // The host cache is capped: after the suite's other tests it may be full, and a full cache reuses nothing.
        Backends.Cpu.CpuArrayPool.ReleaseCache();
        for (int i = 0; i < 3; i++) run().Dispose(); // warm: the pool holds every size class the call needs
        d.Synchronize();
        if (d == Device.Cpu)
        {
            // Pooled buffers are reused; a buffer left to the GC is a new array (≥ 100 KB) on every call.
            long before = GC.GetAllocatedBytesForCurrentThread();
            for (int i = 0; i < 4; i++) run().Dispose();
            long perCall = (GC.GetAllocatedBytesForCurrentThread() - before) / 4;
            Assert.True(perCall < 48 * 1024, $"{name}: {perCall:N0} managed bytes per call: an intermediate was left to the GC " +
                $"(host cache {Backends.Cpu.CpuArrayPool.CachedBytes:N0} B, grad {Autograd.IsEnabled}, threads {Device.CpuThreads})");
        }
        else
        {
            long before = d.Stats.BytesInUse;
            run().Dispose();
            d.Synchronize();
            Assert.Equal(before, d.Stats.BytesInUse);
        }
    }

    private static Func<Tensor> Call(Device d, int[] shape, Func<Tensor, Tensor> f)
    {
        var x = Tensor.Randn(shape, generator: new Generator(3), device: d);
        return () => f(x);
    }

    private static readonly Dictionary<(Device, string), Tensor> Cached = [];

    /// <summary>A constant made once per device and shape (so the calls measured create nothing but the op's own tensors).</summary>
    private static Tensor W(Device d, int[] shape)
    {
        lock (Cached)
        {
            var key = (d, string.Join(",", shape));
            if (!Cached.TryGetValue(key, out var w)) Cached[key] = w = Tensor.Randn(shape, generator: new Generator(5), device: d);
            return w;
        }
    }

    private static Tensor Probabilities(Device d)
    {
        lock (Cached)
        {
            var key = (d, "probabilities");
            if (!Cached.TryGetValue(key, out var p)) Cached[key] = p = Tensor.Rand([256, 256], generator: new Generator(7), device: d);
            return p;
        }
    }

    private static Tensor Labels(Device d, int n, int classes)
    {
        lock (Cached)
        {
            var key = (d, $"labels {n} {classes}");
            if (!Cached.TryGetValue(key, out var l))
                Cached[key] = l = Tensor.FromArray(Enumerable.Range(0, n).Select(i => (long)(i * 7 % classes)).ToArray(), [n], device: d);
            return l;
        }
    }
}
