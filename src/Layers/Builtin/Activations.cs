using static System.FormattableString;

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

/// <summary>x where x &gt; 0, else negativeSlope·x, elementwise (<c>nn.LeakyReLU</c>).</summary>
/// <param name="negativeSlope">The slope for x ≤ 0 (finite, else <see cref="ArgumentException"/>).</param>
public sealed class LeakyRelu(float negativeSlope = 0.01f) : Block
{
    /// <summary>The slope for x ≤ 0.</summary>
    public float NegativeSlope { get; } = float.IsFinite(negativeSlope) ? negativeSlope
        : throw new ArgumentException($"LeakyRelu: negativeSlope must be finite, got {negativeSlope}.", nameof(negativeSlope));
    /// <inheritdoc/>
    protected override Tensor Forward(Tensor x) => x.LeakyRelu(NegativeSlope);
    /// <inheritdoc/>
    protected override string ExtraRepr() => Invariant($"negativeSlope={NegativeSlope}");
}

/// <summary>GELU, elementwise (<c>nn.GELU</c>): x·Φ(x), or its tanh approximation.</summary>
/// <param name="approximate">"none" (the exact erf form) or "tanh".</param>
public sealed class Gelu(string approximate = "none") : Block
{
    /// <summary>"none" or "tanh".</summary>
    public string Approximate { get; } = (approximate ?? throw new ArgumentNullException(nameof(approximate))) is "none" or "tanh"
        ? approximate
        : throw new ArgumentException($"Gelu: approximate must be \"none\" or \"tanh\", got \"{approximate}\".", nameof(approximate));
    /// <inheritdoc/>
    protected override Tensor Forward(Tensor x) => x.Gelu(Approximate);
    /// <inheritdoc/>
    protected override string ExtraRepr() => $"approximate={Approximate}";
}

/// <summary>SiLU (swish), x·σ(x), elementwise (<c>nn.SiLU</c>).</summary>
public sealed class Silu : Block
{
    /// <inheritdoc/>
    protected override Tensor Forward(Tensor x) => x.Silu();
}

/// <summary>ELU, elementwise (<c>nn.ELU</c>): x where x &gt; 0, else α(e^x − 1).</summary>
/// <param name="alpha">α (finite, else <see cref="ArgumentException"/>).</param>
public sealed class Elu(float alpha = 1f) : Block
{
    /// <summary>α.</summary>
    public float Alpha { get; } = float.IsFinite(alpha) ? alpha
        : throw new ArgumentException($"Elu: alpha must be finite, got {alpha}.", nameof(alpha));
    /// <inheritdoc/>
    protected override Tensor Forward(Tensor x) => x.Elu(Alpha);
    /// <inheritdoc/>
    protected override string ExtraRepr() => Invariant($"alpha={Alpha}");
}

/// <summary>x clamped to [min, max], elementwise (<c>nn.Hardtanh</c>).</summary>
public sealed class Hardtanh : Block
{
    /// <summary>Bounds with min &lt; max.</summary>
    /// <exception cref="ArgumentException">min is not below max, or a bound is NaN.</exception>
    public Hardtanh(float min = -1f, float max = 1f)
    {
        if (!(min < max))
            throw new ArgumentException($"Hardtanh: min must be below max, got min {min} and max {max}.",
                float.IsNaN(max) ? nameof(max) : nameof(min));
        Min = min; Max = max;
    }
    /// <summary>The lower bound.</summary>
    public float Min { get; }
    /// <summary>The upper bound.</summary>
    public float Max { get; }
    /// <inheritdoc/>
    protected override Tensor Forward(Tensor x) => x.Hardtanh(Min, Max);
    /// <inheritdoc/>
    protected override string ExtraRepr() => Invariant($"min={Min}, max={Max}");
}

/// <summary>log(1 + e^(βx))/β, elementwise, and x where βx &gt; threshold (<c>nn.Softplus</c>).</summary>
public sealed class Softplus : Block
{
    /// <summary>β (positive, finite) and the threshold above which βx is returned as x.</summary>
    /// <exception cref="ArgumentException">beta is not positive and finite, or threshold is NaN.</exception>
    public Softplus(float beta = 1f, float threshold = 20f)
    {
        if (!(beta > 0f && float.IsFinite(beta)))
            throw new ArgumentException($"Softplus: beta must be positive and finite, got {beta}.", nameof(beta));
        if (float.IsNaN(threshold)) throw new ArgumentException("Softplus: threshold must not be NaN.", nameof(threshold));
        Beta = beta; Threshold = threshold;
    }
    /// <summary>β.</summary>
    public float Beta { get; }
    /// <summary>Above βx = threshold the output is x.</summary>
    public float Threshold { get; }
    /// <inheritdoc/>
    protected override Tensor Forward(Tensor x) => x.Softplus(Beta, Threshold);
    /// <inheritdoc/>
    protected override string ExtraRepr() => Invariant($"beta={Beta}, threshold={Threshold}");
}

/// <summary>Softmax along <see cref="Dim"/> (<c>nn.Softmax</c>; <see cref="Functional.Softmax"/>).</summary>
/// <param name="dim">The axis the outputs sum to 1 along (negative: from the end); checked against each input.</param>
public sealed class Softmax(int dim) : Block
{
    /// <summary>The axis (negative: from the end).</summary>
    public int Dim { get; } = dim;
    /// <inheritdoc/>
    protected override Tensor Forward(Tensor x) => Functional.Softmax(x, Dim);
    /// <inheritdoc/>
    protected override string ExtraRepr() => $"dim={Dim}";
}

/// <summary>Log-softmax along <see cref="Dim"/> (<c>nn.LogSoftmax</c>; <see cref="Functional.LogSoftmax"/>).</summary>
/// <param name="dim">The axis (negative: from the end); checked against each input.</param>
public sealed class LogSoftmax(int dim) : Block
{
    /// <summary>The axis (negative: from the end).</summary>
    public int Dim { get; } = dim;
    /// <inheritdoc/>
    protected override Tensor Forward(Tensor x) => Functional.LogSoftmax(x, Dim);
    /// <inheritdoc/>
    protected override string ExtraRepr() => $"dim={Dim}";
}

/// <summary>Returns its input (<c>nn.Identity</c>): a placeholder, e.g. for a layer switched off.</summary>
public sealed class Identity : Block
{
    /// <inheritdoc/>
    protected override Tensor Forward(Tensor x) => x;
}

/// <summary>
/// Flattens dims <see cref="StartDim"/> … <see cref="EndDim"/> into one (<c>nn.Flatten</c>): by default
/// [batch, d1, d2, …] → [batch, d1·d2·…]. With the default dims a tensor of rank 0 or 1 passes through unchanged.
/// </summary>
/// <param name="startDim">The first dim flattened (negative: from the end).</param>
/// <param name="endDim">The last dim flattened (negative: from the end).</param>
public sealed class Flatten(int startDim = 1, int endDim = -1) : Block
{
    /// <summary>Flattens every dim after the first (startDim 1, endDim −1).</summary>
    public Flatten() : this(1, -1) { }

    /// <summary>The first dim flattened (negative: from the end).</summary>
    public int StartDim { get; } = startDim;
    /// <summary>The last dim flattened (negative: from the end).</summary>
    public int EndDim { get; } = endDim;

    /// <inheritdoc/>
    /// <exception cref="ArgumentOutOfRangeException">A dim is out of range for x's rank.</exception>
    /// <exception cref="ArgumentException">startDim comes after endDim.</exception>
    protected override Tensor Forward(Tensor x)
    {
        if (x.Rank <= 1 && StartDim == 1 && EndDim == -1) return x;
        int rank = Math.Max(x.Rank, 1), s = Dim(StartDim, rank, nameof(startDim)), e = Dim(EndDim, rank, nameof(endDim));
        if (s > e)
            throw new ArgumentException($"Flatten: startDim {StartDim} comes after endDim {EndDim} for a tensor of rank {x.Rank}.");
        if (x.Rank == 0) return x.Reshape(1);
        var shape = x.Shape;
        // The sizes are explicit: -1 is ambiguous for an empty tensor.
        int merged = shape[s..(e + 1)].Aggregate(1, (a, b) => a * b);
        return x.Reshape([.. shape[..s], merged, .. shape[(e + 1)..]]);
    }

    private static int Dim(int dim, int rank, string name) => dim >= -rank && dim < rank ? (dim < 0 ? dim + rank : dim)
        : throw new ArgumentOutOfRangeException(name, dim,
            $"Flatten: {name} {dim} is out of range for rank {rank} (expected {-rank}..{rank - 1}).");

    /// <inheritdoc/>
    protected override string ExtraRepr() => $"startDim={StartDim}, endDim={EndDim}";
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

/// <summary>
/// Channel dropout for 1-D signals (<c>nn.Dropout1d</c>): x [N, C, L] or [C, L]. In training mode zeroes each channel
/// (all L elements of x[n, c]) with probability p and scales the rest by 1/(1 − p); in evaluation mode passes x through.
/// The mask comes from <see cref="Generator"/> (default: the global one).
/// </summary>
public sealed class Dropout1d : Block
{
    /// <summary>Drop probability of a channel, in [0, 1).</summary>
    /// <exception cref="ArgumentOutOfRangeException">p outside [0, 1).</exception>
    public Dropout1d(float p = 0.5f, Generator? generator = null)
    {
        P = ChannelDropout.Probability(nameof(Dropout1d), p);
        Generator = generator;
    }

    /// <summary>Drop probability of a channel.</summary>
    public float P { get; }
    /// <summary>The mask's random stream (null: the global generator).</summary>
    public Generator? Generator { get; }

    /// <inheritdoc/>
    /// <exception cref="ArgumentException">x is not [N, C, L] or [C, L] (in either mode, as PyTorch).</exception>
    protected override Tensor Forward(Tensor x)
    {
        if (x.Rank is not (2 or 3))
            throw new ArgumentException($"Dropout1d: expected x [N, C, L] or [C, L], got [{string.Join(", ", x.Shape)}]. It zeroes whole " +
                "channels of 1-D signals; use Dropout to zero single elements.", nameof(x));
        return ChannelDropout.Apply(this, x, P, Generator);
    }

    /// <inheritdoc/>
    protected override string ExtraRepr() => Invariant($"p={P}");
}

/// <summary>
/// Channel dropout for images (<c>nn.Dropout2d</c>): x [N, C, H, W]. In training mode zeroes each channel (the whole
/// feature map x[n, c]) with probability p and scales the rest by 1/(1 − p); in evaluation mode passes x through. A 3-D x
/// is read as [N, C, L] (channel-wise 1-D dropout), as PyTorch's dropout2d does today (it warns that this will change;
/// <see cref="Dropout1d"/> says it plainly). The mask comes from <see cref="Generator"/> (default: the global one).
/// </summary>
public sealed class Dropout2d : Block
{
    /// <summary>Drop probability of a channel, in [0, 1).</summary>
    /// <exception cref="ArgumentOutOfRangeException">p outside [0, 1).</exception>
    public Dropout2d(float p = 0.5f, Generator? generator = null)
    {
        P = ChannelDropout.Probability(nameof(Dropout2d), p);
        Generator = generator;
    }

    /// <summary>Drop probability of a channel.</summary>
    public float P { get; }
    /// <summary>The mask's random stream (null: the global generator).</summary>
    public Generator? Generator { get; }

    /// <inheritdoc/>
    /// <exception cref="ArgumentException">x is not [N, C, H, W] or [N, C, L] (in either mode).</exception>
    protected override Tensor Forward(Tensor x)
    {
        if (x.Rank is not (3 or 4))
            throw new ArgumentException($"Dropout2d: expected x [N, C, H, W] (or [N, C, L]), got [{string.Join(", ", x.Shape)}]. It " +
                "zeroes whole channels; use Dropout to zero single elements.", nameof(x));
        return ChannelDropout.Apply(this, x, P, Generator);
    }

    /// <inheritdoc/>
    protected override string ExtraRepr() => Invariant($"p={P}");
}

/// <summary>What the channel dropouts share: one mask value per (n, c), broadcast over the rest.</summary>
internal static class ChannelDropout
{
    public static float Probability(string op, float p) =>
        p is >= 0 and < 1 ? p : throw new ArgumentOutOfRangeException(nameof(p), p, $"{op}: p must be in [0, 1), got {p}.");

    /// <summary>x·keep/(1 − p) with keep [d0, d1, 1, …] (all but the last rank − 2 dims of x) in training mode, else x.</summary>
    public static Tensor Apply(Block block, Tensor x, float p, Generator? generator)
    {
        if (!block.IsTraining || p == 0f) return x;
        int[] mask = [.. x.Shape[..Math.Min(2, x.Rank - 1)], .. Enumerable.Repeat(1, x.Rank - Math.Min(2, x.Rank - 1))];
        var keep = Tensor.Rand(mask, generator: generator, device: x.Device).Ge(Tensor.Scalar(p, x.Device));
        return x * keep * (1f / (1f - p));
    }
}
