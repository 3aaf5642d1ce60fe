using DeepSharp;

namespace DeepSharp.Tests;

public class AutogradTests
{
    [Theory, MemberData(nameof(TestDevices.All), MemberType = typeof(TestDevices))]
    public void GradIsNullUntilBackwardThenAccumulates(string device)
    {
        var d = TestDevices.Use(device);
        var x = Tensor.FromArray(new float[] { 1, 2, 3 }, device: d).RequiresGradient();
        Assert.Null(x.Grad);
        Assert.True(x.IsLeaf);
        var y = (x * x).Sum();
        Assert.False(y.IsLeaf);
        Assert.Equal("Sum", y.GradFn);
        y.Backward(retainGraph: true);
        Assert.Equal(new float[] { 2, 4, 6 }, x.Grad!.ToArray<float>());
        y.Backward();
        Assert.Equal(new float[] { 4, 8, 12 }, x.Grad!.ToArray<float>()); // accumulated until reset
        x.Grad = null;
        (x * 3f).Sum().Backward();
        Assert.Equal(new float[] { 3, 3, 3 }, x.Grad!.ToArray<float>());
    }

    [Theory, MemberData(nameof(TestDevices.All), MemberType = typeof(TestDevices))]
    public void ATensorUsedTwiceReceivesTheSumOfBothUses(string device)
    {
        var d = TestDevices.Use(device);
        var w = Tensor.FromArray(new float[] { 2, -1 }, device: d).RequiresGradient();
        var x = Tensor.FromArray(new float[] { 3, 4 }, device: d);
        // A tied weight: y = w·(w·x); dy/dw = 2·w·x.
        var y = (w * (w * x)).Sum();
        y.Backward();
        Assert.Equal(new float[] { 12, -8 }, w.Grad!.ToArray<float>());
    }

    [Fact]
    public void NoGradDetachAndRequiresGradRules()
    {
        var x = Tensor.Ones(3).RequiresGradient();
        using (Autograd.NoGrad())
        {
            Assert.False(Autograd.IsEnabled);
            var y = x * 2f;
            Assert.False(y.RequiresGrad);
            x.AddInPlace(Tensor.Ones(3)); // in-place on a leaf is allowed without recording
        }
        Assert.True(Autograd.IsEnabled);
        Assert.Equal(new float[] { 2, 2, 2 }, x.ToArray<float>());
        var d = (x * 2f).Detach();
        Assert.False(d.RequiresGrad);
        Assert.True(d.IsLeaf);
        Assert.Same(x.Storage, x.Detach().Storage);
        Assert.Contains("does not require grad", Assert.Throws<InvalidOperationException>(() => d.Sum().Backward()).Message);
        Assert.Throws<InvalidOperationException>(() => (x * 2f).RequiresGrad = false);
        Assert.Throws<InvalidOperationException>(() => Tensor.Arange(3, DType.Int64).RequiresGrad = true);
        Assert.Contains("one-element", Assert.Throws<InvalidOperationException>(() => (x * 2f).Backward()).Message);
        var e = Assert.Throws<InvalidOperationException>(() => x.AddInPlace(Tensor.Ones(3)));
        Assert.Contains("NoGrad", e.Message);
        Assert.False(x.Gt(1f).RequiresGrad); // comparisons carry no gradient
        Assert.False(x.ArgMax().RequiresGrad);
    }

    [Fact]
    public void SecondBackwardThroughAFreedGraphFailsClearly()
    {
        var x = Tensor.Ones(2).RequiresGradient();
        var y = (x.Exp() * 2f).Sum();
        y.Backward();
        var e = Assert.Throws<InvalidOperationException>(() => y.Backward());
        Assert.Contains("second time", e.Message);
        Assert.Contains("retainGraph", e.Message);
    }

    [Fact]
    public void InPlaceChangeOfASavedTensorIsRefused()
    {
        var x = Tensor.Ones(2).RequiresGradient();
        var h = x * 3f;
        var y = h.Exp();        // Exp saves its input h
        using (Autograd.NoGrad()) h.MulInPlace(2f);
        var e = Assert.Throws<InvalidOperationException>(() => y.Sum().Backward());
        Assert.Contains("modified in place", e.Message);
        Assert.Contains("Exp", e.Message);
    }

    [Fact]
    public void NonScalarBackwardTakesAnExplicitGradient()
    {
        var x = Tensor.FromArray(new float[] { 1, 2 }).RequiresGradient();
        var y = x * x;
        y.Backward(Tensor.FromArray(new float[] { 1, 10 }));
        Assert.Equal(new float[] { 2, 40 }, x.Grad!.ToArray<float>());
        Assert.Throws<ArgumentException>(() => (x * x).Backward(Tensor.Ones(3)));
    }

    [Theory, MemberData(nameof(TestDevices.Accelerators), MemberType = typeof(TestDevices))]
    public void GradientsFlowAcrossDeviceCopies(string device)
    {
        var d = TestDevices.Use(device);
        var x = Tensor.FromArray(new float[] { 1, 2 }).RequiresGradient(); // on the CPU
        var y = (x.To(d) * 3f).Sum();
        y.Backward();
        Assert.Equal(Device.Cpu, x.Grad!.Device);
        Assert.Equal(new float[] { 3, 3 }, x.Grad.ToArray<float>());
    }

    [Fact]
    public void DeepChainsDoNotOverflowTheStack()
    {
        var x = Tensor.Ones(1).RequiresGradient();
        var y = x;
        for (int i = 0; i < 20_000; i++) y = y * 1f;
        y.Sum().Backward();
        Assert.Equal(1f, x.Grad!.Item());
    }

    [Theory, MemberData(nameof(TestDevices.All), MemberType = typeof(TestDevices))]
    public void LossesAreStableForLargeLogits(string device)
    {
        var d = TestDevices.Use(device);
        var logits = Tensor.FromArray(new float[] { 100, -100, 0, -100, 100, 50 }, [2, 3], d).RequiresGradient();
        var ce = Functional.CrossEntropy(logits, Tensor.FromArray(new long[] { 1, 0 }, device: d));
        Assert.Equal(200f, ce.Item(), 3);
        ce.Backward();
        Assert.All(logits.Grad!.ToArray<float>(), v => Assert.True(float.IsFinite(v)));
        var bce = Functional.BinaryCrossEntropyWithLogits(logits, Tensor.Zeros([2, 3], device: d), Reduction.Sum);
        Assert.True(float.IsFinite(bce.Item()));
        Assert.Equal(250.6931f, bce.Item(), 3); // log(1 + e^100) ≈ 100, twice, log(1 + e^50) ≈ 50, log 2 at 0, ≈ 0 for -100
        var sm = Functional.Softmax(logits, 1).ToArray<float>();
        Assert.All(sm, v => Assert.True(float.IsFinite(v) && v >= 0 && v <= 1));
        var badLabels = Tensor.FromArray(new long[] { 1, 3 }, device: d);
        if (d == Device.Cpu)
            Assert.Contains("[0, 3)", Assert.Throws<ArgumentOutOfRangeException>(() => Functional.CrossEntropy(logits, badLabels)).Message);
        else Assert.True(float.IsNaN(Functional.CrossEntropy(logits, badLabels).Item())); // no host round-trip on accelerators
    }

    /// <summary>
    /// A leaf takes a rule's fresh gradient without a copy; these are the cases where it must not: the same tensor
    /// handed to two leaves (a + b), the incoming gradient passed straight through, and a leaf reached twice (the second
    /// contribution adds in place and must not leak into a tensor another path still reads).
    /// </summary>
    [Theory, MemberData(nameof(TestDevices.All), MemberType = typeof(TestDevices))]
    public void LeafGradientsNeverAliasEachOtherOrTheGraph(string device)
    {
        var d = TestDevices.Use(device);
        var a = Tensor.FromArray(new float[] { 1, 2 }, device: d).RequiresGradient();
        var b = Tensor.FromArray(new float[] { 3, 4 }, device: d).RequiresGradient();
        (a + b).Sum().Backward();
        Assert.NotSame(a.Grad!.Storage, b.Grad!.Storage);
        a.Grad.AddInPlace(Tensor.Ones([2], device: d));
        Assert.Equal(new float[] { 1, 1 }, b.Grad.ToArray<float>());

        // w reaches the loss through a pass-through add and through a product: 1·w + 3·w·w ⇒ dL/dw = 1 + 6w.
        var w = Tensor.FromArray(new float[] { 0.5f, -1f }, device: d).RequiresGradient();
        var t = w * w * 3f;
        (w + t).Sum().Backward();
        Assert.Equal(new float[] { 4f, -5f }, w.Grad!.ToArray<float>());

        // A fresh gradient (from a product) becomes the leaf's gradient; a second backward adds into it.
        var v = Tensor.FromArray(new float[] { 2f }, device: d).RequiresGradient();
        var k = Tensor.FromArray(new float[] { 5f }, device: d);
        (v * k).Sum().Backward();
        (v * k).Sum().Backward();
        Assert.Equal(10f, v.Grad!.Item());
        Assert.Equal(5f, k.Item());
    }
}
