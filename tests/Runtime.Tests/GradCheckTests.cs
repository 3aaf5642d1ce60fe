using DeepSharp;

namespace DeepSharp.Tests;

/// <summary>
/// The gradient checks of every differentiable op, written once as a table and run on every device: here the float32
/// gradients against the float64 reference, and in <see cref="GradCheck64Tests"/> the float64 gradients against finite
/// differences. Inputs keep away from kinks (0 for relu/abs, ties for max).
/// </summary>
public class GradCheckTests
{
    public sealed record Case(int[][] Shapes, Func<Tensor[], Tensor> F, Func<int, int, float>? Init = null);

    private static float Away(int input, int j) => (j % 2 == 0 ? 1 : -1) * (0.3f + 0.17f * ((j * 7 + input * 3) % 11));
    private static float Positive(int input, int j) => 0.5f + 0.13f * ((j * 5 + input * 7) % 13);
    private static float Distinct(int input, int j) => 0.37f * ((j * 7 + input * 5) % 23) - 4f;

    public static readonly Dictionary<string, Case> Cases = new()
    {
        ["neg"] = new([[2, 3]], x => -x[0]),
        ["abs"] = new([[2, 3]], x => x[0].Abs(), Away),
        ["exp"] = new([[2, 3]], x => x[0].Exp()),
        ["log"] = new([[2, 3]], x => x[0].Log(), Positive),
        ["sqrt"] = new([[2, 3]], x => x[0].Sqrt(), Positive),
        ["square"] = new([[2, 3]], x => x[0].Square()),
        ["sin_cos"] = new([[5]], x => x[0].Sin() + x[0].Cos()),
        ["tanh"] = new([[2, 3]], x => x[0].Tanh()),
        ["relu"] = new([[2, 3]], x => x[0].Relu(), Away),
        ["sigmoid"] = new([[2, 3]], x => x[0].Sigmoid()),
        ["pow_scalar"] = new([[4]], x => x[0].Pow(2.5f), Positive),
        ["scalar_ops"] = new([[4]], x => (2f - x[0]) * 3f + x[0] / 2f - 1f + 4f / x[0], Away),
        ["add_broadcast"] = new([[2, 3], [3]], x => x[0] + x[1]),
        ["sub_broadcast"] = new([[2, 1], [1, 3]], x => x[0] - x[1]),
        ["mul"] = new([[2, 3], [2, 3]], x => x[0] * x[1]),
        ["div_broadcast"] = new([[2, 3], [3]], x => x[0] / x[1], Away),
        ["pow_tensor"] = new([[2, 2], [2, 2]], x => x[0].Pow(x[1]), Positive),
        ["maximum_minimum"] = new([[3, 2], [2]], x => Tensor.Maximum(x[0], x[1]) + Tensor.Minimum(x[0], x[1]) * 2f, Distinct),
        ["where"] = new([[2, 3], [3]], x => Tensor.Where(x[0].Gt(0f), x[0] * 2f, x[1]), Away),
        ["sum_all"] = new([[2, 3]], x => x[0].Sum()),
        ["sum_axis_keep"] = new([[2, 3, 2]], x => x[0].Sum(1, keepDim: true)),
        ["mean_axes"] = new([[2, 3, 2]], x => x[0].Mean([0, 2])),
        ["max_axis"] = new([[3, 4]], x => x[0].Max(1), Distinct),
        ["min_all"] = new([[3, 4]], x => x[0].Min(), Distinct),
        ["max_with_indices"] = new([[3, 4]], x => x[0].MaxWithIndices(1).Values, Distinct),
        ["min_with_indices_keepdim"] = new([[2, 3, 2]], x => x[0].MinWithIndices(-2, keepDim: true).Values.Square(), Distinct),
        ["reshape_transpose"] = new([[2, 3]], x => x[0].Reshape(3, 2).T * Tensor.Arange(0, 6, 1, device: x[0].Device).Reshape(2, 3)),
        ["permute"] = new([[2, 3, 4]], x => x[0].Permute(2, 0, 1) * Tensor.Arange(0, 24, 1, device: x[0].Device).Reshape(4, 2, 3)),
        ["slice_select"] = new([[4, 5]], x => x[0].Slice(1, 1, 5, 2).Square() + x[0].Select(0, -1).Slice(0, 0, 2).Unsqueeze(0)),
        ["expand_squeeze"] = new([[3, 1]],
            x => x[0].Expand(3, 4).Unsqueeze(0).Squeeze(0) * Tensor.Arange(0, 12, 1, device: x[0].Device).Reshape(3, 4)),
        ["clone_flatten_view"] = new([[2, 3]], x => x[0].Clone().Flatten().View(3, 2).Contiguous().Square()),
        ["matmul_2d"] = new([[3, 4], [4, 2]], x => x[0].MatMul(x[1])),
        ["matmul_batched_broadcast"] = new([[2, 1, 3, 4], [3, 4, 2]], x => Tensor.MatMul(x[0], x[1])),
        ["matmul_vector"] = new([[4], [4, 3], [4]], x => x[0].MatMul(x[1]) + x[2].MatMul(x[2])),
        ["matmul_transposed_view"] = new([[4, 3], [4, 2]], x => x[0].T.MatMul(x[1])),
        ["concat_stack"] = new([[2, 3], [2, 2]],
            x => Tensor.Concat([x[0], x[1]], 1).Square() + Tensor.Stack([x[1], x[1] * 2f]).Sum(0).Sum(1, keepDim: true)),
        ["gather_rows"] = new([[4, 3]], x => x[0].GatherRows(Tensor.FromArray(new long[] { 2, 0, 2, -1 }, device: x[0].Device)).Square()),
        ["embedding"] = new([[4, 3]],
            x => Functional.Embedding(Tensor.FromArray(new long[] { 2, 0, 2, 1, 2 }, [5], x[0].Device), x[0]).Square()),
        ["dtype_roundtrip"] = new([[3]], x => x[0].To(DType.Float64).To(DType.Float32).Square()),
        ["softmax"] = new([[2, 4]], x => Functional.Softmax(x[0], 1)),
        ["log_softmax"] = new([[3, 4]], x => Functional.LogSoftmax(x[0], 0)),
        ["softmax_middle_axis"] = new([[2, 3, 4]], x => Functional.Softmax(x[0], 1)),
        ["log_softmax_transposed_view"] = new([[4, 3]], x => Functional.LogSoftmax(x[0].T, -1)),
        ["softmax_masked"] = new([[2, 4]], x => Functional.Softmax(x[0] + Tensor.FromArray(
            new[] { 0f, float.NegativeInfinity, 0f, 0f, float.NegativeInfinity, 0f, float.NegativeInfinity, 0f }, [2, 4], x[0].Device))),
        // The masked outputs are −inf: replaced by 0 (Where passes no gradient there), so the weighted sum stays finite.
        ["log_softmax_masked_large"] = new([[2, 4]], x =>
        {
            var y = Functional.LogSoftmax(x[0] * 3f + 1e3f + Tensor.FromArray(
                new[] { 0f, 0f, float.NegativeInfinity, 0f, 0f, 0f, 0f, float.NegativeInfinity }, [2, 4], x[0].Device));
            return Tensor.Where(y.Gt(float.NegativeInfinity), y, Tensor.Scalar(0f, y.Device));
        }),
        ["sdpa"] = new([[2, 3, 4], [2, 5, 4], [2, 5, 3]], x => Functional.ScaledDotProductAttention(x[0], x[1], x[2])),
        ["sdpa_causal_scale"] = new([[1, 2, 4, 3], [1, 2, 4, 3], [1, 2, 4, 2]],
            x => Functional.ScaledDotProductAttention(x[0], x[1], x[2], isCausal: true, scale: 0.7f)),
        ["sdpa_float_mask_grad"] = new([[2, 3, 4], [2, 5, 4], [2, 5, 2], [3, 5]],
            x => Functional.ScaledDotProductAttention(x[0], x[1], x[2], x[3])),
        ["sdpa_int_mask_transposed"] = new([[4, 3], [5, 4], [5, 2]], x => Functional.ScaledDotProductAttention(x[0].T, x[1], x[2],
            Tensor.FromArray(new[] { 1, 0, 1, 1, 0, 0, 1, 1, 1, 1, 1, 1, 0, 0, 1 }, [3, 5], x[0].Device))),
        ["erf"] = new([[2, 5]], x => (x[0] * 1.5f).Erf()),
        ["leaky_relu"] = new([[2, 3]], x => x[0].LeakyRelu(0.2f), Away),
        ["gelu"] = new([[2, 5]], x => (x[0] * 2f).Gelu()),
        ["gelu_tanh"] = new([[2, 5]], x => (x[0] * 2f).Gelu("tanh")),
        ["silu"] = new([[2, 5]], x => (x[0] * 3f).Silu()),
        ["hardtanh"] = new([[2, 5]], x => x[0].Hardtanh(-1.1f, 1.4f), Away),
        ["clamp"] = new([[2, 5]], x => x[0].Clamp(-0.9f, 1.4f) + x[0].Clamp(min: 0.5f) * 2f, Away),
        ["elu"] = new([[2, 5]], x => x[0].Elu(0.7f), Away),
        ["softplus"] = new([[2, 5]], x => x[0].Softplus(2f, 2f) + (x[0] * 4f).Softplus(), Away),
        ["mse"] = new([[2, 3], [2, 3]], x => Functional.MseLoss(x[0], x[1])),
        ["cross_entropy"] = new([[3, 4]],
            x => Functional.CrossEntropy(x[0], Tensor.FromArray(new long[] { 1, 3, 0 }, device: x[0].Device))),
        ["bce_with_logits"] = new([[2, 3], [2, 3]], x => Functional.BinaryCrossEntropyWithLogits(x[0], x[1].Sigmoid()), Away),
        ["bce_with_logits_sum"] = new([[5], [5]], x => Functional.BinaryCrossEntropyWithLogits(x[0] * 4f, x[1].Sigmoid(), Reduction.Sum)),
        ["cross_entropy_large"] = new([[2, 3]], x =>
            Functional.CrossEntropy(x[0] + 1e3f, Tensor.FromArray(new long[] { 2, 0 }, device: x[0].Device))),
        ["conv2d_rect_dilated"] = new([[2, 2, 5, 6], [3, 2, 2, 3], [3]], x => Functional.Conv2d(x[0], x[1], x[2], (1, 2), (1, 0), (2, 1))),
        ["conv2d_groups"] = new([[1, 4, 4, 4], [4, 2, 3, 3], [4]], x => Functional.Conv2d(x[0], x[1], x[2], (1, 1), (1, 1), null, 2)),
        ["conv2d_depthwise"] = new([[2, 3, 4, 4], [3, 1, 3, 3]], x => Functional.Conv2d(x[0], x[1], null, 2, 1, 1, 3)),
        ["conv2d_1x1"] = new([[2, 3, 2, 3], [2, 3, 1, 1], [2]], x => Functional.Conv2d(x[0], x[1], x[2])),
        ["max_pool_rect"] = new([[1, 2, 5, 4]], x => Functional.MaxPool2d(x[0], (2, 3), (2, 1), (1, 1)), Distinct),
        ["avg_pool_rect_exclude_pad"] = new([[1, 2, 5, 4]], x => Functional.AvgPool2d(x[0], (3, 2), (2, 1), (1, 1), false)),
        ["adaptive_avg"] = new([[2, 2, 5, 7]], x => Functional.AdaptiveAvgPool2d(x[0], (3, 4))),
        ["adaptive_avg_global"] = new([[2, 3, 2, 3]], x => Functional.AdaptiveAvgPool2d(x[0], 1)),
        ["adaptive_max"] = new([[1, 2, 5, 7]], x => Functional.AdaptiveMaxPool2d(x[0], (3, 4)), Distinct),
        ["lstm_cell"] = new([[2, 12], [2, 3]], x => { var (h, c) = Functional.LstmCell(x[0], x[1]); return Tensor.Concat([h, c], 1); }),
        ["lstm_sequence_reverse"] = new([[2, 2, 64], [64, 16], [2, 16], [2, 16]], x =>
        {
            var (y, h, c) = Functional.LstmSequence(x[0], x[1], x[2], x[3], reverse: true);
            return Tensor.Concat([y.Reshape(4, 16), h, c], 0);
        }),
        ["gru_cell"] = new([[2, 9], [2, 9], [2, 3]], x => Functional.GruCell(x[0], x[1], x[2])),
        ["custom_unary"] = new([[2, 5]], x => TestOps.SoftplusOf(x[0] * 3f)),
        ["custom_binary_broadcast"] = new([[2, 3], [3]], x => TestOps.MulAddScaledOf(x[0], x[1], -0.7f)),
    };

    public static TheoryData<string, string> All()
    {
        var d = new TheoryData<string, string>();
        foreach (var dev in TestDevices.Names) foreach (var name in Cases.Keys) d.Add(dev, name);
        return d;
    }

    /// <summary>
    /// The float32 paths' gradients (the fused kernels' own rules among them) against the float64 gradient of the same
    /// function at the same inputs, taken on the CPU by autograd — which <see cref="GradCheck64Tests"/> checks against
    /// finite differences to 1e−6, and which for the fused ops comes from their float64 composites, not from the rules
    /// under test. The tolerance, 1e−4 relative, leaves room for float32 rounding only: a rule 1e−3 wrong fails.
    /// </summary>
    [Theory, MemberData(nameof(All))]
    public void Float32GradientMatchesTheFloat64Reference(string device, string name)
    {
        var d = TestDevices.Use(device);
        var c = Cases[name];
        var init = c.Init ?? ((i, j) => (float)Math.Sin(1.3 * j + 0.7 * i + 0.2) * 1.5f);
        var values = c.Shapes.Select((s, i) =>
            Enumerable.Range(0, s.Aggregate(1, (a, b) => a * b)).Select(j => init(i, j)).ToArray()).ToArray();
        var weights = (Func<int[], DType, Tensor>)((shape, dtype) => Tensor.FromArray(
            Enumerable.Range(0, shape.Aggregate(1, (a, b) => a * b))
            .Select(j => (float)Math.Cos(0.9 * j + 0.3)).ToArray(), shape).To(dtype));

        // Analytic gradients in float32 on the device under test.
        var inputs = values.Select((v, i) => Tensor.FromArray(v, c.Shapes[i], d).RequiresGradient()).ToArray();
        var y = c.F(inputs);
        Assert.Equal(DType.Float32, y.DType);
        (y * weights(y.Shape, DType.Float32).To(d)).Sum().Backward();

        // The reference: the same inputs in float64 on the CPU.
        var wide = values.Select((v, i) => Tensor.FromArray(v.Select(x => (double)x).ToArray(), c.Shapes[i]).RequiresGradient()).ToArray();
        var yy = c.F(wide);
        (yy * weights(yy.Shape, DType.Float64)).Sum().Backward();

        double tol = d.Kind is DeviceKind.Cuda or DeviceKind.OpenCL ? 3e-4 : 1e-4; // approximate exp and tanh on GPUs
        for (int i = 0; i < inputs.Length; i++)
        {
            Assert.NotNull(inputs[i].Grad);
            Assert.Equal(DType.Float32, inputs[i].Grad!.DType);
            var analytic = inputs[i].Grad!.ToArray<float>();
            var reference = wide[i].Grad!.ToArray<double>();
            double scale = reference.Max(Math.Abs);
            for (int j = 0; j < values[i].Length; j++)
                Assert.True(Math.Abs(reference[j] - analytic[j]) <= tol * (1 + Math.Max(Math.Abs(reference[j]), scale * 1e-2)),
                    $"{name}: d/dx{i}[{j}] float32 {analytic[j]:R} vs float64 {reference[j]:R} on {d}");
        }
    }
}
