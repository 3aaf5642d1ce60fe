using DeepSharp.Backends;

namespace DeepSharp;

public sealed partial class Tensor
{
    /// <summary>
    /// y[b] = w·cols[b] (+ bias[row]) for w [O, K] and cols [B, K, L]: the convolution's product, one launch for the whole
    /// batch with the bias fused, and one autograd node. A grouped convolution passes w [B, O, K] (one matrix per group,
    /// cols [B, K, L] that group's columns) and no bias.
    /// </summary>
    internal static Tensor ConvProduct(Tensor w, Tensor cols, Tensor? bias)
    {
        bool grouped = w.Rank == 3;
        int r = grouped ? 1 : 0; // w's row dim
        int o = w.Layout.ShapeArray[r], k = w.Layout.ShapeArray[r + 1], batch = cols.Layout.ShapeArray[0], l = cols.Layout.ShapeArray[2];
        var b = bias is null || bias.IsContiguous ? bias : bias.Dense(copy: true);
        var y = Allocate([batch, o, l], DType.Float32, w.Device);
        var g = new GemmArgs
        {
            Batch = batch, M = o, N = l, K = k,
            OffA = w.Layout.Offset, BatchA = grouped ? w.Layout.StridesArray[0] : 0,
            RowA = w.Layout.StridesArray[r], ColA = w.Layout.StridesArray[r + 1],
            OffB = cols.Layout.Offset, BatchB = cols.Layout.StridesArray[0],
            RowB = cols.Layout.StridesArray[1], ColB = cols.Layout.StridesArray[2],
            Bias = b is null ? BiasMode.None : BiasMode.PerRow, OffBias = b?.Layout.Offset ?? 0,
        };
        w.Backend.MatMul(w.Storage, cols.Storage, y.Storage, g, b?.Storage);
        Tensor[] inputs = bias is null ? [w, cols] : [w, cols, bias];
        return Autograd.Record(y, "Conv2d", inputs, gc => Grads.ConvProduct(w, cols, bias, gc), w, cols);
    }

    /// <summary>
    /// The CPU's convolution (groups 1): y [N, O, OH, OW] = weight [O, C, kH, kW] applied to x's windows, image by image with
    /// each image's columns in a cache-sized buffer (<see cref="Backends.Cpu.CpuBackend.ConvForward"/>), plus the bias; one
    /// autograd node whose backward recomputes the columns rather than keeping the batch's.
    /// </summary>
    internal static Tensor ConvCpu(Tensor x, Tensor weight, Tensor? bias, WindowArgs a)
    {
        var cpu = (Backends.Cpu.CpuBackend)x.Backend;
        int o = weight.Layout.ShapeArray[0];
        var xd = x.Dense();
        var wd = weight.DenseFromZero();
        var bd = bias?.DenseFromZero();
        var args = a with { Offset = xd.Layout.Offset };
        var y = Allocate([a.N, o, a.OH, a.OW], DType.Float32, x.Device);
        cpu.ConvForward(xd.Storage, wd.Storage, bd?.Storage, y.Storage, args, o);
        if (bd is not null) bias!.ReleaseDense(bd);
        if (!Autograd.Needed(x, weight) && !(bias is not null && Autograd.Needed(bias)))
        {
            x.ReleaseDense(xd);
            weight.ReleaseDense(wd);
            return y;
        }
        Tensor[] inputs = bias is null ? [x, weight] : [x, weight, bias];
        return Autograd.Record(y, "Conv2d", inputs, g => ConvCpuBackward(xd, wd, g, x.RequiresGrad, weight.RequiresGrad,
            bias?.RequiresGrad == true, args, o), x, weight);
    }

    /// <summary>dx, dweight and dbias of <see cref="ConvCpu"/> for the output gradient <paramref name="g"/> (not recorded);
    /// null where not wanted.</summary>
    private static Tensor?[] ConvCpuBackward(Tensor xd, Tensor wd, Tensor g, bool wantX, bool wantW, bool wantB, WindowArgs a, int o)
    {
        var gd = g.DenseFromZero();
        var dx = wantX ? Allocate([a.N, a.C, a.H, a.W], DType.Float32, g.Device) : null;
        var dw = wantW ? Allocate(wd.Shape, DType.Float32, g.Device) : null;
        var db = wantB ? Allocate([o], DType.Float32, g.Device) : null;
        ((Backends.Cpu.CpuBackend)g.Backend).ConvBackward(xd.Storage, wd.Storage, gd.Storage, dx?.Storage, dw?.Storage, db?.Storage, a, o);
        g.ReleaseDense(gd);
        return [dx, dw, db];
    }
}
