namespace DeepSharp.Data;

/// <summary>
/// The random numbers of one sample's transforms: a SplitMix64 stream (Steele, Lea and Flood, "Fast splittable
/// pseudorandom number generators", OOPSLA 2014) started from (seed, epoch, index) by <see cref="For"/>, so a sample's
/// crop and flip depend only on those three numbers, never on which thread prepared it or when. Transforms of a
/// <see cref="Compose"/> draw from the same stream in order.
/// </summary>
public struct TransformRandom
{
    private ulong _state;

    /// <summary>A stream started from <paramref name="state"/>.</summary>
    public TransformRandom(ulong state) => _state = state;

    /// <summary>The stream of sample <paramref name="index"/> in epoch <paramref name="epoch"/> of a loader seeded with
    /// <paramref name="seed"/> (what <see cref="DataLoader"/> passes to the transforms).</summary>
    public static TransformRandom For(ulong seed, long epoch, long index) => new(Mix.Of(seed, Mix.TransformStream, epoch, index));

    /// <summary>The next 64 random bits.</summary>
    public ulong NextUInt64()
    {
        _state += Mix.Golden;
        return Mix.Finalize(_state);
    }

    /// <summary>A uniform double in [0, 1) (53 random bits).</summary>
    public double NextDouble() => (NextUInt64() >> 11) * (1.0 / (1UL << 53));

    /// <summary>A uniform integer in [0, <paramref name="maxExclusive"/>) (Lemire's multiply-shift; the bias is below
    /// 2^-32 for any int bound).</summary>
    /// <exception cref="ArgumentOutOfRangeException">maxExclusive is not positive.</exception>
    public int Next(int maxExclusive)
    {
        if (maxExclusive <= 0)
            throw new ArgumentOutOfRangeException(nameof(maxExclusive), maxExclusive, "TransformRandom.Next: the bound must be positive.");
        return (int)(((NextUInt64() >> 32) * (ulong)maxExclusive) >> 32);
    }
}

/// <summary>SplitMix64's constants and finalizer, and a hash of several numbers into one seed.</summary>
internal static class Mix
{
    public const ulong Golden = 0x9E3779B97F4A7C15;
    /// <summary>Domain tags, so the shuffle and the transforms of the same (seed, epoch) draw unrelated streams.</summary>
    public const long ShuffleStream = 0x5348554646, TransformStream = 0x5452414E53;

    public static ulong Finalize(ulong z)
    {
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EB;
        return z ^ (z >> 31);
    }

    public static ulong Of(ulong seed, long a, long b, long c = 0)
    {
        ulong h = Finalize(seed + Golden);
        h = Finalize(h ^ (ulong)a) + Golden;
        h = Finalize(h ^ (ulong)b) + Golden;
        return Finalize(h ^ (ulong)c);
    }
}
