namespace DeepSharp.Data;

/// <summary>Shape arithmetic and formatting for the data pipeline.</summary>
internal static class Shapes
{
    /// <summary>The element count of <paramref name="shape"/>, checked: dims ≥ 0 and a product that fits an int.</summary>
    public static int Numel(ReadOnlySpan<int> shape, string name)
    {
        long n = 1;
        foreach (int d in shape)
        {
            if (d < 0) throw new ArgumentException($"The shape {Format(shape)} has a negative dim.", name);
            n *= d;
            if (n > int.MaxValue) throw new ArgumentException($"The shape {Format(shape)} has more than {int.MaxValue} elements.", name);
        }
        return (int)n;
    }

    /// <summary>The shape as <c>[a, b, c]</c>.</summary>
    public static string Format(ReadOnlySpan<int> shape) => "[" + string.Join(", ", shape.ToArray()) + "]";

    /// <summary>[<paramref name="first"/>, …<paramref name="rest"/>].</summary>
    public static int[] Prepend(int first, int[] rest) => [first, .. rest];
}
