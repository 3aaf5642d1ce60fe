using DeepSharp.Backends;

namespace DeepSharp;

// Float64 forms of the fused float32 ops (norms, windows, pooling, recurrent cells, row gathers), composed from the
// element-generic op set: float64 serves exact checks, so each is the op's definition written with tensor ops, whose
// gradients autograd derives. The argument checks stay the fused ops' own; these run after them. Any float64 operand makes
// the op compute in float64 (the others are cast, recorded, so their gradients come back in their own dtype).
public static partial class Functional
{
    /// <summary>Whether any of the tensors is float64: the op then runs its float64 composite.</summary>
    internal static bool AnyFloat64(params Tensor?[] xs) => xs.Any(x => x is { DType: DType.Float64 });

    /// <summary>x in float64 (a recorded cast when it is not), or null.</summary>
    private static Tensor? F64(Tensor? x) => x is null || x.DType == DType.Float64 ? x : x.To(DType.Float64);

    /// <summary>A float64 scalar on x's device (constants in double: a float32 1/n would be off by ~3e−8).</summary>
    private static Tensor Scalar64(double v, Tensor like) => Tensor.Full([], v, DType.Float64, like.Device);

    /// <summary>Batch norm in float64: per channel over N and the trailing dims; running statistics updated as the fused
    /// op does (the unbiased variance), in their own dtype.</summary>
    private static Tensor BatchNorm64(Tensor x, Tensor? runningMean, Tensor? runningVar, Tensor? weight, Tensor? bias,
        bool training, float momentum, float eps) =>
        TensorScope.Composite((x: F64(x)!, runningMean, runningVar, weight: F64(weight), bias: F64(bias), training, momentum, eps),
            static a =>
            {
                var shape = a.x.Layout.ShapeArray;
                int c = shape[1];
                int[] axes = [0, .. Enumerable.Range(2, shape.Length - 2)];
                int[] perChannel = [1, c, .. Enumerable.Repeat(1, shape.Length - 2)];
                Tensor mean, var;
                if (a.training)
                {
                    mean = a.x.Mean(axes, keepDim: true);
                    var = (a.x - mean).Square().Mean(axes, keepDim: true);
                    long m = a.x.Count / Math.Max(c, 1);
                    if (a.runningMean is not null && m > 0)
                        using (Autograd.NoGrad())
                        {
                            using var batchMean = mean.Reshape(c) * Scalar64(a.momentum, a.x);
                            using var batchVar = var.Reshape(c) * Scalar64(a.momentum * (double)m / (m - 1), a.x);
                            using var keep = Scalar64(1.0 - a.momentum, a.x); // in double: 1f − momentum would round
                            a.runningMean.MulInPlace(keep).AddInPlace(batchMean);
                            a.runningVar!.MulInPlace(keep).AddInPlace(batchVar);
                        }
                }
                else (mean, var) = (F64(a.runningMean!.Detach())!.Reshape(perChannel), F64(a.runningVar!.Detach())!.Reshape(perChannel));
                return Affine64(Normalized(a.x, mean, var, a.eps), a.weight?.Reshape(perChannel), a.bias?.Reshape(perChannel));
            });

    /// <summary>Layer norm in float64: mean and biased variance over the trailing <paramref name="dims"/> dims.</summary>
    private static Tensor LayerNorm64(Tensor x, int dims, Tensor? weight, Tensor? bias, float eps) =>
        TensorScope.Composite((x: F64(x)!, dims, weight: F64(weight), bias: F64(bias), eps), static a =>
        {
            int[] axes = [.. Enumerable.Range(a.x.Rank - a.dims, a.dims)];
            var mean = a.x.Mean(axes, keepDim: true);
            var var = (a.x - mean).Square().Mean(axes, keepDim: true);
            return Affine64(Normalized(a.x, mean, var, a.eps), a.weight, a.bias);
        });

    /// <summary>Group norm in float64: each (sample, group) over its channels and trailing dims, then the per-channel
    /// affine.</summary>
    private static Tensor GroupNorm64(Tensor x, int groups, Tensor? weight, Tensor? bias, float eps) =>
        TensorScope.Composite((x: F64(x)!, groups, weight: F64(weight), bias: F64(bias), eps), static a =>
        {
            var shape = a.x.Layout.ShapeArray;
            int n = shape[0], c = shape[1];
            var g = a.x.Reshape(n, a.groups, a.x.Count / Math.Max(n * a.groups, 1));
            var mean = g.Mean(2, keepDim: true);
            var var = (g - mean).Square().Mean(2, keepDim: true);
            int[] perChannel = [1, c, .. Enumerable.Repeat(1, shape.Length - 2)];
            return Affine64(Normalized(g, mean, var, a.eps).Reshape(shape), a.weight?.Reshape(perChannel), a.bias?.Reshape(perChannel));
        });

    private static Tensor Normalized(Tensor x, Tensor mean, Tensor var, float eps) => (x - mean) / (var + Scalar64(eps, x)).Sqrt();

    private static Tensor Affine64(Tensor y, Tensor? weight, Tensor? bias)
    {
        if (weight is not null) y = y * weight;
        return bias is null ? y : y + bias;
    }

    /// <summary>The windows of x in float64 as [N, C, kH·kW, OH, OW] (or [C·kH·kW, N·OH·OW] with
    /// <paramref name="batchInner"/>): strided views of x padded with <paramref name="pad"/>, stacked.</summary>
    internal static Tensor Windows64(Tensor x, WindowArgs a, double pad, bool batchInner = false) =>
        TensorScope.Composite((x: F64(x)!, a, pad, batchInner), static s =>
        {
            var (x, a, pad, batchInner) = s;
            var p = Pad2d(x, a.PH, a.PW, pad);
            var views = new List<Tensor>(a.KH * a.KW);
            for (int kh = 0; kh < a.KH; kh++)
                for (int kw = 0; kw < a.KW; kw++)
                    views.Add(p.Slice(2, kh * a.DH, kh * a.DH + (a.OH - 1) * a.SH + 1, a.SH)
                        .Slice(3, kw * a.DW, kw * a.DW + (a.OW - 1) * a.SW + 1, a.SW));
            var cols = Tensor.Stack(views, 2);
            return batchInner ? cols.Permute(1, 2, 0, 3, 4).Reshape(a.C * a.KH * a.KW, a.N * a.OH * a.OW) : cols;
        });

    /// <summary>x [N, C, H, W] with <paramref name="ph"/> rows and <paramref name="pw"/> columns of <paramref name="value"/>
    /// on each side.</summary>
    private static Tensor Pad2d(Tensor x, int ph, int pw, double value)
    {
        var s = x.Layout.ShapeArray;
        if (ph > 0)
        {
            var rows = Tensor.Full([s[0], s[1], ph, s[3]], value, x.DType, x.Device);
            x = Tensor.Concat([rows, x, rows], 2);
        }
        if (pw > 0)
        {
            var cols = Tensor.Full([s[0], s[1], x.Layout.ShapeArray[2], pw], value, x.DType, x.Device);
            x = Tensor.Concat([cols, x, cols], 3);
        }
        return x;
    }

    /// <summary>A convolution in float64: the windows times the filters, group by group, plus the bias.</summary>
    private static Tensor Conv2d64(Tensor x, Tensor weight, Tensor? bias, WindowArgs a, int o, int groups) =>
        TensorScope.Composite((x: F64(x)!, weight: F64(weight)!, bias: F64(bias), a, o, groups), static s =>
        {
            var (x, weight, bias, a, o, groups) = s;
            int cg = a.C / groups, og = o / groups, kk = a.KH * a.KW, l = a.OH * a.OW;
            var cols = Windows64(x, a, 0).Reshape(a.N, a.C * kk, l);
            var parts = new Tensor[groups];
            for (int g = 0; g < groups; g++)
                parts[g] = weight.Slice(0, g * og, (g + 1) * og).Reshape(og, cg * kk).MatMul(cols.Slice(1, g * cg * kk, (g + 1) * cg * kk));
            var y = groups == 1 ? parts[0] : Tensor.Concat(parts, 1);
            if (bias is not null) y = y + bias.Reshape(1, o, 1);
            return y.Reshape(a.N, o, a.OH, a.OW);
        });

    /// <summary>Adaptive max pooling in float64 over PyTorch's bins (when they do not tile x): each output the max of its
    /// bin, split evenly among ties as the fused rule does. One view per bin, so its backward costs a pass over x per output
    /// element: a check's sizes, not a training run's.</summary>
    private static Tensor AdaptiveMax64(Tensor x, (int H, int W) output) =>
        TensorScope.Composite((x: F64(x)!, output), static s =>
        {
            var (x, output) = s;
            int h = x.Layout.ShapeArray[2], w = x.Layout.ShapeArray[3];
            var bins = new List<Tensor>(output.H * output.W);
            for (int i = 0; i < output.H; i++)
                for (int j = 0; j < output.W; j++)
                {
                    var bin = x.Slice(2, AdaptiveArgs.Start(i, h, output.H), AdaptiveArgs.End(i, h, output.H))
                        .Slice(3, AdaptiveArgs.Start(j, w, output.W), AdaptiveArgs.End(j, w, output.W));
                    bins.Add(bin.Max([2, 3]));
                }
            var shape = x.Layout.ShapeArray;
            return Tensor.Stack(bins, 2).Reshape(shape[0], shape[1], output.H, output.W);
        });

    /// <summary>The LSTM cell's equations in float64.</summary>
    private static (Tensor H, Tensor C) LstmCell64(Tensor gates, Tensor cPrev)
    {
        var hc = TensorScope.Composite((gates: F64(gates)!, cPrev: F64(cPrev)!), static a =>
        {
            int h = a.cPrev.Layout.ShapeArray[1];
            Tensor Gate(int k) => a.gates.Slice(1, k * h, (k + 1) * h);
            var c = Gate(1).Sigmoid() * a.cPrev + Gate(0).Sigmoid() * Gate(2).Tanh();
            return Tensor.Stack([Gate(3).Sigmoid() * c.Tanh(), c]);
        });
        return (hc[0], hc[1]);
    }

    /// <summary>The GRU cell's equations in float64.</summary>
    private static Tensor GruCell64(Tensor xGates, Tensor hGates, Tensor hPrev) =>
        TensorScope.Composite((x: F64(xGates)!, hg: F64(hGates)!, hPrev: F64(hPrev)!), static a =>
        {
            int h = a.hPrev.Layout.ShapeArray[1];
            Tensor X(int k) => a.x.Slice(1, k * h, (k + 1) * h);
            Tensor Hg(int k) => a.hg.Slice(1, k * h, (k + 1) * h);
            var r = (X(0) + Hg(0)).Sigmoid();
            var z = (X(1) + Hg(1)).Sigmoid();
            var n = (X(2) + r * Hg(2)).Tanh();
            return (1f - z) * n + z * a.hPrev;
        });
}
