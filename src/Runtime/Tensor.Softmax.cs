using DeepSharp.Backends;

namespace DeepSharp;

// The fused softmax kernels as (unrecorded) tensor ops; Functional records them with their rules in Grads.Softmax.
public sealed partial class Tensor
{
    /// <summary>Softmax or log-softmax of x along <paramref name="axis"/> (normalized), in one launch: x is read as
    /// [outer, n, inner] (a dense copy first if it is a strided view); the result is dense, of x's shape.</summary>
    internal static Tensor SoftmaxAlong(Tensor x, int axis, SoftmaxKind kind)
    {
        var xd = x.Dense();
        var y = Allocate(x.Layout.ShapeArray, DType.Float32, x.Device);
        var a = SoftmaxLayout(x.Layout.ShapeArray, axis, kind, xd.Layout.Offset);
        x.Backend.Softmax(xd.Storage, y.Storage, a);
        x.ReleaseDense(xd);
        return y;
    }

    /// <summary>The gradient of <see cref="SoftmaxAlong"/> from its output y (dense) and dL/dy.</summary>
    internal static Tensor SoftmaxBackward(Tensor y, Tensor g, int axis, SoftmaxKind kind)
    {
        var gd = g.Dense();
        var dx = Allocate(y.Layout.ShapeArray, DType.Float32, y.Device);
        y.Backend.SoftmaxBackward(y.Storage, gd.Storage, dx.Storage, SoftmaxLayout(y.Layout.ShapeArray, axis, kind, gd.Layout.Offset));
        g.ReleaseDense(gd);
        return dx;
    }

    private static SoftmaxArgs SoftmaxLayout(int[] shape, int axis, SoftmaxKind kind, int offset)
    {
        if (shape.Length == 0) return new SoftmaxArgs { Offset = offset, Outer = 1, N = 1, Inner = 1, Kind = kind };
        return new SoftmaxArgs
        {
            Offset = offset, Outer = Layout.Numel(shape[..axis]), N = shape[axis], Inner = Layout.Numel(shape[(axis + 1)..]), Kind = kind,
        };
    }
}
