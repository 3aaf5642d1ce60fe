using DeepSharp.Backends;

namespace DeepSharp.Ops;

/// <summary>Every element = Value.</summary>
internal struct FillOp<T>(T value) : IIndexOp<T> where T : unmanaged
{
    /// <summary>The fill value.</summary>
    public T Value = value;
    /// <inheritdoc/>
    public readonly T At(int i) => Value;
}

/// <summary>Element i = Start + i·Step, computed in double then rounded to T (as torch.arange does for float).</summary>
internal struct ArangeOp<T, E>(double start, double step) : IIndexOp<T> where T : unmanaged where E : struct, IElement<T>
{
    /// <summary>First value.</summary>
    public double Start = start;
    /// <summary>Spacing.</summary>
    public double Step = step;
    /// <inheritdoc/>
    public readonly T At(int i) => default(E).FromDouble(Start + i * Step);
}

/// <summary>The distribution <see cref="RandomOp"/> draws from.</summary>
internal enum Distribution
{
    /// <summary>Uniform in [A, B).</summary>
    Uniform,
    /// <summary>Normal with mean A and standard deviation B.</summary>
    Normal,
}

/// <summary>
/// Counter-based random numbers: element i depends only on (seed, counter + i), so every device and every chunking of the
/// work produces the same stream (up to each device's float rounding of log/cos).
/// </summary>
internal struct RandomOp(ulong seed, ulong counter, Distribution distribution, float a, float b) : IIndexOp<float>
{
    /// <summary>Stream seed.</summary>
    public ulong Seed = seed;
    /// <summary>First counter value of this tensor.</summary>
    public ulong Counter = counter;
    /// <summary>What the numbers follow.</summary>
    public Distribution Distribution = distribution;
    /// <summary>Lower bound or mean.</summary>
    public float A = a;
    /// <summary>Upper bound or standard deviation.</summary>
    public float B = b;

    /// <inheritdoc/>
    public readonly float At(int i)
    {
        ulong c = Counter + (ulong)i;
        if (Distribution == Distribution.Uniform) return A + (B - A) * Uniform24(Hash(Seed, 2 * c));
        // Box–Muller; u1 in (0, 1] keeps the log finite.
        float u1 = Uniform24(Hash(Seed, 2 * c)) + 5.9604645E-08f;
        float u2 = Uniform24(Hash(Seed, 2 * c + 1));
        return A + B * MathF.Sqrt(-2f * MathF.Log(u1)) * MathF.Cos(6.2831855f * u2);
    }

    // 24 random bits scaled to [0, 1): exactly representable in float32.
    private static float Uniform24(ulong h) => (float)(h >> 40) * 5.9604645E-08f;

    // SplitMix64's finalizer over seed and counter (Steele, Lea, Flood 2014).
    private static ulong Hash(ulong seed, ulong c)
    {
        ulong z = seed * 0x9E3779B97F4A7C15UL + c * 0xD1B54A32D192ED03UL + 0x632BE59BD9B4E019UL;
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }
}
