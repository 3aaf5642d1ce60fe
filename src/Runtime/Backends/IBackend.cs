using DeepSharp.Ops;

namespace DeepSharp.Backends;

/// <summary>One parameter of an optimizer step: dense runs of p and g from their offsets, states m, v and w (from 0; an unused
/// one aliases g).</summary>
internal readonly record struct UpdateItem(Storage P, int POffset, Storage G, int GOffset, Storage M, Storage V, Storage W, int Count);

/// <summary>A dense run of a gradient for <see cref="IBackend.GradNormPartials"/>.</summary>
internal readonly record struct GradNormItem(Storage X, int Offset, int Count);

/// <summary>
/// The device contract: the primitive operations every backend implements (Candle keeps this in one small interface too).
/// Outputs are dense and start at element 0 unless a map says otherwise; inputs carry their layout in a <see cref="StridedMap"/>.
/// </summary>
internal interface IBackend
{
    Device Device { get; }

    /// <summary>Uninitialized storage for <paramref name="count"/> elements.</summary>
    Storage Allocate(DType dtype, int count);
    void Upload<T>(ReadOnlySpan<T> src, Storage dst) where T : unmanaged;
    void Download<T>(Storage src, Span<T> dst) where T : unmanaged;

    /// <summary>dst[i] = op.At(i) for every element.</summary>
    void Fill<T, TOp>(Storage dst, TOp op) where T : unmanaged where TOp : struct, IIndexOp<T>;
    /// <summary>dst[map.B(i)] = convert(src[map.A(i)]) for i &lt; count (strided copy with dtype conversion).</summary>
    void Copy(Storage src, Storage dst, StridedMap map, int count);
    /// <summary>y[map.B(i)] = op(x[map.A(i)]); y may alias x (in-place ops).</summary>
    void Unary<TOp>(Storage x, Storage y, StridedMap map, int count, TOp op) where TOp : struct, IUnaryOp;
    /// <summary>y[map.C(i)] = op(a[map.A(i)], b[map.B(i)]); y may alias a or b (in-place ops).</summary>
    void Binary<TOp>(Storage a, Storage b, Storage y, StridedMap map, int count, TOp op) where TOp : struct, IBinaryOp;
    /// <summary>y[i] = cond[map.A(i)] != 0 ? a[map.B(i)] : b[map.C(i)].</summary>
    void Where(Storage cond, Storage a, Storage b, Storage y, StridedMap map, int count);
    /// <summary>x dense from xOffset as [outer, n, inner] → y [outer, inner].</summary>
    void Reduce<TOp>(Storage x, int xOffset, Storage y, int outer, int n, int inner) where TOp : struct, IReduceOp;
    /// <summary>Index (int64) of the first max (or min) along n; NaN counts as the largest and smallest. With
    /// <paramref name="values"/>, also values [outer, inner] = the element at that index (the same bits).</summary>
    void ArgReduce(Storage x, int xOffset, Storage y, int outer, int n, int inner, bool max, Storage? values = null);
    /// <summary>dx [outer, n, inner] = g[o, j] at k = index[o, j] and 0 elsewhere: the gradient of taking one element along
    /// n (<c>Tensor.MaxWithIndices</c>). g is dense from <paramref name="gOffset"/> and index (int64) dense from 0, both
    /// [outer, inner]; every index lies in [0, n).</summary>
    void ScatterAlong(Storage g, int gOffset, Storage index, Storage dx, int outer, int n, int inner);
    /// <summary>C = A · B for each batch, plus the bias where <see cref="GemmArgs.Bias"/> says (then <paramref name="bias"/> is
    /// set).</summary>
    void MatMul(Storage a, Storage b, Storage c, GemmArgs g, Storage? bias = null);
    /// <summary>y[r, :] = x[index[r], :] for x dense [rows, cols]; throws when an index is outside [-rows, rows).</summary>
    void GatherRows(Storage x, int xOffset, int rows, int cols, Storage index, int indexOffset, Storage y, int count);
    /// <summary>y[index[r], :] += src[r, :] for y dense [rows, cols]; repeated indices add up (atomically on accelerators).</summary>
    void IndexAddRows(Storage y, int rows, int cols, Storage index, int indexOffset, Storage src, int srcOffset, int count);
    /// <summary>(p, m, v, w)[i] = op(p, g, m, v, w)[i] for dense runs from the given offsets; m, v and w may alias g when
    /// unused.</summary>
    /// <remarks>Accelerators update up to four parameters per launch.</remarks>
    void Update<TOp>(IReadOnlyList<UpdateItem> items, TOp op) where TOp : struct, IUpdateOp;
    /// <summary>How many partials <see cref="GradNormPartials"/> writes for these items.</summary>
    int GradNormPartialCount(IReadOnlyList<GradNormItem> items);
    /// <summary>Partial sums of |x|^p (maxima of |x| for p = ∞; <see cref="Ops.GradNormTerm"/>) over every item, in a fixed order,
    /// into <paramref name="partials"/> (dense, <see cref="GradNormPartialCount"/> elements): summing them (or taking their
    /// maximum) gives the whole list's — one pass over all the gradients for clipping by their global norm.</summary>
    void GradNormPartials(IReadOnlyList<GradNormItem> items, Storage partials, float p);
    /// <summary>
    /// Cross-entropy rows of dense logits [n, c] with integer labels: loss[r] = logsumexp(x[r]) - x[r, label[r]] and
    /// probs = softmax(x) (kept for the backward), both from max-shifted logits (<see cref="Ops.LossMath"/>). A label
    /// outside [0, c) throws on the CPU and gives NaN on accelerators.
    /// With <paramref name="reduce"/>, loss has one element: scale · Σ loss[r] (mean or sum in the same launch).
    /// </summary>
    void CrossEntropy(Storage logits, int offset, int n, int c, Storage labels, int labelsOffset, Storage loss, Storage probs, bool reduce,
        float scale);
    /// <summary>dx[r, j] = (probs[r, j] - [j == label[r]]) · g[gOffset + r·gStride] · scale (gStride 0: one gradient for every
    /// row).</summary>
    void CrossEntropyBackward(Storage probs, int n, int c, Storage labels, int labelsOffset, Storage g, int gOffset, int gStride,
        float scale, Storage dx);
    /// <summary>
    /// Softmax or log-softmax of each row of x [Outer, N, Inner] (dense from a.Offset) into y (dense): max-shifted, with
    /// R = Σ e^(x − m) over the elements below the max m (its ties add 1 each), y = e^(x − m)/(1 + R) or
    /// (x − m) − log1p(R); a row whose max is not finite (all −inf, or +inf or NaN in it) is all NaN (as PyTorch).
    /// </summary>
    void Softmax(Storage x, Storage y, SoftmaxArgs a);
    /// <summary>dx = y·(g − Σ g·y) (softmax) or g − e^y·Σ g (log-softmax) per row: y and dx dense, g dense from
    /// a.Offset.</summary>
    void SoftmaxBackward(Storage y, Storage g, Storage dx, SoftmaxArgs a);
    /// <summary>
    /// The attention softmax (<see cref="AttentionArgs"/>): y [Batch, L, S] (dense) = softmax(scale·x + mask) per row, x dense
    /// from a.Offset; causal and additive masks as a.Masks says (mask is set with <see cref="AttentionMasks.Additive"/>).
    /// Max-shifted; a row whose every key is masked (max −inf) is all zeros; a row holding +inf or NaN is all NaN.
    /// </summary>
    void AttentionSoftmax(Storage x, Storage? mask, Storage y, AttentionArgs a);
    /// <summary>dx = scale·y·(g − Σ g·y) per row: y and dx dense, g dense from a.Offset (masked entries, y = 0, get 0).</summary>
    void AttentionSoftmaxBackward(Storage y, Storage g, Storage dx, AttentionArgs a);
    /// <summary>im2col: cols [N, C, K·K, OH, OW] = x's window elements (Pad outside the input).</summary>
    void Unfold(Storage x, Storage cols, WindowArgs a);
    /// <summary>col2im: dx [N, C, H, W] = Σ of the cols entries that read each input element (the adjoint of Unfold).</summary>
    void Fold(Storage cols, Storage dx, WindowArgs a);
    /// <summary>
    /// Max pooling's gradient: dx [N, C, H, W] (x dense from a.Offset; y = the windows' max and g its gradient, dense
    /// [N, C, OH, OW] from 0). Each input element sums, over the windows that read it in increasing window position,
    /// (x == y ? 1 : 0) · (g / the number of the window's elements equal to y) — padding counts as a.Pad.
    /// </summary>
    void MaxPoolBack(Storage x, Storage y, Storage g, Storage dx, WindowArgs a);
    /// <summary>Per slot s of x [Outer, Slots, Inner] (<see cref="NormArgs"/>): mean[s] and the biased variance var[s] of its
    /// Outer·Inner elements, in two passes (NaN for a slot without elements).</summary>
    void NormStats(Storage x, Storage mean, Storage var, NormArgs a);
    /// <summary>y = (x − mean[t])·r·w[f] + b[f] with r = 1/√(var[t] + eps), t and f the element's statistic and affine entry;
    /// w and b are read where <see cref="NormArgs.Affine"/> says (else w = 1, b = 0).</summary>
    void NormForward(Storage x, Storage mean, Storage var, Storage? weight, Storage? bias, Storage y, NormArgs a);
    /// <summary>Per slot s: sumG[s] = Σ g·w and sumGX[s] = Σ g·w·x̂ over its elements, x̂ = (x − mean[t])·r (w = 1 without a
    /// weight); g dense from <see cref="NormArgs.GOffset"/>.</summary>
    void NormGradSums(Storage x, Storage mean, Storage var, Storage? weight, Storage g, Storage sumG, Storage sumGX, NormArgs a);
    /// <summary>dx = r·(g·w − sumG[t]/m − x̂·sumGX[t]/m) with m = Outer·Inner (batch statistics; the view's statistic is its
    /// slot), or r·g·w with fixed statistics (then the sums are not read).</summary>
    void NormBackward(Storage x, Storage mean, Storage var, Storage? weight, Storage g, Storage? sumG, Storage? sumGX, Storage dx,
        NormArgs a);
    /// <summary>Adaptive max pooling: y [NC, OH, OW] (dense from 0) = the max of each bin of x (NaN wins).</summary>
    void AdaptiveMax(Storage x, Storage y, AdaptiveArgs a);
    /// <summary>
    /// Adaptive max pooling's gradient: dx [NC, H, W] (dense from 0); each input element sums, over the bins that hold it
    /// in increasing order, (x == y ? 1 : 0) · (g / the number of the bin's elements equal to y), as
    /// <see cref="MaxPoolBack"/>. x from a.Offset, y and g dense from 0.
    /// </summary>
    void AdaptiveMaxBack(Storage x, Storage y, Storage g, Storage dx, AdaptiveArgs a);
    /// <summary>Max pooling: y [N·C, OH, OW] (dense from 0) = the max of each window of x (from a.Offset; outside the input
    /// reads a.Pad), combined in window order as the max reduction does (NaN kept; of equal values the later, which tells
    /// only +0 from −0).</summary>
    void MaxPool(Storage x, Storage y, WindowArgs a);
    /// <summary>Average pooling, padding counted: y [N·C, OH, OW] (dense from 0) = the sum of each window of x (from a.Offset;
    /// outside the input reads 0) divided by KH·KW.</summary>
    void AvgPool(Storage x, Storage y, WindowArgs a);
    /// <summary>Its gradient: dx [N·C, H, W] (dense from 0) = Σ over the windows that hold each element of g / (KH·KW); g
    /// dense from 0.</summary>
    void AvgPoolBack(Storage g, Storage dx, WindowArgs a);
    /// <summary>LSTM cell (<see cref="RnnArgs"/>): gates [B, 4H] in PyTorch's order (i, f, g, o) and cPrev [B, H] → hc [2, B, H]
    /// with c = σ(f)·cPrev + σ(i)·tanh(g) second and h = σ(o)·tanh(c) first.</summary>
    void LstmCell(Storage gates, Storage cPrev, Storage hc, RnnArgs a);
    /// <summary>Its gradient from dhc [2, B, H] (dh, dc): dGates [B, 4H] and dcPrev [B, H], recomputing the gates.</summary>
    void LstmCellBackward(Storage gates, Storage cPrev, Storage dhc, Storage dGates, Storage dcPrev, RnnArgs a);
    /// <summary>GRU cell: the input and hidden projections [B, 3H] (r, z, n; the hidden one with b_hh) and hPrev [B, H] →
    /// h = (1 − z)·n + z·hPrev, r = σ(xr + hr), z = σ(xz + hz), n = tanh(xn + r·hn).</summary>
    void GruCell(Storage xGates, Storage hGates, Storage hPrev, Storage h, RnnArgs a);
    /// <summary>Its gradient from dh [B, H]: dxGates and dhGates [B, 3H] and dhPrev [B, H].</summary>
    void GruCellBackward(Storage xGates, Storage hGates, Storage hPrev, Storage dh, Storage dxGates, Storage dhGates, Storage dhPrev,
        RnnArgs a);
    /// <summary>Waits for queued work.</summary>
    void Synchronize();
}
