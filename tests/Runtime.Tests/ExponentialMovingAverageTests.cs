using DeepSharp;
using DeepSharp.Optim;

namespace DeepSharp.Tests;

/// <summary>The moving average of weights against a double reference of PyTorch's EMA (lerp(avg, p, 1 - decay), both of
/// torch.lerp's forms), on every device, with a parameter that gets its tensor late; its state dict round-trips.</summary>
public class ExponentialMovingAverageTests
{
    private sealed class Late : IParameter
    {
        public Tensor? Tensor;
        public bool IsInitialized => Tensor is not null;
        public Tensor Data => Tensor ?? throw new InvalidOperationException("no data yet");
        public string Path => "late";
    }

    public static TheoryData<string, float> Cases()
    {
        var data = new TheoryData<string, float>();
        foreach (var d in TestDevices.Names) { data.Add(d, 0.9f); data.Add(d, 0.3f); }
        return data;
    }

    [Theory, MemberData(nameof(Cases))]
    public void AveragesFollowTorchsLerp(string device, float decay)
    {
        var d = TestDevices.Use(device);
        var a = Tensor.Zeros([37], device: d); var late = new Late();
        var ema = new ExponentialMovingAverage([a, late], decay);
        double w = 1f - decay;
        double[]? refA = null, refB = null;
        static double[] Lerp(double[]? avg, float[] p, double w) =>
            avg is null ? p.Select(v => (double)v).ToArray() : avg.Select((x, i) => x + w * (p[i] - x)).ToArray();
        for (int t = 0; t < 5; t++)
        {
            var va = Ref.Random(37, 10 + t); var vb = Ref.Random(5, 20 + t);
            a.CopyFrom(Tensor.FromArray(va, [37], d));
            if (t == 2) late.Tensor = Tensor.Zeros([5], device: d);
            late.Tensor?.CopyFrom(Tensor.FromArray(vb, [5], d));
            ema.Update();
            refA = Lerp(refA, va, w);
            if (late.Tensor is not null) refB = Lerp(refB, vb, w);
        }
        Assert.Equal(5, ema.NumUpdates);
        Ref.Close(refA!, ema.Averages[0]!.ToArray<float>(), 1e-6, "a");
        Ref.Close(refB!, ema.Averages[1]!.ToArray<float>(), 1e-6, "late");

        var saved = ema.StateDict().ToDictionary(kv => kv.Key, kv => kv.Value.Copy(Device.Cpu));
        var again = new ExponentialMovingAverage([a, late], decay);
        again.LoadStateDict(saved);
        Assert.Equal(ema.Averages[0]!.ToArray<float>(), again.Averages[0]!.ToArray<float>());
        Assert.Equal(d, again.Averages[1]!.Device);
        ema.Update(); again.Update();
        Assert.Equal(ema.Averages[1]!.ToArray<float>(), again.Averages[1]!.ToArray<float>());
        again.CopyTo();
        Assert.Equal(again.Averages[0]!.ToArray<float>(), a.ToArray<float>());
        var e = Assert.Throws<ArgumentException>(() => new ExponentialMovingAverage([Tensor.Zeros(3)]).LoadStateDict(saved));
        Assert.Contains("'average.0' does not fit parameter 0", e.Message);
        Assert.Contains("'average.1'", e.Message);
    }
}
