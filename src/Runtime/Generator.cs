namespace DeepSharp;

/// <summary>
/// A seedable source of random tensors. Counter-based: each draw takes the next block of counters, and element i of a draw
/// depends only on (seed, counter + i), so the same seed gives the same numbers on every device and thread count.
/// </summary>
public sealed class Generator(ulong seed = 0x5EED)
{
    private ulong _counter;

    /// <summary>The generator used when none is passed (reset by <see cref="ManualSeed"/>).</summary>
    public static Generator Default { get; } = new();

    /// <summary>The stream's seed.</summary>
    public ulong Seed { get; private set; } = seed;

    /// <summary>Restarts the stream from <paramref name="seed"/> (torch.manual_seed).</summary>
    public Generator ManualSeed(ulong seed)
    {
        lock (this) { Seed = seed; _counter = 0; }
        return this;
    }

    /// <summary>Reserves <paramref name="count"/> counters and returns the first.</summary>
    internal ulong Take(int count)
    {
        lock (this) { var c = _counter; _counter += (ulong)count; return c; }
    }
}
