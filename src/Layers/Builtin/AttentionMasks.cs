namespace DeepSharp.Layers;

/// <summary>Masks for attention layers (PyTorch's conventions: float masks are added to the scores; −inf blocks).</summary>
internal static class AttentionMask
{
    /// <summary>Float [l, s]: 0 where key j ≤ query i (PyTorch's <c>is_causal</c>, top-left aligned), −inf above.</summary>
    public static Tensor Causal(int l, int s, Device device)
    {
        var m = new float[l * s];
        for (int i = 0; i < l; i++)
            for (int j = i + 1; j < s; j++) m[i * s + j] = float.NegativeInfinity;
        return Tensor.FromArray(m, [l, s], device);
    }

    /// <summary>A float32 mask as it is; an integer (boolean) mask as −inf where nonzero (blocked) and 0 elsewhere, as
    /// nn.MultiheadAttention reads bool masks.</summary>
    public static Tensor Additive(string op, Tensor mask, string name)
    {
        if (mask.DType == DType.Float32) return mask;
        if (mask.DType is not (DType.Int32 or DType.Int64))
            throw new ArgumentException($"{op}: {name} must be float32 (added to the scores) or int32/int64 (boolean: nonzero = " +
                $"ignore), got {mask.DType.Name()}.", name);
        return Tensor.Where(mask.To(DType.Float32), Tensor.Scalar(float.NegativeInfinity, mask.Device), Tensor.Scalar(0f, mask.Device));
    }
}

/// <summary>The shape rules of <see cref="MultiHeadAttention"/>.</summary>
internal static class MhaShapes
{
    private static string F(Tensor t) => Layout.Format(t.Layout.Shape);

    /// <summary>Checks query, key and value and gives the unbatched form a batch dim of 1.</summary>
    public static (Tensor Query, Tensor Key, Tensor Value, bool Batched) Check(MultiHeadAttention m, Tensor q, Tensor k, Tensor v)
    {
        const string op = nameof(MultiHeadAttention);
        string layout = m.BatchFirst ? "[N, L, E]" : "[L, N, E]";
        if (q.Rank is not (2 or 3) || k.Rank != q.Rank || v.Rank != q.Rank)
            throw new ArgumentException($"{op}: query, key and value must all be batched {layout} (3 dims) or all unbatched [L, E] " +
                $"(2 dims), got {F(q)}, {F(k)} and {F(v)}.", nameof(q));
        foreach (var (t, name, want) in new[] { (q, "query", m.EmbedDim), (k, "key", m.KDim), (v, "value", m.VDim) })
            if (t.Size(-1) != want)
                throw new ArgumentException($"{op}: {name} must have {want} features (last dim), got {F(t)}.", name);
        bool batched = q.Rank == 3;
        int seq = batched && m.BatchFirst ? 1 : 0;
        if (k.Size(seq) != v.Size(seq))
            throw new ArgumentException($"{op}: key {F(k)} and value {F(v)} must have the same length S (dim {seq}).", "value");
        if (batched && (k.Size(1 - seq) != q.Size(1 - seq) || v.Size(1 - seq) != q.Size(1 - seq)))
            throw new ArgumentException($"{op}: query {F(q)}, key {F(k)} and value {F(v)} must have the same batch size N " +
                $"(dim {1 - seq}; layout {layout}).", "key");
        if (batched) return (q, k, v, true);
        int at = m.BatchFirst ? 0 : 1;
        // One view per distinct tensor: the layer shares the work for a query that is also the key or value.
        var q1 = q.Unsqueeze(at);
        var k1 = ReferenceEquals(k, q) ? q1 : k.Unsqueeze(at);
        return (q1, k1, ReferenceEquals(v, k) ? k1 : ReferenceEquals(v, q) ? q1 : v.Unsqueeze(at), false);
    }

    /// <summary>attnMask ([L, S] or [N·H, L, S]) and keyPaddingMask ([N, S]; [S] unbatched) as one additive float mask
    /// broadcastable to [N, H, L, S], or null.</summary>
    public static Tensor? Mask(MultiHeadAttention m, Device device, Tensor? attnMask, Tensor? keyPaddingMask, bool batched, int n, int l,
        int s)
    {
        const string op = nameof(MultiHeadAttention);
        Tensor? a = null, k = null;
        if (attnMask is not null)
        {
            SameDevice(attnMask, device, nameof(attnMask));
            int h = m.NumHeads;
            var ms = attnMask.Shape;
            bool twoD = ms.SequenceEqual(new[] { l, s }), threeD = ms.SequenceEqual(new[] { n * h, l, s });
            if (!twoD && !threeD)
                throw new ArgumentException($"{op}: attnMask must be [L, S] = [{l}, {s}] or [N·H, L, S] = [{n * h}, {l}, {s}], got " +
                    $"{F(attnMask)}.", nameof(attnMask));
            a = AttentionMask.Additive(op, attnMask, nameof(attnMask));
            if (threeD) a = a.Reshape(n, h, l, s);
        }
        if (keyPaddingMask is not null)
        {
            SameDevice(keyPaddingMask, device, nameof(keyPaddingMask));
            int[] want = batched ? [n, s] : [s];
            if (!keyPaddingMask.Shape.SequenceEqual(want))
                throw new ArgumentException($"{op}: keyPaddingMask must be {Layout.Format(want)} ({(batched ? "[N, S]" : "[S]")}), got " +
                    $"{F(keyPaddingMask)}.", nameof(keyPaddingMask));
            k = AttentionMask.Additive(op, keyPaddingMask, nameof(keyPaddingMask)).Reshape(n, 1, 1, s);
        }
        return a is null ? k : k is null ? a : a + k;
    }

    private static void SameDevice(Tensor mask, Device device, string name)
    {
        if (mask.Device != device)
            throw new DeviceMismatchException($"{nameof(MultiHeadAttention)}: {name} is on {mask.Device} but the query on {device}; " +
                "move it with .To(device).");
    }
}
