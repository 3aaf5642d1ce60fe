using CsCheck;

namespace DeepSharp.IO.Tests;

/// <summary>Runs a property over values drawn from CsCheck generators with a fixed seed, so the suite is deterministic.
/// A failure names the failing case's CsCheck seed: <c>gen.Sample(assert, seed: "…", iter: 1)</c> replays it, and
/// <c>gen.Sample(assert, seed: "…")</c> shrinks it to a small example.</summary>
internal static class Property
{
    public static void ForAll<T>(Gen<T> gen, Action<T> assert, int iterations, ulong seed)
    {
        var root = new PCG(1, seed);
        for (int i = 0; i < iterations; i++)
        {
            var pcg = new PCG(root.Next(), root.Next64());
            var replay = pcg.ToString();
            var value = gen.Generate(pcg, null!, out _);
            try { assert(value); }
            catch (Exception e) { Assert.Fail($"case {i} of {iterations} failed; replay it with seed \"{replay}\":\n{e}"); }
        }
    }
}
