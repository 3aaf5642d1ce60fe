using DeepSharp.Layers;

namespace DeepSharp.Layers.Tests;

/// <summary>
/// The gradient checks of a layer, of its input and of every parameter, for d(Σ w·y) with fixed weights w:
/// <see cref="Float64"/> as PyTorch's gradcheck on <c>model.double()</c>, <see cref="Float32"/> for the float32 paths (the
/// fused kernels' own rules among them) against those float64 gradients.
/// </summary>
internal static class LayerGradCheck
{
    /// <summary>d(Σ w·y)/d(x and every parameter) by autograd, as host arrays.</summary>
    private static List<(string What, double[] Grad)> Gradients(Block block, Tensor x, Tensor w)
    {
        var y = block.Call(x);
        (y * w).Sum().Backward();
        Assert.Empty(block.ParametersWithoutGrad());
        var grads = new List<(string, double[])> { ("x", x.Grad!.ToDoubleArray()) };
        grads.AddRange(block.NamedParameters().Select(p => (p.Path, p.Parameter.Grad!.ToDoubleArray())));
        return grads;
    }

    private static Tensor Weights(int[] shape, DType dtype, Device d) => Tensor.FromArray(
        Enumerable.Range(0, shape.Aggregate(1, (a, b) => a * b)).Select(i => Math.Cos(i + 0.3)).ToArray(), shape, d).To(dtype);

    /// <summary>
    /// The block (initialized, on <paramref name="d"/>) converted with <see cref="Block.To(DType)"/> to float64: its
    /// gradients on <paramref name="d"/> against central differences of float64 forward passes on the CPU (eps 1e−6), to
    /// 1e−6 relative. A layer in training mode may update its running statistics on every pass; it must not read them.
    /// </summary>
    public static void Float64(Block block, int[] shape, float[] xv, Device d, string name)
    {
        block.To(DType.Float64);
        var x = Tensor.FromArray(xv, shape, d).To(DType.Float64).RequiresGradient();
        var y = block.Call(x);
        Assert.Equal(DType.Float64, y.DType);
        var w = Weights(y.Shape, DType.Float64, d);
        var analytic = Gradients(block, x, w);
        // The numerical side runs on the CPU: move the block there (in place) with the same values.
        block.To(Device.Cpu);
        x = x.To(Device.Cpu).Detach(); w = w.To(Device.Cpu);
        var data = new List<Tensor> { x };
        data.AddRange(block.NamedParameters().Select(p => p.Parameter.Data));
        double Loss() { using var _ = Autograd.NoGrad(); return (block.Call(x) * w).Sum().Item<double>(); }
        const double eps = 1e-6;
        for (int k = 0; k < data.Count; k++)
        {
            var flat = data[k].Detach().Reshape(-1);
            for (int j = 0; j < flat.Count; j++)
            {
                double orig = flat[j].Item<double>();
                void Set(double v) { using (Autograd.NoGrad()) flat[j].CopyFrom(Tensor.Full([], v, DType.Float64)); }
                Set(orig + eps);
                double up = Loss();
                Set(orig - eps);
                double down = Loss();
                Set(orig);
                double numeric = (up - down) / (2 * eps), a = analytic[k].Grad[j];
                Assert.True(Math.Abs(numeric - a) <= 1e-6 * (1 + Math.Abs(numeric)),
                    $"{name} on {d}: d/d{analytic[k].What}[{j}] autograd {a:R} vs {numeric:R}");
            }
        }
    }

    /// <summary>
    /// The float32 block (initialized, on <paramref name="d"/>) against the float64 gradients of the same block and values on
    /// the CPU (which <see cref="Float64"/> checks): to 1e−4 relative (3e−4 where exp and tanh are approximate), room for
    /// float32 rounding only — a rule 1e−3 wrong fails.
    /// </summary>
    public static void Float32(Block block, int[] shape, float[] xv, Device d, string name)
    {
        var x = Tensor.FromArray(xv, shape, d).RequiresGradient();
        var y = block.Call(x);
        Assert.Equal(DType.Float32, y.DType);
        var actual = Gradients(block, x, Weights(y.Shape, DType.Float32, d));
        foreach (var p in block.Parameters()) p.Data.Grad = null;
        block.To(Device.Cpu).To(DType.Float64);
        var reference = Gradients(block, Tensor.FromArray(xv, shape).To(DType.Float64).RequiresGradient(),
            Weights(y.Shape, DType.Float64, Device.Cpu));
        double tol = d.Kind is DeviceKind.Cuda or DeviceKind.OpenCL ? 3e-4 : 1e-4;
        for (int k = 0; k < actual.Count; k++)
        {
            double scale = reference[k].Grad.Length == 0 ? 0 : reference[k].Grad.Max(Math.Abs);
            for (int j = 0; j < actual[k].Grad.Length; j++)
                Assert.True(Math.Abs(reference[k].Grad[j] - actual[k].Grad[j]) <=
                    tol * (1 + Math.Max(Math.Abs(reference[k].Grad[j]), scale * 1e-2)),
                    $"{name} on {d}: d/d{actual[k].What}[{j}] float32 {actual[k].Grad[j]:R} vs float64 {reference[k].Grad[j]:R}");
        }
    }
}
