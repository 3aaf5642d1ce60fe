using CsCheck;

namespace DeepSharp.Tests;

/// <summary>
/// Deterministic property checks with CsCheck's generators: the same seed gives the same cases on every run (CsCheck's own
/// Sample seeds only its first iteration). A failure names the iteration, the seed and the case.
/// </summary>
public static class Property
{
    public static void ForAll<T>(Gen<T> gen, Action<T> assert, int iter = 400, ulong seed = 1)
    {
        var pcg = new PCG(1, seed);
        for (int i = 0; i < iter; i++)
        {
            var value = gen.Generate(pcg, null, out _);
            try { assert(value); }
            catch (Exception e)
            {
                throw new Xunit.Sdk.XunitException(
                    $"Property failed at iteration {i} (seed {seed}) for {value}: {e.GetType().Name}: {e.Message}");
            }
        }
    }

    /// <summary>Ints that break size arithmetic: 0, ±1, the int extremes and values near them, and small ones.</summary>
    public static Gen<int> HostileInt { get; } = Gen.Frequency(
        (3, (IGen<int>)Gen.Int[-3, 8]),
        (2, Gen.OneOf(0, -1, -5, 1, 2, int.MinValue, int.MaxValue, int.MaxValue - 1, int.MinValue + 1, 1 << 16, 46341, 1 << 30,
            -(1 << 30))),
        (1, Gen.Int));

    /// <summary>Doubles that break conversions and counts.</summary>
    public static Gen<double> HostileDouble { get; } = Gen.Frequency(
        (3, (IGen<double>)Gen.Double[-10, 10]),
        (2, Gen.OneOf(0d, -1d, -5d, double.NaN, double.PositiveInfinity, double.NegativeInfinity, 1e20, -1e20, 1e12, 2147483647.5,
            2147483648d, -2147483649d, 9.223372036854775807e18, -9.223372036854775808e18, 1e-300, double.Epsilon)),
        (1, Gen.Double));
}
