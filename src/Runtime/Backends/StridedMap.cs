namespace DeepSharp.Backends;

/// <summary>
/// Maps a linear index of a row-major iteration space to storage offsets of up to three operands. Fixed fields, not arrays,
/// so ILGPU can pass it to a kernel by value; dims are right-aligned (D7 innermost) and unused leading dims are 1.
/// </summary>
internal struct StridedMap
{
    /// <summary>Maximum rank after coalescing.</summary>
    public const int MaxRank = 8;
    /// <summary>Number of dims in use.</summary>
    public int Rank;
    /// <summary>Dim sizes, right-aligned.</summary>
    public int D0, D1, D2, D3, D4, D5, D6, D7;
    /// <summary>Strides of operand A, right-aligned.</summary>
    public int A0, A1, A2, A3, A4, A5, A6, A7;
    /// <summary>Strides of operand B, right-aligned.</summary>
    public int B0, B1, B2, B3, B4, B5, B6, B7;
    /// <summary>Strides of operand C, right-aligned.</summary>
    public int C0, C1, C2, C3, C4, C5, C6, C7;
    /// <summary>Storage offsets of the operands.</summary>
    public int OffA, OffB, OffC;

    /// <summary>Offsets of operands A, B and C for linear index <paramref name="i"/>.</summary>
    public readonly (int A, int B, int C) Map(int i)
    {
        // Dense operands collapse to rank 1: no division (slow on GPUs) at all.
        if (Rank == 1) return (OffA + i * A7, OffB + i * B7, OffC + i * C7);
        int a = OffA, b = OffB, c = OffC, r = i, q;
        // Unrolled by hand: ILGPU does not unroll loops, and fields cannot be indexed.
        if (Rank > 0) { q = r % D7; r /= D7; a += q * A7; b += q * B7; c += q * C7; }
        if (Rank > 1) { q = r % D6; r /= D6; a += q * A6; b += q * B6; c += q * C6; }
        if (Rank > 2) { q = r % D5; r /= D5; a += q * A5; b += q * B5; c += q * C5; }
        if (Rank > 3) { q = r % D4; r /= D4; a += q * A4; b += q * B4; c += q * C4; }
        if (Rank > 4) { q = r % D3; r /= D3; a += q * A3; b += q * B3; c += q * C3; }
        if (Rank > 5) { q = r % D2; r /= D2; a += q * A2; b += q * B2; c += q * C2; }
        if (Rank > 6) { q = r % D1; r /= D1; a += q * A1; b += q * B1; c += q * C1; }
        if (Rank > 7) { q = r % D0; a += q * A0; b += q * B0; c += q * C0; }
        return (a, b, c);
    }

    /// <summary>
    /// Builds a map over <paramref name="shape"/> for up to three operand layouts (already broadcast to that shape), merging
    /// adjacent dims that are contiguous in every operand so a dense tensor becomes rank 1.
    /// </summary>
    /// <exception cref="NotSupportedException">More than <see cref="MaxRank"/> dims remain after merging.</exception>
    public static StridedMap Create(int[] shape, Layout a, Layout? b = null, Layout? c = null)
    {
        if (a.IsContiguous && (b?.IsContiguous ?? true) && (c?.IsContiguous ?? true))
        {
            // The common case (dense operands of one shape): a single run, no merging needed.
            int n = Layout.Numel(shape);
            return new StridedMap
            {
                Rank = n == 1 ? 0 : 1, D0 = 1, D1 = 1, D2 = 1, D3 = 1, D4 = 1, D5 = 1, D6 = 1, D7 = n,
                A7 = 1, B7 = b is null ? 0 : 1, C7 = c is null ? 0 : 1, OffA = a.Offset, OffB = b?.Offset ?? 0, OffC = c?.Offset ?? 0
            };
        }
        var dims = new List<int>(); var sa = new List<int>(); var sb = new List<int>(); var sc = new List<int>();
        for (int d = 0; d < shape.Length; d++)
        {
            if (shape[d] == 1) continue;
            int xa = a.Strides[d], xb = b?.Strides[d] ?? 0, xc = c?.Strides[d] ?? 0;
            int last = dims.Count - 1;
            if (last >= 0 && sa[last] == xa * shape[d] && sb[last] == xb * shape[d] && sc[last] == xc * shape[d])
            {
                dims[last] *= shape[d]; sa[last] = xa; sb[last] = xb; sc[last] = xc;
            }
            else { dims.Add(shape[d]); sa.Add(xa); sb.Add(xb); sc.Add(xc); }
        }
        if (dims.Count > MaxRank)
            throw new NotSupportedException(
                $"This tensor needs {dims.Count} strided dims after merging; at most {MaxRank} are supported. Call Contiguous() on the " +
                "inputs first.");
        var m = new StridedMap { Rank = dims.Count, OffA = a.Offset, OffB = b?.Offset ?? 0, OffC = c?.Offset ?? 0 };
        Span<int> d8 = stackalloc int[8], a8 = stackalloc int[8], b8 = stackalloc int[8], c8 = stackalloc int[8];
        d8.Fill(1);
        for (int k = 0; k < dims.Count; k++)
        {
            int slot = 8 - dims.Count + k;
            d8[slot] = dims[k]; a8[slot] = sa[k]; b8[slot] = sb[k]; c8[slot] = sc[k];
        }
        (m.D0, m.D1, m.D2, m.D3, m.D4, m.D5, m.D6, m.D7) = (d8[0], d8[1], d8[2], d8[3], d8[4], d8[5], d8[6], d8[7]);
        (m.A0, m.A1, m.A2, m.A3, m.A4, m.A5, m.A6, m.A7) = (a8[0], a8[1], a8[2], a8[3], a8[4], a8[5], a8[6], a8[7]);
        (m.B0, m.B1, m.B2, m.B3, m.B4, m.B5, m.B6, m.B7) = (b8[0], b8[1], b8[2], b8[3], b8[4], b8[5], b8[6], b8[7]);
        (m.C0, m.C1, m.C2, m.C3, m.C4, m.C5, m.C6, m.C7) = (c8[0], c8[1], c8[2], c8[3], c8[4], c8[5], c8[6], c8[7]);
        return m;
    }

    /// <summary>Size of the innermost merged dim (1 for a scalar).</summary>
    public readonly int Inner => Rank == 0 ? 1 : D7;
    /// <summary>Innermost strides of A, B, C.</summary>
    public readonly (int A, int B, int C) InnerStrides => (A7, B7, C7);
}
