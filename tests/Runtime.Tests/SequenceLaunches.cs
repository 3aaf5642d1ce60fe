namespace DeepSharp.Tests;

/// <summary>Kernel launches of the fused recurrent sequences on an accelerator (the LSTM's and GRU's tests share it).</summary>
internal static class SequenceLaunches
{
    /// <summary>Launches made by <paramref name="run"/> on <paramref name="d"/>.</summary>
    internal static long Count(Device d, Action run)
    {
        d.Synchronize();
        long before = d.Stats.KernelLaunches;
        run();
        d.Synchronize();
        return d.Stats.KernelLaunches - before;
    }

    /// <summary>Asserts a step is one product and one cell launch each way: the launches of 12 steps minus those of 6
    /// (<paramref name="steps"/>(t) runs the op forwards and backwards over t steps), per step, are at most those of the two
    /// products with the recurrent weight w [k·H, H] (h·wᵀ and the gates' gradient · w) plus two (the per-step ops launched
    /// about 17).</summary>
    internal static void AssertOneProductAndOneCellEachWay(Device d, Tensor w, int batch, Func<int, Action> steps)
    {
        Count(d, steps(2)); // compiles the kernels
        long perStep = (Count(d, steps(12)) - Count(d, steps(6))) / 6;
        var rows = Tensor.Zeros([batch, w.Size(1)], DType.Float32, d);
        var gates = Tensor.Zeros([batch, w.Size(0)], DType.Float32, d);
        long products = Count(d, () => rows.MatMul(w.Detach().T)) + Count(d, () => gates.MatMul(w.Detach()));
        Assert.True(perStep <= products + 2, $"{perStep} launches per step; the two products take {products}");
    }
}

/// <summary>The fused recurrent sequences' launches per step on each accelerator. The launch counter is the device's, so
/// these run alone (another test's launches on the same device would be counted).</summary>
[Collection("Serial")]
public class SequenceLaunchTests
{
    /// <summary>On an accelerator a step is one product and one cell launch each way: the launches of 12 steps minus those of
    /// 6, per step, are at most the launches of the two products plus two cells (the per-step ops launched ~18).</summary>
    [Theory, MemberData(nameof(TestDevices.Accelerators), MemberType = typeof(TestDevices))]
    public void AnLstmStepIsOneProductAndOneCellEachWay(string device)
    {
        var d = TestDevices.Use(device);
        const int b = 3, h = 5;
        var w = Tensor.FromArray(Ref.Random(4 * h * h, 3), [4 * h, h], d).RequiresGradient();
        var h0 = Tensor.Zeros([b, h], DType.Float32, d);
        SequenceLaunches.AssertOneProductAndOneCellEachWay(d, w, b, t =>
        {
            var xg = Tensor.FromArray(Ref.Random(t * b * 4 * h, t), [t, b, 4 * h], d).RequiresGradient();
            return () => Functional.LstmSequence(xg, w, h0, h0).Output.Sum().Backward();
        });
    }

    /// <summary>The same for <see cref="Functional.GruSequence"/>.</summary>
    [Theory, MemberData(nameof(TestDevices.Accelerators), MemberType = typeof(TestDevices))]
    public void AGruStepIsOneProductAndOneCellEachWay(string device)
    {
        var d = TestDevices.Use(device);
        const int b = 3, h = 5;
        var w = Tensor.FromArray(Ref.Random(3 * h * h, 3), [3 * h, h], d).RequiresGradient();
        var bias = Tensor.FromArray(Ref.Random(3 * h, 4), [3 * h], d).RequiresGradient();
        var h0 = Tensor.Zeros([b, h], DType.Float32, d);
        SequenceLaunches.AssertOneProductAndOneCellEachWay(d, w, b, t =>
        {
            var xg = Tensor.FromArray(Ref.Random(t * b * 3 * h, t), [t, b, 3 * h], d).RequiresGradient();
            return () => Functional.GruSequence(xg, w, bias, h0).Output.Sum().Backward();
        });
    }
}
