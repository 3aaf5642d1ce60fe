using DeepSharp.Backends;

namespace DeepSharp;

// The norm kernels (NormArgs) as unrecorded tensor ops; Functional.Norms records them with their rule in Grads.Norms.
public sealed partial class Tensor
{
    /// <summary>Mean and biased variance [Slots] of each slot of the dense <paramref name="xd"/> (one launch).</summary>
    internal static (Tensor Mean, Tensor Var) NormStats(Tensor xd, NormArgs a)
    {
        var mean = Allocate([a.Slots], DType.Float32, xd.Device);
        var var = Allocate([a.Slots], DType.Float32, xd.Device);
        xd.Backend.NormStats(xd.Storage, mean.Storage, var.Storage, a with { XOffset = xd.Layout.Offset });
        return (mean, var);
    }

    /// <summary>y = (x − mean)·r·w + b in x's shape (one launch); the small tensors must be dense from element 0
    /// (<see cref="DenseFromZero"/>).</summary>
    internal static Tensor NormForward(Tensor xd, Tensor mean, Tensor var, Tensor? weight, Tensor? bias, NormArgs a)
    {
        var y = Allocate(xd.Layout.ShapeArray, DType.Float32, xd.Device);
        xd.Backend.NormForward(xd.Storage, mean.Storage, var.Storage, weight?.Storage, bias?.Storage, y.Storage,
            a with { XOffset = xd.Layout.Offset });
        return y;
    }

    /// <summary>Σ g·w and Σ g·w·x̂ [Slots] per slot of the view <paramref name="a"/> (one launch).</summary>
    internal static (Tensor SumG, Tensor SumGX) NormGradSums(Tensor xd, Tensor mean, Tensor var, Tensor? weight, Tensor gd, NormArgs a)
    {
        var sumG = Allocate([a.Slots], DType.Float32, xd.Device);
        var sumGX = Allocate([a.Slots], DType.Float32, xd.Device);
        xd.Backend.NormGradSums(xd.Storage, mean.Storage, var.Storage, weight?.Storage, gd.Storage, sumG.Storage, sumGX.Storage,
            a with { XOffset = xd.Layout.Offset, GOffset = gd.Layout.Offset });
        return (sumG, sumGX);
    }

    /// <summary>The input gradient in x's shape (one launch): from the per-statistic sums with batch statistics, or r·g·w
    /// with fixed ones (then the sums are null).</summary>
    internal static Tensor NormInputGrad(Tensor xd, Tensor mean, Tensor var, Tensor? weight, Tensor gd, Tensor? sumG, Tensor? sumGX,
        NormArgs a)
    {
        var dx = Allocate(xd.Layout.ShapeArray, DType.Float32, xd.Device);
        xd.Backend.NormBackward(xd.Storage, mean.Storage, var.Storage, weight?.Storage, gd.Storage, sumG?.Storage, sumGX?.Storage,
            dx.Storage, a with { XOffset = xd.Layout.Offset, GOffset = gd.Layout.Offset });
        return dx;
    }

    /// <summary>This tensor when it is dense from element 0 of its storage, else a dense copy (for kernels that index it
    /// from 0: statistics and affine parameters).</summary>
    internal Tensor DenseFromZero() => IsContiguous && Layout.Offset == 0 ? this : Dense(copy: true);
}
