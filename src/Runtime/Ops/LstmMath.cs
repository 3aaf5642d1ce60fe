using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using V = System.Runtime.Intrinsics.Vector256<float>;
using W = System.Runtime.Intrinsics.Vector512<float>;

namespace DeepSharp.Ops;

/// <summary>e^x, σ and tanh on 8 and 16 lanes for the CPU's fused LSTM sequence: .NET 10 has no vector tanh, and its vector
/// exp (computed in double precision) made the cell cost as much as the step's product.</summary>
internal static class LstmMath
{
    // e^x for x clamped to [−87.3, 88.3] (so 2^n stays a normal float): x = n·ln2 + r with |r| ≤ ln2/2 (ln2 in two parts,
    // Cody and Waite), e^r by its Taylor series to r⁷ (first omitted term below 5.2e−9 of e^r), times 2^n built in the
    // exponent bits. Within 1e−7 relative; NaN for NaN.
    private const float Lo = -87.3f, Hi = 88.3f, Log2E = 1.44269504f, Ln2Hi = 0.693145752f, Ln2Lo = 1.42860677e-6f;

    /// <summary>e^x on 8 lanes (see the constants above).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static V Exp(V x)
    {
        var xc = Vector256.MinNative(Vector256.MaxNative(x, Vector256.Create(Lo)), Vector256.Create(Hi));
        var n = Vector256.Round(xc * Vector256.Create(Log2E));
        var r = Vector256.FusedMultiplyAdd(n, Vector256.Create(-Ln2Hi), xc);
        r = Vector256.FusedMultiplyAdd(n, Vector256.Create(-Ln2Lo), r);
        var p = Vector256.Create(1f / 5040f);
        p = Vector256.FusedMultiplyAdd(p, r, Vector256.Create(1f / 720f));
        p = Vector256.FusedMultiplyAdd(p, r, Vector256.Create(1f / 120f));
        p = Vector256.FusedMultiplyAdd(p, r, Vector256.Create(1f / 24f));
        p = Vector256.FusedMultiplyAdd(p, r, Vector256.Create(1f / 6f));
        p = Vector256.FusedMultiplyAdd(p, r, Vector256.Create(0.5f));
        p = Vector256.FusedMultiplyAdd(p, r, V.One);
        p = Vector256.FusedMultiplyAdd(p, r, V.One);
        var scale = Vector256.ShiftLeft(Vector256.ConvertToInt32(n) + Vector256.Create(127), 23).AsSingle();
        return Vector256.ConditionalSelect(Vector256.Equals(x, x), p * scale, x);
    }

    /// <summary>e^x on 16 lanes: the same operations as the 8-lane form, so the same bits.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static W Exp(W x)
    {
        var xc = Vector512.MinNative(Vector512.MaxNative(x, Vector512.Create(Lo)), Vector512.Create(Hi));
        var n = Vector512.Round(xc * Vector512.Create(Log2E));
        var r = Vector512.FusedMultiplyAdd(n, Vector512.Create(-Ln2Hi), xc);
        r = Vector512.FusedMultiplyAdd(n, Vector512.Create(-Ln2Lo), r);
        var p = Vector512.Create(1f / 5040f);
        p = Vector512.FusedMultiplyAdd(p, r, Vector512.Create(1f / 720f));
        p = Vector512.FusedMultiplyAdd(p, r, Vector512.Create(1f / 120f));
        p = Vector512.FusedMultiplyAdd(p, r, Vector512.Create(1f / 24f));
        p = Vector512.FusedMultiplyAdd(p, r, Vector512.Create(1f / 6f));
        p = Vector512.FusedMultiplyAdd(p, r, Vector512.Create(0.5f));
        p = Vector512.FusedMultiplyAdd(p, r, W.One);
        p = Vector512.FusedMultiplyAdd(p, r, W.One);
        var scale = Vector512.ShiftLeft(Vector512.ConvertToInt32(n) + Vector512.Create(127), 23).AsSingle();
        return Vector512.ConditionalSelect(Vector512.Equals(x, x), p * scale, x);
    }

    /// <summary>σ(x) = 1/(1 + e^−x); NaN for NaN. Far out it is 1 or about 4.5e−39 (the exp's clamp), not 0.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static V Sigmoid(V x) => V.One / (V.One + Exp(-x));

    /// <inheritdoc cref="Sigmoid(V)"/>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static W Sigmoid(W x) => W.One / (W.One + Exp(-x));

    /// <summary>tanh(x) = 2σ(2x) − 1: within about 1.2e−7 absolute (not relative near 0, where σ(2x) is near 1/2).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static V Tanh(V x) => Vector256.Create(2f) / (V.One + Exp(-(x + x))) - V.One;

    /// <inheritdoc cref="Tanh(V)"/>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static W Tanh(W x) => Vector512.Create(2f) / (W.One + Exp(-(x + x))) - W.One;
}
