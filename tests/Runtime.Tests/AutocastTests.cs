using DeepSharp.Backends;
using DeepSharp.Optim;

namespace DeepSharp.Tests;

/// <summary>16-bit tensors through the op set (computed in float32, rounded once) and autocast's rules: products in the low
/// dtype, the float32 list in float32, promotion for mixed operands, float32 gradients for float32 parameters, and training
/// that matches float32's.</summary>
public class AutocastTests
{
    private static double Round(double v, DType dtype) =>
        dtype == DType.Float16 ? (double)BitConverter.UInt16BitsToHalf(HalfBits.ToHalf(v))
            : HalfBits.BFloat16ToSingle(HalfBits.ToBFloat16(v));

    private static double[] Rounded(float[] x, DType dtype) => x.Select(v => Round(v, dtype)).ToArray();

    private static double[] Values(Tensor t) => t.To(DType.Float64).ToArray<double>();

    [Theory, MemberData(nameof(TestDevices.All), MemberType = typeof(TestDevices))]
    public void HalfTensorsComputeInFloat32AndRoundOnce(string device)
    {
        var d = TestDevices.Use(device);
        foreach (var dtype in new[] { DType.Float16, DType.BFloat16 })
        {
            var xs = Ref.Random(40, 1);
            using var x = Tensor.FromArray(xs, [8, 5]).To(d).To(dtype);
            var xr = Rounded(xs, dtype);
            using var e = x.Exp();
            Assert.Equal(dtype, e.DType);
            Ref.Close(xr.Select(Math.Exp).ToArray(), Values(e).Select(v => (float)v).ToArray(),
                dtype == DType.Float16 ? 1e-3 : 8e-3, "exp");
            // Exactly the float32 op's result rounded once: the same kernel on the widened input, then one cast.
            using (var wide = x.To(DType.Float32))
            using (var once = wide.Exp())
                Assert.Equal(Values(once.To(dtype)), Values(e));
            // The sum accumulates in float32: 1000 ones in bfloat16 would stop at 256 if added in bfloat16.
            Assert.Equal(1000.0, Values(Tensor.Ones([1000], dtype, d).Sum())[0]);
            using var m = x.Mean(1);
            Assert.Equal(dtype, m.DType);
            var rows = Enumerable.Range(0, 8).Select(r => Round((float)(xr.Skip(5 * r).Take(5).Sum() / 5), dtype));
            Ref.Close(rows.ToArray(), Values(m).Select(v => (float)v).ToArray(), 1e-6, "mean");
            // Mixed operands promote: float16 or bfloat16 with float32 computes and returns float32.
            using var y = Tensor.FromArray(Ref.Random(5, 2)).To(d);
            using var sum = x + y;
            Assert.Equal(DType.Float32, sum.DType);
            Assert.Equal(DType.Float32, (x * x.To(dtype == DType.Float16 ? DType.BFloat16 : DType.Float16)).DType);
            Assert.Equal(dtype, (x * 2f).Relu().DType);
            // A product of two 16-bit matrices: float32 accumulation, one rounding.
            using var w = Tensor.FromArray(Ref.Random(15, 3), [5, 3]).To(d).To(dtype);
            using var p = Tensor.MatMul(x, w);
            Assert.Equal(dtype, p.DType);
            var wr = Values(w);
            var expected = new double[24];
            for (int i = 0; i < 8; i++)
                for (int j = 0; j < 3; j++)
                {
                    double acc = 0;
                    for (int k = 0; k < 5; k++) acc += xr[5 * i + k] * wr[3 * k + j];
                    expected[3 * i + j] = acc;
                }
            var got = Values(p);
            for (int i = 0; i < 24; i++) Assert.Equal(Round((float)expected[i], dtype), got[i], Math.Abs(expected[i]) * 1e-5 + 1e-6);
            // In place: computed in float32, rounded into the tensor.
            using var z = Tensor.Ones([3], dtype, d);
            using (Autograd.NoGrad()) z.MulInPlace(3f).AddInPlace(Tensor.FromArray(new[] { 0.1f, 0f, 0f }).To(d));
            Assert.Equal(new[] { Round(3.1f, dtype), 3, 3 }, Values(z));
        }
    }

    [Theory, MemberData(nameof(TestDevices.All), MemberType = typeof(TestDevices))]
    public void TheScopeLowersProductsAndKeepsTheFloat32ListInFloat32(string device)
    {
        var d = TestDevices.Use(device);
        using var x = Tensor.FromArray(Ref.Random(24, 4), [4, 6]).To(d);
        using var w = Tensor.FromArray(Ref.Random(18, 5), [3, 6]).To(d).RequiresGradient();
        using var b = Tensor.FromArray(Ref.Random(3, 6)).To(d).RequiresGradient();
        using var labels = Tensor.FromArray(new long[] { 0, 2, 1, 2 }).To(d);
        Assert.False(Autocast.IsEnabled);
        Tensor logits, loss, probs, norm;
        using (Autocast.Enable(DType.BFloat16))
        {
            Assert.Equal(DType.BFloat16, Autocast.LowDType);
            logits = Functional.Linear(x, w, b);
            probs = Functional.Softmax(logits);
            norm = Functional.LayerNorm(logits, [3]);
            loss = Functional.CrossEntropy(logits, labels);
            using (Autocast.Disable())
            {
                Assert.False(Autocast.IsEnabled);
                Assert.Equal(DType.Float32, Functional.Linear(x, w, b).DType);
            }
            Assert.True(Autocast.IsEnabled);
        }
        Assert.Null(Autocast.LowDType);
        Assert.Equal(DType.BFloat16, logits.DType);
        using (Autocast.Enable(DType.BFloat16)) // a float16 input is cast to the scope's dtype too, as PyTorch casts every float
            Assert.Equal(DType.BFloat16, Functional.Linear(x.To(DType.Float16), w).DType);
        Assert.Equal(DType.Float32, probs.DType);
        Assert.Equal(DType.Float32, norm.DType);
        Assert.Equal(DType.Float32, loss.DType);
        // The linear layer is x·Wᵀ + b from the bfloat16-rounded operands, accumulated exactly enough, rounded once.
        var (xr, wr, br) = (Rounded(x.ToArray<float>(), DType.BFloat16), Rounded(w.ToArray<float>(), DType.BFloat16),
            Rounded(b.ToArray<float>(), DType.BFloat16));
        var got = Values(logits);
        for (int i = 0; i < 4; i++)
            for (int o = 0; o < 3; o++)
            {
                double acc = br[o];
                for (int k = 0; k < 6; k++) acc += xr[6 * i + k] * wr[6 * o + k];
                Assert.Equal(Round((float)acc, DType.BFloat16), got[3 * i + o], Math.Abs(acc) * 1e-5 + 1e-6);
            }
        // Gradients come back float32 and match float32's to bfloat16's precision.
        loss.Backward();
        Assert.Equal(DType.Float32, w.Grad!.DType);
        Assert.Equal(DType.Float32, b.Grad!.DType);
        var (gw, gb) = (w.Grad.ToArray<float>(), b.Grad.ToArray<float>());
        w.Grad = null; b.Grad = null;
        Functional.CrossEntropy(Functional.Linear(x, w, b), labels).Backward();
        Ref.Close(w.Grad!.ToArray<float>().Select(v => (double)v).ToArray(), gw, 2e-2, "dW");
        Ref.Close(b.Grad!.ToArray<float>().Select(v => (double)v).ToArray(), gb, 2e-2, "db");
        Assert.Throws<ArgumentOutOfRangeException>(() => Autocast.Enable(DType.Float64));
    }

    [Theory, MemberData(nameof(TestDevices.All), MemberType = typeof(TestDevices))]
    public void ConvolutionsAndAttentionRunInTheLowDType(string device)
    {
        var d = TestDevices.Use(device);
        using var x = Tensor.FromArray(Ref.Random(2 * 3 * 6 * 6, 7), [2, 3, 6, 6]).To(d);
        using var k = Tensor.FromArray(Ref.Random(4 * 3 * 3 * 3, 8), [4, 3, 3, 3]).To(d);
        using var q = Tensor.FromArray(Ref.Random(2 * 5 * 8, 9), [2, 5, 8]).To(d);
        var convRef = Functional.Conv2d(x, k, padding: 1).ToArray<float>();
        var attnRef = Functional.ScaledDotProductAttention(q, q, q, isCausal: true).ToArray<float>();
        using (Autocast.Enable(DType.Float16))
        {
            using var c = Functional.Conv2d(x, k, padding: 1);
            Assert.Equal(DType.Float16, c.DType);
            Ref.Close(convRef.Select(v => (double)v).ToArray(), c.To(DType.Float32).ToArray<float>(), 1e-2, "conv");
            using var pooled = Functional.MaxPool2d(c.Relu(), 2);
            Assert.Equal(DType.Float16, pooled.DType);
            using var a = Functional.ScaledDotProductAttention(q, q, q, isCausal: true);
            Assert.Equal(DType.Float16, a.DType);
            Ref.Close(attnRef.Select(v => (double)v).ToArray(), a.To(DType.Float32).ToArray<float>(), 1e-2, "attention");
        }
    }

    /// <summary>A two-layer classifier on a fixed synthetic task; returns the final loss and accuracy.</summary>
    private static (float Loss, double Accuracy) Train(Device d, DType? low, GradScaler? scaler)
    {
        var g = new Generator(3);
        using var x = Tensor.Randn([256, 10], generator: g, device: d);
        using var y = x.Slice(1, 0, 4).ArgMax(1);
        using var w1 = (Tensor.Randn([32, 10], generator: g, device: d) * 0.3f).RequiresGradient();
        using var b1 = Tensor.Zeros([32], device: d).RequiresGradient();
        using var w2 = (Tensor.Randn([4, 32], generator: g, device: d) * 0.3f).RequiresGradient();
        using var opt = new Adam([w1, b1, w2], lr: 0.02f);
        float last = 0;
        for (int step = 0; step < 60; step++)
        {
            using var scope = TensorScope.Begin();
            opt.ZeroGrad();
            Tensor loss;
            using (low is { } t ? Autocast.Enable(t) : Autocast.Disable())
            {
                var logits = Functional.Linear(Functional.Linear(x, w1, b1).Relu(), w2);
                Assert.Equal(low ?? DType.Float32, logits.DType); // the scope is in effect
                loss = Functional.CrossEntropy(logits, y);
            }
            (scaler?.Scale(loss) ?? loss).Backward();
            if (scaler is null) opt.Step();
            else { scaler.Step(opt); scaler.Update(); }
            last = loss.Item<float>();
        }
        using (Autograd.NoGrad())
        {
            var pred = Functional.Linear(Functional.Linear(x, w1, b1).Relu(), w2).ArgMax(1).ToArray<long>();
            var truth = y.ToArray<long>();
            return (last, pred.Zip(truth).Count(p => p.First == p.Second) / 256.0);
        }
    }

    [Theory, MemberData(nameof(TestDevices.All), MemberType = typeof(TestDevices))]
    public void TrainingUnderAutocastMatchesFloat32(string device)
    {
        var d = TestDevices.Use(device);
        var full = Train(d, null, null);
        var bf16 = Train(d, DType.BFloat16, null);
        var fp16 = Train(d, DType.Float16, new GradScaler());
        Assert.True(full.Accuracy > 0.9, $"float32 reached only {full.Accuracy:P1}");
        Assert.InRange(bf16.Accuracy, full.Accuracy - 0.03, 1);
        Assert.InRange(fp16.Accuracy, full.Accuracy - 0.03, 1);
        Assert.InRange(bf16.Loss, 0, full.Loss * 1.2 + 0.02);
        Assert.InRange(fp16.Loss, 0, full.Loss * 1.2 + 0.02);
    }

    [Theory, MemberData(nameof(TestDevices.All), MemberType = typeof(TestDevices))]
    public void BackwardInsideAScopeStillGivesFloat32GradientsAndTheOptimizerRefusesOthers(string device)
    {
        var d = TestDevices.Use(device);
        using var x = Tensor.FromArray(Ref.Random(12, 1), [3, 4]).To(d);
        using var w = Tensor.FromArray(Ref.Random(8, 2), [2, 4]).To(d).RequiresGradient();
        using var v = Tensor.FromArray(Ref.Random(8, 3), [4, 2]).To(d).RequiresGradient();
        using (Autocast.Enable(DType.BFloat16))
            (Functional.Linear(x, w).Sum() + Tensor.MatMul(x, v).Sum()).Backward(); // the backward runs inside the scope too
        Assert.Equal(DType.Float32, w.Grad!.DType);
        Assert.Equal(DType.Float32, v.Grad!.DType);
        // A gradient of another dtype never reaches an update.
        var before = v.ToArray<float>();
        v.Grad = Tensor.Ones([4, 2], DType.BFloat16, d);
        using var opt = new Sgd([v], lr: 0.5f);
        Assert.Contains("bfloat16 gradient", Assert.Throws<InvalidOperationException>(() => opt.Step()).Message);
        Assert.Equal(before, v.ToArray<float>());
    }

    [Fact]
    public void ScopesNestAndMustBeDisposedInnermostFirst()
    {
        var outer = Autocast.Enable(DType.BFloat16);
        var inner = Autocast.Enable(DType.Float16);
        Assert.Equal(DType.Float16, Autocast.LowDType);
        Assert.Contains("out of order", Assert.Throws<InvalidOperationException>(() => outer.Dispose()).Message);
        inner.Dispose();
        Assert.Equal(DType.BFloat16, Autocast.LowDType);
        outer.Dispose();
        Assert.False(Autocast.IsEnabled);
        outer.Dispose(); // twice: nothing
        Assert.False(Autocast.IsEnabled);
    }

    [Theory, MemberData(nameof(TestDevices.All), MemberType = typeof(TestDevices))]
    public void OpsOnNoListKeepFloat32(string device)
    {
        var d = TestDevices.Use(device);
        using var img = Tensor.FromArray(Ref.Random(2 * 3 * 7 * 7, 4), [2, 3, 7, 7]).To(d);
        var pooledRef = Functional.AdaptiveAvgPool2d(img, (3, 2)).ToArray<float>();
        using var xs = Tensor.FromArray(Ref.Random(5 * 2 * 40, 5), [5, 2, 40]).To(d);
        using var whh = Tensor.FromArray(Ref.Random(40 * 10, 6), [40, 10]).To(d);
        using var h0 = Tensor.Zeros([2, 10], device: d);
        var lstmRef = Functional.LstmSequence(xs, whh, h0, h0).Output.ToArray<float>();
        using (Autocast.Enable(DType.BFloat16))
        {
            // Adaptive pooling is on neither list, and the recurrence runs in float32 (fused or step by step alike).
            using var pooled = Functional.AdaptiveAvgPool2d(img, (3, 2));
            Assert.Equal(DType.Float32, pooled.DType);
            Assert.Equal(pooledRef, pooled.ToArray<float>());
            Assert.Equal(lstmRef, Functional.LstmSequence(xs, whh, h0, h0).Output.ToArray<float>());
        }
    }
}

/// <summary>Bytes in use on an accelerator, counted device-wide: alone, in the serial collection.</summary>
[Collection("Serial")]
public class AutocastMemoryTests
{
    [Theory, MemberData(nameof(TestDevices.Accelerators), MemberType = typeof(TestDevices))]
    public void TheRoundedCopiesGoBackToThePoolWithTheCall(string device)
    {
        var d = TestDevices.Use(device);
        using var x = Tensor.FromArray(Ref.Random(64 * 128, 7), [64, 128]).To(d);
        using var w = Tensor.FromArray(Ref.Random(128 * 128, 8), [128, 128]).To(d);
        using (Autocast.Enable(DType.BFloat16))
        {
            // Inference: the bfloat16 copies of x and w (48 KiB a call) are released when the call returns. Garbage from
            // before is collected first, so that a finalizer cannot hide a leak.
            Functional.Linear(x, w).Dispose();
            GC.Collect();
            GC.WaitForPendingFinalizers();
            long used = d.Stats.BytesInUse;
            for (int i = 0; i < 5; i++) Functional.Linear(x, w).Dispose();
            Assert.True(d.Stats.BytesInUse <= used, $"Linear: {d.Stats.BytesInUse - used} bytes more in use");
            using var q = x.Reshape(4, 16, 128);
            Functional.ScaledDotProductAttention(q, q, q).Dispose();
            GC.Collect();
            GC.WaitForPendingFinalizers();
            used = d.Stats.BytesInUse;
            for (int i = 0; i < 5; i++) Functional.ScaledDotProductAttention(q, q, q, isCausal: true).Dispose();
            Assert.True(d.Stats.BytesInUse <= used, $"attention: {d.Stats.BytesInUse - used} bytes more in use");
        }
    }
}
