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
}
