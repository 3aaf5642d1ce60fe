using DeepSharp.Layers;
using DeepSharp.Tests;

namespace DeepSharp.IO.Tests;

/// <summary>A model with batch norm saved to a file and loaded into a fresh one: the buffers (running statistics and the
/// int64 num_batches_tracked) come back, so eval mode gives the same outputs; on every device.</summary>
public class NormCheckpointTests
{
    private static Sequential Net() => new(new Dense(4, 3), new BatchNorm1d(4), new Relu(), new Dense(2), new LayerNorm(2));

    [Theory, MemberData(nameof(TestDevices.All), MemberType = typeof(TestDevices))]
    public void BuffersRoundTripThroughAFile(string device)
    {
        var d = TestDevices.Use(device);
        using var dir = new TempDir();
        var net = Net();
        net.Initialize();
        net.To(d);
        for (int step = 0; step < 3; step++)
            net.Call(Tensor.FromArray(Ref.Random(15, step).Select(v => v * 2 + step).ToArray(), [5, 3], d));
        net.Save(dir.File("bn.params"));
        var clone = Net();
        var report = clone.Load(dir.File("bn.params"));
        Assert.Empty(report.Missing);
        clone.To(d);
        var bn = (BatchNorm1d)clone[1];
        Assert.Equal([3L], bn.NumBatchesTracked!.ToArray<long>());
        Assert.Equal(DType.Int64, bn.NumBatchesTracked.DType);
        Assert.Equal(((BatchNorm1d)net[1]).RunningMean!.ToArray<float>(), bn.RunningMean!.ToArray<float>());
        Assert.NotEqual(new float[4], bn.RunningMean.ToArray<float>());
        net.Eval(); clone.Eval();
        var x = Tensor.FromArray(Ref.Random(6, 7), [2, 3], d);
        Assert.Equal(net.Call(x).ToArray<float>(), clone.Call(x).ToArray<float>());
    }
}
