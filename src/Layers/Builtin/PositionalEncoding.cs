using System.Collections.Concurrent;

namespace DeepSharp.Layers;

/// <summary>
/// Sinusoidal positional encoding (the book's <c>d2l.PositionalEncoding</c>, from "Attention Is All You Need"): x
/// [batch, steps, numHiddens] → dropout(x + P[:steps]) with P[i, 2j] = sin(i / 10000^(2j/d)) and P[i, 2j+1] =
/// cos(i / 10000^(2j/d)), d = numHiddens. P is a constant computed once, like the book's plain tensor attribute: not a
/// parameter and not in the state dict (so checkpoints match the book's), kept per device as a cache. Any input of rank ≥ 2
/// whose last two dims are [steps, numHiddens] works ([steps, numHiddens] unbatched).
/// </summary>
public sealed class PositionalEncoding : Block
{
    private readonly Dropout _dropout;
    private readonly float[] _table;
    [Transient] private readonly ConcurrentDictionary<Device, Tensor> _onDevice = new();

    /// <summary>An encoding for up to <paramref name="maxLen"/> steps of <paramref name="numHiddens"/> features.</summary>
    /// <exception cref="ArgumentOutOfRangeException">numHiddens or maxLen is not positive, or dropout is outside [0, 1).</exception>
    public PositionalEncoding(int numHiddens, float dropout, int maxLen = 1000)
    {
        const string me = nameof(PositionalEncoding);
        if (numHiddens <= 0)
            throw new ArgumentOutOfRangeException(nameof(numHiddens), numHiddens, $"{me}: numHiddens must be positive, got {numHiddens}.");
        if (maxLen <= 0) throw new ArgumentOutOfRangeException(nameof(maxLen), maxLen, $"{me}: maxLen must be positive, got {maxLen}.");
        if (!(dropout >= 0f && dropout < 1f))
            throw new ArgumentOutOfRangeException(nameof(dropout), dropout, $"{me}: dropout must be in [0, 1), got {dropout}.");
        (NumHiddens, MaxLen) = (numHiddens, maxLen);
        _dropout = Register("dropout", new Dropout(dropout));
        _table = new float[maxLen * numHiddens];
        for (int i = 0; i < maxLen; i++)
            for (int j = 0; j < numHiddens; j++)
            {
                // The book's float32 arithmetic: X = i / 10000^(2j'/d), then sin or cos.
                float angle = i / MathF.Pow(10000f, (j & ~1) / (float)numHiddens);
                _table[i * numHiddens + j] = j % 2 == 0 ? MathF.Sin(angle) : MathF.Cos(angle);
            }
    }

    /// <summary>Features d.</summary>
    public int NumHiddens { get; }
    /// <summary>The most steps an input may have.</summary>
    public int MaxLen { get; }

    /// <summary>P [maxLen, numHiddens] on <paramref name="device"/> (default: the CPU), a constant without gradient.</summary>
    public Tensor Encoding(Device? device = null) =>
        _onDevice.GetOrAdd(device ?? Device.Cpu, d => Tensor.FromArray(_table, [MaxLen, NumHiddens], d));

    /// <inheritdoc/>
    /// <exception cref="ArgumentException">x has fewer than 2 dims, its last dim is not numHiddens, or it has more than maxLen
    /// steps.</exception>
    protected override Tensor Forward(Tensor x)
    {
        if (x.Rank < 2 || x.Size(-1) != NumHiddens || x.Size(-2) > MaxLen)
            throw new ArgumentException($"{nameof(PositionalEncoding)}: expected x [..., steps ≤ {MaxLen}, {NumHiddens}], got " +
                $"{Layout.Format(x.Layout.Shape)}.", nameof(x));
        return _dropout.Call(x + Encoding(x.Device).Slice(0, 0, x.Size(-2)));
    }

    /// <inheritdoc/>
    protected override string ExtraRepr() => $"numHiddens={NumHiddens}, maxLen={MaxLen}";
}
