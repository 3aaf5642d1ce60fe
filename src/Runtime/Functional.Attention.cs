using DeepSharp.Backends;

namespace DeepSharp;

// Scaled dot-product attention: two batched products around one fused launch for scale, masks and softmax (each way).
public static partial class Functional
{
    /// <summary>
    /// Scaled dot-product attention (PyTorch's <c>F.scaled_dot_product_attention</c>): softmax(q·kᵀ·scale + mask)·v with
    /// q [..., L, E], k [..., S, E], v [..., S, Ev] → [..., L, Ev] (batch dims broadcast). <paramref name="scale"/> defaults to
    /// 1/√E. <paramref name="attnMask"/> broadcasts to [..., L, S]: float32 is added to the scaled scores (−inf blocks a
    /// key); int32/int64 is boolean (DeepSharp has no bool dtype): nonzero = may attend, as PyTorch's bool masks.
    /// <paramref name="isCausal"/> lets query i attend to keys 0..i only (the top-left-aligned lower triangle, as PyTorch).
    /// A query whose keys are all masked gets an all-zero weight row, so a zero output row and zero gradients (as PyTorch
    /// since 2.5; 1.13's math backend gave NaN). Dropout with probability <paramref name="dropoutP"/> is applied to the
    /// weights whenever dropoutP &gt; 0 (the functional form does not know about training mode: pass 0 in evaluation, as
    /// MultiHeadAttention does). Memory: the weights [..., L, S] are materialized (O(L·S) per head; no flash-style tiling).
    /// Scale, masks and softmax are one fused launch each way; the products read transposed views without copies.
    /// </summary>
    /// <exception cref="ArgumentNullException">query, key or value is null.</exception>
    /// <exception cref="ArgumentException">A shape does not fit (rank below 2, E or S differ, batch dims or the mask do not
    /// broadcast), or a mask is given with isCausal.</exception>
    /// <exception cref="ArgumentOutOfRangeException">dropoutP is outside [0, 1), or scale is NaN.</exception>
    /// <exception cref="NotSupportedException">query, key or value is not float32 or float64.</exception>
    /// <exception cref="DeviceMismatchException">The tensors are on different devices.</exception>
    public static Tensor ScaledDotProductAttention(Tensor query, Tensor key, Tensor value, Tensor? attnMask = null, float dropoutP = 0f,
        bool isCausal = false, float? scale = null, Generator? generator = null) =>
        TensorScope.Composite((query, key, value, attnMask, dropoutP, isCausal, scale, generator), static a =>
            Attention(nameof(ScaledDotProductAttention), a.query, a.key, a.value, a.attnMask, a.dropoutP, a.isCausal, a.scale,
                a.generator).Output);

    /// <summary>
    /// <see cref="ScaledDotProductAttention"/> that also returns the attention weights [..., L, S] (after dropout, as
    /// PyTorch's <c>nn.MultiheadAttention</c> returns them): what a layer that reports its weights builds on. Same arguments,
    /// masks and exceptions.
    /// </summary>
    /// <exception cref="ArgumentNullException">query, key or value is null.</exception>
    /// <exception cref="ArgumentException">A shape does not fit or a mask is given with isCausal.</exception>
    /// <exception cref="ArgumentOutOfRangeException">dropoutP is outside [0, 1), or scale is NaN.</exception>
    /// <exception cref="NotSupportedException">query, key or value is not float32 or float64.</exception>
    /// <exception cref="DeviceMismatchException">The tensors are on different devices.</exception>
    public static (Tensor Output, Tensor Weights) ScaledDotProductAttentionWithWeights(Tensor query, Tensor key, Tensor value,
        Tensor? attnMask = null, float dropoutP = 0f, bool isCausal = false, float? scale = null, Generator? generator = null) =>
        Attention(nameof(ScaledDotProductAttentionWithWeights), query, key, value, attnMask, dropoutP, isCausal, scale, generator);

    private static (Tensor Output, Tensor Weights) Attention(string op, Tensor query, Tensor key, Tensor value, Tensor? attnMask,
        float dropoutP, bool isCausal, float? scale, Generator? generator)
    {
        Check.NotNull(op, query, nameof(query)); Check.NotNull(op, key, nameof(key)); Check.NotNull(op, value, nameof(value));
        if (Autocast.IsEnabled) (query, key, value) = (Autocast.Lower(query), Autocast.Lower(key), Autocast.Lower(value));
        if (Autocast.AnyHalf(query, key, value)) // computed in float32; both results round once to the inputs' dtype
        {
            var dtype = Autocast.Promote(Autocast.Promote(query.DType, key.DType), value.DType);
            var (o, w) = Autocast.Off((op, query, key, value, attnMask, dropoutP, isCausal, scale, generator), static a =>
                Attention(a.op, Autocast.Wide(a.query), Autocast.Wide(a.key), Autocast.Wide(a.value), a.attnMask is { } m ?
                    Autocast.Wide(m) : null, a.dropoutP, a.isCausal, a.scale, a.generator));
            return dtype == DType.Float32 ? (o, w) : (o.To(dtype), w.To(dtype));
        }
        if (Autocast.Mixed(query, key) || Autocast.Mixed(query, value) || attnMask is { DType: DType.Float64 } && query.DType.IsFloat())
            // float32 with float64 (a float64 mask included): all in float64
            (query, key, value) = (query.To(DType.Float64), key.To(DType.Float64), value.To(DType.Float64));
        Check.Computes(op, query, nameof(query)); Check.Computes(op, key, nameof(key)); Check.Computes(op, value, nameof(value));
        Check.SameDevice(op, query, nameof(query), key, nameof(key)); Check.SameDevice(op, query, nameof(query), value, nameof(value));
        if (attnMask is not null) Check.SameDevice(op, query, nameof(query), attnMask, nameof(attnMask));
        var scoreShape = AttentionShapes(op, query, key, value);
        if (!(dropoutP >= 0f && dropoutP < 1f))
            throw new ArgumentOutOfRangeException(nameof(dropoutP), dropoutP, $"{op}: dropoutP must be in [0, 1), got {dropoutP}.");
        if (scale is float sc && float.IsNaN(sc))
            throw new ArgumentOutOfRangeException(nameof(scale), sc, $"{op}: scale is NaN.");
        if (isCausal && attnMask is not null)
            throw new ArgumentException($"{op}: give either attnMask or isCausal, not both (as PyTorch); fold the causal mask into " +
                "attnMask instead.", nameof(attnMask));
        if (attnMask is not null) CheckAttentionMask(op, attnMask, scoreShape);
        bool f64 = query.DType == DType.Float64;
        float s = scale ?? 1f / MathF.Sqrt(query.Layout.ShapeArray[^1]);
        var scores = Tensor.MatMul(query, key.Transpose(-2, -1));
        var weights = f64 ? AttentionWeights64(scores, AdditiveMask(attnMask), scale ?? 1.0 / Math.Sqrt(query.Layout.ShapeArray[^1]),
                isCausal)
            : AttentionWeights(scores, AdditiveMask(attnMask), s, isCausal);
        if (dropoutP > 0f)
        {
            var keep = Tensor.Rand(weights.Shape, generator: generator, device: weights.Device).Ge(Tensor.Scalar(dropoutP, weights.Device));
            weights = f64 ? weights * keep * Tensor.Full([], 1.0 / (1.0 - dropoutP), DType.Float64, weights.Device)
                : weights * keep * (1f / (1f - dropoutP));
        }
        return (Tensor.MatMul(weights, value), weights);
    }

    /// <summary>
    /// softmax(scale·scores + mask) along the last axis, with the causal mask when asked, recorded: scores [..., L, S] and an
    /// optional float32 additive mask broadcastable to it (no copy of a broadcast mask). A fully masked row is zeros. The
    /// gradient reaches scores (and a mask that requires one).
    /// </summary>
    internal static Tensor AttentionWeights(Tensor scores, Tensor? mask, float scale, bool causal)
    {
        const string op = "AttentionSoftmax";
        var y = Tensor.AttentionSoftmax(scores, mask, scale, causal);
        if (!Autograd.IsEnabled || !(scores.RequiresGrad || mask is { RequiresGrad: true })) return y;
        if (mask is not { RequiresGrad: true })
            return Autograd.Record(y, op, [scores], g => [Tensor.AttentionSoftmaxBackward(y, g, scale)], y);
        return Autograd.Record(y, op, [scores, mask], g =>
            [Tensor.AttentionSoftmaxBackward(y, g, scale), Tensor.AttentionSoftmaxBackward(y, g, 1f).SumTo(mask.Layout.ShapeArray)], y);
    }

    /// <summary>
    /// The float64 attention softmax, composed from the op set (exact checks): z = scale·scores + mask (+ −inf above the
    /// diagonal when causal), softmax along the last axis, with the fused kernel's rule that a fully masked row is zeros (its
    /// scores get no gradient). Autograd differentiates the composite.
    /// </summary>
    private static Tensor AttentionWeights64(Tensor scores, Tensor? mask, double scale, bool causal)
    {
        if (scores.Count == 0) return scores * 0f; // no keys (S = 0) or no queries: empty or zero weights, recorded
        var z = scores * Tensor.Full([], scale, DType.Float64, scores.Device);
        if (mask is not null) z = z + mask;
        if (causal)
        {
            int l = scores.Layout.ShapeArray[^2], n = scores.Layout.ShapeArray[^1];
            var upper = new double[l * n];
            for (int i = 0; i < l; i++) for (int j = i + 1; j < n; j++) upper[i * n + j] = double.NegativeInfinity;
            z = z + Tensor.FromArray(upper, [l, n], scores.Device);
        }
        Tensor blocked;
        using (Autograd.NoGrad()) blocked = z.Max(-1, keepDim: true).Eq(float.NegativeInfinity);
        var zero = Tensor.Full([], 0, DType.Float64, scores.Device);
        return Tensor.Where(blocked, zero, Softmax(Tensor.Where(blocked, zero, z), -1));
    }

    /// <summary>A mask to add: float32 (or float64, with float64 queries) as it is; int32/int64 as 0 where nonzero (attend) and
    /// −inf elsewhere.</summary>
    internal static Tensor? AdditiveMask(Tensor? mask, bool trueMeansIgnore = false)
    {
        if (mask is null || mask.DType is DType.Float32 or DType.Float64) return mask; // float64 goes with float64 queries
        var cond = mask.To(DType.Float32);
        Tensor zero = Tensor.Scalar(0f, mask.Device), blocked = Tensor.Scalar(float.NegativeInfinity, mask.Device);
        return trueMeansIgnore ? Tensor.Where(cond, blocked, zero) : Tensor.Where(cond, zero, blocked);
    }

    /// <summary>Checks q [..., L, E], k [..., S, E], v [..., S, Ev] and returns the scores' shape [..batch, L, S].</summary>
    private static int[] AttentionShapes(string op, Tensor q, Tensor k, Tensor v)
    {
        foreach (var (t, name) in new[] { (q, "query"), (k, "key"), (v, "value") })
            if (t.Rank < 2)
                throw new ArgumentException($"{op}: {name} must be [..., length, features] (2 or more dims), got " +
                    $"{Layout.Format(t.Layout.ShapeArray)}.", name);
        int[] qs = q.Layout.ShapeArray, ks = k.Layout.ShapeArray, vs = v.Layout.ShapeArray;
        if (qs[^1] != ks[^1])
            throw new ArgumentException($"{op}: query {Layout.Format(qs)} and key {Layout.Format(ks)} must have the same last dim E " +
                $"(got {qs[^1]} and {ks[^1]}).", nameof(k));
        if (ks[^2] != vs[^2])
            throw new ArgumentException($"{op}: key {Layout.Format(ks)} and value {Layout.Format(vs)} must have the same length S " +
                $"(dim -2; got {ks[^2]} and {vs[^2]}).", nameof(v));
        var batch = Check.Broadcast(op, Check.Broadcast(op, qs[..^2], ks[..^2]), vs[..^2]);
        return [.. batch, qs[^2], ks[^2]];
    }

    private static void CheckAttentionMask(string op, Tensor mask, int[] scoreShape)
    {
        var ms = mask.Layout.ShapeArray;
        bool fits = ms.Length <= scoreShape.Length;
        for (int i = 1; fits && i <= ms.Length; i++) fits = ms[^i] == 1 || ms[^i] == scoreShape[^i];
        if (!fits)
            throw new ArgumentException($"{op}: attnMask {Layout.Format(ms)} does not broadcast to the attention weights' shape " +
                $"{Layout.Format(scoreShape)} ([..., L, S]).", "attnMask");
    }
}
