namespace DeepSharp.Layers;

/// <summary>max(x, 0), elementwise.</summary>
public sealed class Relu : Block
{
    /// <inheritdoc/>
    protected override Tensor Forward(Tensor x) => x.Relu();
}

/// <summary>1 / (1 + e^-x), elementwise.</summary>
public sealed class Sigmoid : Block
{
    /// <inheritdoc/>
    protected override Tensor Forward(Tensor x) => x.Sigmoid();
}

/// <summary>tanh x, elementwise.</summary>
public sealed class Tanh : Block
{
    /// <inheritdoc/>
    protected override Tensor Forward(Tensor x) => x.Tanh();
}

/// <summary>[batch, d1, d2, …] → [batch, d1·d2·…].</summary>
public sealed class Flatten : Block
{
    // The batch size is explicit: -1 is ambiguous for an empty batch.
    /// <inheritdoc/>
    protected override Tensor Forward(Tensor x) => x.Rank <= 1 ? x : x.Reshape(x.Size(0), x.Shape[1..].Aggregate(1, (a, b) => a * b));
}

/// <summary>
/// In training mode zeroes each element with probability p and scales the rest by 1/(1-p); in evaluation mode passes x
/// through. The mask comes from <see cref="Generator"/> (default: the global one).
/// </summary>
public sealed class Dropout : Block
{
    /// <summary>Drop probability in [0, 1).</summary>
    /// <exception cref="ArgumentOutOfRangeException">p outside [0, 1).</exception>
    public Dropout(float p, Generator? generator = null)
    {
        P = p is >= 0 and < 1 ? p : throw new ArgumentOutOfRangeException(nameof(p), $"Dropout: p must be in [0, 1), got {p}.");
        Generator = generator;
    }

    /// <summary>Drop probability.</summary>
    public float P { get; }
    /// <summary>The mask's random stream (null: the global generator).</summary>
    public Generator? Generator { get; }

    /// <inheritdoc/>
    protected override Tensor Forward(Tensor x)
    {
        if (!IsTraining || P == 0f) return x;
        var keep = Tensor.Rand(x.Shape, generator: Generator, device: x.Device).Ge(Tensor.Scalar(P, x.Device));
        return x * keep * (1f / (1f - P));
    }

    /// <inheritdoc/>
    protected override string ExtraRepr() => $"p={P}";
}
