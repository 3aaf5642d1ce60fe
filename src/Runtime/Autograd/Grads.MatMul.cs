namespace DeepSharp;

// Gradient rules of the matrix products: each gradient is another product, computed only for the inputs that need one.
internal static partial class Grads
{
    /// <summary>C = A·B (2-D, or batched over dim 0): dA = dC·Bᵀ, dB = Aᵀ·dC.</summary>
    public static Tensor?[] MatMul(Tensor a, Tensor b, Tensor g) =>
        [a.RequiresGrad ? g.MatMul(b.Transpose(-2, -1)) : null, b.RequiresGrad ? a.Transpose(-2, -1).MatMul(g) : null];

    /// <summary>y = x·Wᵀ + bias: dx = dy·W, dW = dyᵀ·x, dbias = the column sums of dy.</summary>
    public static Tensor?[] Linear(Tensor x, Tensor w, Tensor? bias, Tensor g)
    {
        Tensor? dx = x.RequiresGrad ? g.MatMul(w) : null, dw = w.RequiresGrad ? g.T.MatMul(x) : null;
        return bias is null ? [dx, dw] : [dx, dw, bias.RequiresGrad ? g.Sum(0) : null];
    }

    /// <summary>y[b] = W·cols[b] + bias[row] (<see cref="Tensor.ConvProduct"/>): dW = Σ_b dy[b]·cols[b]ᵀ,
    /// dcols[b] = Wᵀ·dy[b], dbias = the sums of dy over the batch and the columns. A grouped W [B, O, K] has one matrix
    /// per batch entry: dW[b] = dy[b]·cols[b]ᵀ, no sum.</summary>
    public static Tensor?[] ConvProduct(Tensor w, Tensor cols, Tensor? bias, Tensor g)
    {
        Tensor? dw = null;
        if (w.RequiresGrad)
        {
            var perImage = g.MatMul(cols.Transpose(1, 2));
            dw = w.Rank == 3 || cols.Layout.ShapeArray[0] == 1 ? perImage.Reshape(w.Layout.ShapeArray) : perImage.Sum(0);
        }
        var dcols = cols.RequiresGrad ? w.Transpose(-2, -1).MatMul(g) : null;
        return bias is null ? [dw, dcols] : [dw, dcols, bias.RequiresGrad ? g.Sum([0, 2]) : null];
    }
}
