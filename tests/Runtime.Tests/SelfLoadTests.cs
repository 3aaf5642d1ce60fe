using DeepSharp;
using DeepSharp.Optim;

namespace DeepSharp.Tests;

/// <summary>Loading an object's own state dict into it (<c>x.LoadStateDict(x.StateDict())</c>, which PyTorch allows) changes
/// nothing, for every stateful training object: the dict may hold the object's own tensors, which a load must not free
/// before it has copied them.</summary>
public class SelfLoadTests
{
    [Theory, MemberData(nameof(TestDevices.All), MemberType = typeof(TestDevices))]
    public void LoadingItsOwnStateChangesNothing(string device)
    {
        var d = TestDevices.Use(device);
        Tensor Weight() => Tensor.FromArray(new[] { 1f, -2f, 3f }, [3], d).RequiresGradient();
        var (w, twin) = (Weight(), Weight());
        var (opt, twinOpt) = (new Adam([w], lr: 0.1f), new Adam([twin], lr: 0.1f));
        var (sched, twinSched) = (new StepLR(opt, stepSize: 1, gamma: 0.5f), new StepLR(twinOpt, stepSize: 1, gamma: 0.5f));
        var ema = new ExponentialMovingAverage([w], decay: 0.5f);
        var twinEma = new ExponentialMovingAverage([twin], decay: 0.5f);
        var scaler = new GradScaler(initScale: 8f);
        for (int step = 0; step < 3; step++)
        {
            foreach (var (p, o, s, e) in new[] { (w, opt, sched, ema), (twin, twinOpt, twinSched, twinEma) })
            {
                o.ZeroGrad();
                (p * p).Sum().Backward();
                o.Step();
                s.Step();
                e.Update();
            }
            if (step != 1) continue;
            opt.LoadStateDict(opt.StateDict());
            sched.LoadStateDict(sched.StateDict());
            ema.LoadStateDict(ema.StateDict());
            scaler.LoadStateDict(scaler.StateDict());
        }
        Assert.Equal(twin.ToArray<float>(), w.ToArray<float>());
        Assert.Equal(twinEma.Averages[0]!.ToArray<float>(), ema.Averages[0]!.ToArray<float>());
        Assert.Equal(twinSched.LastEpoch, sched.LastEpoch);
        Assert.Equal(8f, scaler.GetScale());
    }
}
