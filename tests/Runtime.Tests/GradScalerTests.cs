using DeepSharp.Optim;

namespace DeepSharp.Tests;

/// <summary>Dynamic loss scaling: steps with infinite or NaN gradients are skipped and the scale backs off, clean runs grow
/// it, scaling by powers of two changes no bit of a run that does not overflow, the call order is enforced, and the state
/// saves and loads.</summary>
public class GradScalerTests
{
    /// <summary>loss = Σ w·x for a leaf w on the device.</summary>
    private static Tensor Loss(Tensor w, float[] x) => (w * Tensor.FromArray(x).To(w.Device)).Sum();

    [Theory, MemberData(nameof(TestDevices.All), MemberType = typeof(TestDevices))]
    public void AnOverflowSkipsTheStepAndBacksOff(string device)
    {
        var d = TestDevices.Use(device);
        using var w = Tensor.FromArray(new[] { 1f, 2f, 3f }).To(d).RequiresGradient();
        using var opt = new Adam([w], lr: 0.1f);
        var scaler = new GradScaler();
        // 1e35 · 65536 overflows float32: the scaled gradient is infinite.
        using (var loss = Loss(w, [1e35f, 1f, 1f])) scaler.Scale(loss).Backward();
        Assert.False(scaler.Step(opt));
        Assert.Equal(new[] { 1f, 2f, 3f }, w.ToArray<float>()); // untouched, and no Adam state or step was taken
        Assert.Equal(0, opt.StepCount);
        scaler.Update();
        Assert.Equal(32768f, scaler.GetScale());
        Assert.Equal(0, scaler.GrowthTracker);
        // A NaN is skipped too.
        opt.ZeroGrad();
        using (var loss = Loss(w, [float.NaN, 1f, 1f])) scaler.Scale(loss).Backward();
        Assert.False(scaler.Step(opt));
        scaler.Update();
        Assert.Equal(16384f, scaler.GetScale());
        // A clean step goes through with the true gradient, unscaled once: SGD moves each weight by lr · g.
        using var sgd = new Sgd([w], lr: 0.1f);
        opt.ZeroGrad();
        using (var loss = Loss(w, [1f, -2f, 0.5f])) scaler.Scale(loss).Backward();
        Assert.True(scaler.Step(sgd));
        scaler.Update();
        Assert.Equal(1, sgd.StepCount);
        Ref.Close([0.9, 2.2, 2.95], w.ToArray<float>(), 1e-7, "after one SGD step");
        Assert.Equal(16384f, scaler.GetScale());
        Assert.Equal(1, scaler.GrowthTracker);
        // A step with no gradient at all checked nothing: refused, as PyTorch's "No inf checks were recorded".
        opt.ZeroGrad();
        Assert.Contains("no inf check", Assert.Throws<InvalidOperationException>(() => scaler.Step(sgd)).Message);
    }

    [Theory, MemberData(nameof(TestDevices.All), MemberType = typeof(TestDevices))]
    public void ScalingByPowersOfTwoChangesNoBitOfACleanRun(string device)
    {
        var d = TestDevices.Use(device);
        float[] Run(GradScaler? scaler) // null: no scaler at all
        {
            using var w = Tensor.FromArray(Ref.Random(64, 3)).To(d).RequiresGradient();
            using var opt = new Sgd([w], lr: 0.05f, momentum: 0.9f);
            for (int i = 0; i < 5; i++)
            {
                opt.ZeroGrad();
                using var loss = (w * w).Mean() + Loss(w, Ref.Random(64, 10 + i)) * 1e-3f;
                (scaler?.Scale(loss) ?? loss).Backward();
                scaler?.Unscale(opt); // the true gradients, for clipping
                ClipGrad.Norm([w], maxNorm: 0.5f);
                if (scaler is null) opt.Step();
                else { Assert.True(scaler.Step(opt)); scaler.Update(); }
            }
            return w.ToArray<float>();
        }
        var scaler = new GradScaler(initScale: 1024f, growthInterval: 2);
        Assert.Equal(Run(null), Run(scaler));
        Assert.Equal(4096f, scaler.GetScale()); // grew twice in five clean steps
        Assert.Equal(1, scaler.GrowthTracker);
        Assert.Equal(Run(null), Run(new GradScaler(enabled: false)));
    }

    [Fact]
    public void GrowthStopsShortOfInfinityAndUpdateCanSetTheScale()
    {
        using var w = Tensor.FromArray(new[] { 1f }).RequiresGradient();
        using var opt = new Sgd([w], lr: 0f);
        var scaler = new GradScaler(initScale: 3e38f, growthInterval: 1);
        using (var loss = Loss(w, [1e-40f])) scaler.Scale(loss).Backward();
        Assert.True(scaler.Step(opt));
        scaler.Update();
        Assert.Equal(3e38f, scaler.GetScale()); // 6e38 would be infinite: kept, and the count restarts
        Assert.Equal(0, scaler.GrowthTracker);
        scaler.Update(newScale: 8f);
        Assert.Equal(8f, scaler.GetScale());
        Assert.Throws<ArgumentOutOfRangeException>(() => scaler.Update(newScale: float.NaN));
    }

    [Fact]
    public void TheCallOrderIsEnforced()
    {
        using var w = Tensor.FromArray(new[] { 1f }).RequiresGradient();
        using var opt = new Sgd([w], lr: 0.1f);
        var scaler = new GradScaler();
        Assert.Contains("no gradients were unscaled", Assert.Throws<InvalidOperationException>(() => scaler.Update()).Message);
        using (var loss = Loss(w, [1f])) scaler.Scale(loss).Backward();
        scaler.Unscale(opt);
        Assert.Contains("already called", Assert.Throws<InvalidOperationException>(() => scaler.Unscale(opt)).Message);
        scaler.Step(opt);
        Assert.Contains("already stepped", Assert.Throws<InvalidOperationException>(() => scaler.Step(opt)).Message);
        Assert.Contains("already stepped", Assert.Throws<InvalidOperationException>(() => scaler.Unscale(opt)).Message);
        scaler.Update();
        Assert.Equal(0.9f, w.Item<float>()); // unscaled once, not twice
        Assert.Throws<NotSupportedException>(() => scaler.Scale(Tensor.Ones([1], DType.Float64)));
        Assert.Equal(DType.BFloat16, scaler.Scale(Tensor.Ones([1], DType.BFloat16)).DType); // a 16-bit loss stays 16-bit
        Assert.Throws<ArgumentNullException>(() => scaler.Step(null!));
    }

    [Theory]
    [InlineData(0f, 2f, 0.5f, 1, "initScale")]
    [InlineData(float.PositiveInfinity, 2f, 0.5f, 1, "initScale")]
    [InlineData(1f, 1f, 0.5f, 1, "growthFactor")]
    [InlineData(1f, 2f, 1f, 1, "backoffFactor")]
    [InlineData(1f, 2f, 0f, 1, "backoffFactor")]
    [InlineData(1f, 2f, 0.5f, 0, "growthInterval")]
    public void BadSettingsAreNamed(float init, float growth, float backoff, int interval, string name)
    {
        var e = Assert.Throws<ArgumentOutOfRangeException>(() => new GradScaler(init, growth, backoff, interval));
        Assert.Equal(name, e.ParamName);
    }

    [Fact]
    public void StateSavesAndLoads()
    {
        using var w = Tensor.FromArray(new[] { 1f }).RequiresGradient();
        using var opt = new Sgd([w], lr: 0.1f);
        var a = new GradScaler(initScale: 256f, growthInterval: 10);
        for (int i = 0; i < 3; i++)
        {
            opt.ZeroGrad();
            using (var loss = Loss(w, [1f])) a.Scale(loss).Backward();
            a.Step(opt);
            a.Update();
        }
        var state = a.StateDict();
        Assert.Equal(["scale", "growth_factor", "backoff_factor", "growth_interval", "_growth_tracker"], state.Keys);
        var b = new GradScaler(growthInterval: 10);
        b.LoadStateDict(state);
        Assert.Equal((256f, 3), (b.GetScale(), b.GrowthTracker));
        var other = new GradScaler(growthInterval: 5);
        var e = Assert.Throws<ArgumentException>(() => other.LoadStateDict(state));
        Assert.Contains("growth_interval = 10", e.Message);
        Assert.Equal(65536f, other.GetScale()); // nothing loaded
        state["scale"] = Tensor.Full([], -1f);
        state["extra"] = Tensor.Zeros([]);
        e = Assert.Throws<ArgumentException>(() => b.LoadStateDict(state));
        Assert.Contains("'scale' is -1", e.Message);
        Assert.Contains("unexpected key 'extra'", e.Message);
        // Disabled: an empty state, which an enabled scaler refuses and a disabled one ignores.
        var off = new GradScaler(enabled: false);
        Assert.Empty(off.StateDict());
        off.LoadStateDict(a.StateDict());
        Assert.Contains("disabled", Assert.Throws<ArgumentException>(() => b.LoadStateDict(off.StateDict())).Message);
    }
}
