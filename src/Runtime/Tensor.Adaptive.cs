using DeepSharp.Backends;

namespace DeepSharp;

// Adaptive max pooling over PyTorch's bins (AdaptiveArgs), with its backward kernel.
public sealed partial class Tensor
{
    /// <summary>Adaptive max pooling (<see cref="Functional.AdaptiveMaxPool2d(Tensor, ValueTuple{int, int})"/>) of a
    /// checked x [N, C, H, W] to [N, C, OH, OW]: one launch each way.</summary>
    internal static Tensor AdaptiveMax(Tensor x, int oh, int ow, string op)
    {
        var s = x.Layout.ShapeArray;
        var xd = x.Dense();
        var a = new AdaptiveArgs { NC = s[0] * s[1], H = s[2], W = s[3], OH = oh, OW = ow, Offset = xd.Layout.Offset };
        var y = Allocate([s[0], s[1], oh, ow], DType.Float32, x.Device);
        x.Backend.AdaptiveMax(xd.Storage, y.Storage, a);
        return Autograd.Record(y, op, [x], g => [Grads.AdaptiveMax(xd, y, g, a)], x, y);
    }

    /// <summary>Adaptive max pooling's gradient [N, C, H, W] for x's dense form <paramref name="xd"/>, the bins' maxima
    /// <paramref name="y"/> and their gradient <paramref name="g"/> (any layout) (not recorded).</summary>
    internal static Tensor AdaptiveMaxBackward(Tensor xd, Tensor y, Tensor g, AdaptiveArgs a)
    {
        var gd = g.Layout.Offset == 0 ? g.Dense() : g.Dense(copy: true);
        var dx = Allocate(xd.Layout.ShapeArray, DType.Float32, g.Device);
        g.Backend.AdaptiveMaxBack(xd.Storage, y.Storage, gd.Storage, dx.Storage, a);
        g.ReleaseDense(gd);
        return dx;
    }
}
