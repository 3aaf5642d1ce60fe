using DeepSharp.Backends;

namespace DeepSharp;

// The fused attention softmax as (unrecorded) tensor ops; Functional.ScaledDotProductAttention records them with the
// rule in Grads.Softmax.
public sealed partial class Tensor
{
    /// <summary>softmax(scale·scores + mask) along the last axis of scores [..., L, S] (dense copy first if strided), with
    /// the causal mask when asked; <paramref name="mask"/> (float32, additive) broadcasts to [..., L, S] and is read through
    /// its strides (no copy unless its batch dims fold into no two strides).</summary>
    internal static Tensor AttentionSoftmax(Tensor scores, Tensor? mask, float scale, bool causal)
    {
        var shape = scores.Layout.ShapeArray;
        var xd = scores.Dense();
        var y = Allocate(shape, DType.Float32, scores.Device);
        var a = AttentionLayout(shape, scale, xd.Layout.Offset);
        if (causal) a.Masks |= AttentionMasks.Causal;
        Tensor? md = null;
        if (mask is not null)
        {
            var ml = mask.Layout.Expand(shape);
            if (!FoldMaskBatch(ml, ref a))
            {
                md = mask.Expand(shape).Dense(copy: true); // more than two strided batch levels: rare, one dense copy
                FoldMaskBatch(md.Layout, ref a);
            }
            a.Masks |= AttentionMasks.Additive;
        }
        scores.Backend.AttentionSoftmax(xd.Storage, (md ?? mask)?.Storage, y.Storage, a);
        scores.ReleaseDense(xd);
        md?.Dispose();
        return y;
    }

    /// <summary>The gradient of <see cref="AttentionSoftmax"/> from its output y (dense) and dL/dy, times
    /// <paramref name="scale"/>.</summary>
    internal static Tensor AttentionSoftmaxBackward(Tensor y, Tensor g, float scale)
    {
        var gd = g.Dense();
        var dx = Allocate(y.Layout.ShapeArray, DType.Float32, y.Device);
        var a = AttentionLayout(y.Layout.ShapeArray, scale, gd.Layout.Offset);
        y.Backend.AttentionSoftmaxBackward(y.Storage, gd.Storage, dx.Storage, a);
        g.ReleaseDense(gd);
        return dx;
    }

    private static AttentionArgs AttentionLayout(int[] shape, float scale, int offset)
    {
        int l = shape[^2], s = shape[^1];
        return new AttentionArgs { Offset = offset, Batch = Layout.Numel(shape[..^2]), L = l, S = s, Scale = scale, MaskInner = 1 };
    }

    /// <summary>Sets the mask's offset and strides from its layout (expanded to the scores' shape), folding the batch dims
    /// into at most two strided levels; false when they need more.</summary>
    private static bool FoldMaskBatch(Layout mask, ref AttentionArgs a)
    {
        var (shape, strides) = (mask.ShapeArray, mask.StridesArray);
        var dims = new List<(int Size, int Stride)>();
        for (int d = 0; d < shape.Length - 2; d++)
        {
            if (shape[d] == 1) continue;
            if (dims.Count > 0 && dims[^1].Stride == strides[d] * shape[d]) dims[^1] = (dims[^1].Size * shape[d], strides[d]);
            else dims.Add((shape[d], strides[d]));
        }
        if (dims.Count > 2) return false;
        a.MaskOffset = mask.Offset;
        a.MaskRowStride = strides[^2]; a.MaskColStride = strides[^1];
        (a.MaskInner, a.MaskInnerStride, a.MaskOuterStride) = dims.Count switch
        {
            0 => (1, 0, 0),
            1 => (dims[0].Size, dims[0].Stride, 0),
            _ => (dims[1].Size, dims[1].Stride, dims[0].Stride),
        };
        return true;
    }
}
