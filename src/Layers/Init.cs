namespace DeepSharp.Layers;

/// <summary>What an initializer knows about the parameter it fills.</summary>
/// <param name="Path">Dotted path of the parameter ("0.weight").</param>
/// <param name="Shape">Its shape ([out, in, …] for weights, as in PyTorch).</param>
/// <param name="Generator">The parameter's own random stream (see <see cref="Init"/> for the rule).</param>
public sealed record InitContext(string Path, int[] Shape, Generator Generator)
{
    /// <summary>Dotted path of the parameter ("0.weight").</summary>
    public string Path { get; init => field = value ?? throw new ArgumentNullException(nameof(value)); }
        = Path ?? throw new ArgumentNullException(nameof(Path));
    /// <summary>Its shape ([out, in, …] for weights, as in PyTorch).</summary>
    public int[] Shape { get; init => field = value ?? throw new ArgumentNullException(nameof(value)); }
        = Shape ?? throw new ArgumentNullException(nameof(Shape));
    /// <summary>The parameter's own random stream (see <see cref="Init"/> for the rule).</summary>
    public Generator Generator { get; init => field = value ?? throw new ArgumentNullException(nameof(value)); }
        = Generator ?? throw new ArgumentNullException(nameof(Generator));

    private int Receptive => Shape.Length > 2 ? Shape[2..].Aggregate(1, (a, b) => a * b) : 1;
    /// <summary>Inputs per output unit: shape[1]·receptive field (shape[0] for vectors).</summary>
    public int FanIn => Shape.Length < 2 ? Shape.FirstOrDefault(1) : Shape[1] * Receptive;
    /// <summary>Outputs per input unit: shape[0]·receptive field.</summary>
    public int FanOut => Shape.Length < 2 ? Shape.FirstOrDefault(1) : Shape[0] * Receptive;
}

/// <summary>Fills a parameter's data (called under no-grad). A custom initializer is one small class or
/// <see cref="Init.Custom"/>.</summary>
public interface IInitializer
{
    /// <summary>Writes initial values into <paramref name="data"/>.</summary>
    void Fill(Tensor data, InitContext context);
}

/// <summary>Which fan Kaiming initialization preserves.</summary>
public enum FanMode
{
    /// <summary>Preserve the variance of activations in the forward pass.</summary>
    FanIn,
    /// <summary>Preserve the variance of gradients in the backward pass.</summary>
    FanOut,
}

/// <summary>The nonlinearity after the layer, for Kaiming's gain.</summary>
public enum Nonlinearity
{
    /// <summary>gain √2.</summary>
    Relu,
    /// <summary>gain 1.</summary>
    Linear,
    /// <summary>gain √(2 / (1 + a²)) with the negative slope a.</summary>
    LeakyRelu,
}

/// <summary>
/// Built-in initializers (torch.nn.init) and the seed of every parameter's random stream.
/// <para>
/// <b>The initialization rule.</b> Each <see cref="Parameter"/> takes its own random stream when it is constructed: the
/// next number of a process-wide sequence that <see cref="ManualSeed"/> restarts (as <c>torch.manual_seed</c> restarts
/// PyTorch's global generator). Its values are drawn from that stream's round k, where k counts the initializers applied to
/// it (<see cref="Block.Initialize"/> with an initializer, <see cref="InitializerExtensions.ApplyTo"/>), whether it had
/// data then or got it later; with its initializer and shape, that decides them. So the same program with the same seed
/// builds the same weights; a lazy model and its eager twin get identical weights, however often either was initialized
/// before data; models built one after another get different weights; each re-initialization draws new numbers, as in
/// PyTorch; and nothing depends on which block sees data first, on <see cref="Block.Materialize(int[], Device?)"/> versus
/// a first batch, on the device, or on which block is the root. Only the order in which parameters are constructed
/// matters (threads that construct models at the same time take streams in whatever order they arrive).
/// </para>
/// </summary>
public static class Init
{
    private static readonly object _lock = new();
    private static ulong _seed = 0x1417, _next;

    /// <summary>The seed of all parameter initialization. Setting it restarts the sequence of parameter streams
    /// (the same as <see cref="ManualSeed"/>).</summary>
    public static ulong Seed
    {
        get { lock (_lock) return _seed; }
        set => ManualSeed(value);
    }

    /// <summary>Restarts random numbers from <paramref name="seed"/>, as <c>torch.manual_seed</c> does: the parameters
    /// constructed from now on get the same streams, in order, as after any other call with this seed, and
    /// <see cref="Generator.Default"/> (dropout masks, <c>Tensor.Rand</c> without a generator) restarts from it too. The
    /// two stay separate streams, so drawing data never changes which weights a model gets.</summary>
    public static void ManualSeed(ulong seed)
    {
        lock (_lock) { _seed = seed; _next = 0; }
        Generator.Default.ManualSeed(seed);
    }

    /// <summary>The stream seed for the next parameter constructed (see <see cref="Mix"/>: neighbouring parameters get
    /// unrelated streams).</summary>
    internal static ulong NextStreamSeed()
    {
        ulong seed, n;
        lock (_lock) { seed = _seed; n = _next++; }
        return Mix(seed, n);
    }

    /// <summary>Seed number <paramref name="n"/> derived from <paramref name="seed"/> (SplitMix64's output function over
    /// seed + (n + 1)·φ), for a parameter's stream and for its re-initializations.</summary>
    internal static ulong Mix(ulong seed, ulong n)
    {
        ulong z = seed + (n + 1) * 0x9E3779B97F4A7C15UL;
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }

    /// <summary>N(mean, std²).</summary>
    public static IInitializer Normal(float mean = 0f, float std = 1f) =>
        new Rule($"Normal({mean}, {std})", (t, c) => Randn(t, c, mean, std));
    /// <summary>U[a, b).</summary>
    public static IInitializer Uniform(float a = 0f, float b = 1f) => new Rule($"Uniform({a}, {b})", (t, c) => Rand(t, c, a, b));
    /// <summary>All zeros.</summary>
    public static IInitializer Zeros { get; } = Constant(0f);
    /// <summary>All ones.</summary>
    public static IInitializer Ones { get; } = Constant(1f);
    /// <summary>Every element = <paramref name="value"/>.</summary>
    public static IInitializer Constant(float value) => new Rule($"Constant({value})", (t, _) => t.FillInPlace(value));

    /// <summary>Xavier/Glorot uniform: U(±gain·√(6 / (fanIn + fanOut))) (Glorot &amp; Bengio 2010).</summary>
    public static IInitializer XavierUniform(float gain = 1f) => new Rule($"XavierUniform({gain})", (t, c) =>
    {
        float bound = gain * MathF.Sqrt(6f / (c.FanIn + c.FanOut));
        Rand(t, c, -bound, bound);
    });

    /// <summary>Xavier/Glorot normal: N(0, gain²·2 / (fanIn + fanOut)).</summary>
    public static IInitializer XavierNormal(float gain = 1f) => new Rule($"XavierNormal({gain})", (t, c) =>
        Randn(t, c, 0f, gain * MathF.Sqrt(2f / (c.FanIn + c.FanOut))));

    /// <summary>Kaiming/He uniform: U(±gain·√(3 / fan)) (He et al. 2015).</summary>
    public static IInitializer KaimingUniform(float a = 0f, FanMode mode = FanMode.FanIn,
        Nonlinearity nonlinearity = Nonlinearity.LeakyRelu) =>
        new Rule($"KaimingUniform({a}, {mode}, {nonlinearity})", (t, c) =>
        {
            float bound = Gain(nonlinearity, a) * MathF.Sqrt(3f / Fan(c, mode));
            Rand(t, c, -bound, bound);
        });

    /// <summary>Kaiming/He normal: N(0, gain² / fan) (He et al. 2015).</summary>
    public static IInitializer KaimingNormal(float a = 0f, FanMode mode = FanMode.FanIn,
        Nonlinearity nonlinearity = Nonlinearity.LeakyRelu) =>
        new Rule($"KaimingNormal({a}, {mode}, {nonlinearity})",
            (t, c) => Randn(t, c, 0f, Gain(nonlinearity, a) / MathF.Sqrt(Fan(c, mode))));

    /// <summary>A custom initializer from a delegate (runs under no-grad; write with in-place ops or <c>CopyFrom</c>).</summary>
    /// <exception cref="ArgumentNullException">An argument is null.</exception>
    public static IInitializer Custom(string name, Action<Tensor, InitContext> fill) =>
        new Rule(name ?? throw new ArgumentNullException(nameof(name)), fill ?? throw new ArgumentNullException(nameof(fill)));

    private static float Gain(Nonlinearity n, float a) => n switch
    {
        Nonlinearity.Relu => MathF.Sqrt(2f),
        Nonlinearity.Linear => 1f,
        _ => MathF.Sqrt(2f / (1f + a * a)),
    };

    private static float Fan(InitContext c, FanMode mode) => Math.Max(1, mode == FanMode.FanIn ? c.FanIn : c.FanOut);
    // A tensor without elements is left as it is, as torch.nn.init does (its fans can be 0, so its bounds infinite).
    // The draws are freed at once: initialization runs outside any step's scope, and a weight-sized temporary left to the
    // GC would hold device memory until a collection happens to run.
    private static void Rand(Tensor t, InitContext c, float a, float b)
    {
        if (t.Count == 0) return;
        using var r = Tensor.Rand(c.Shape, a, b, c.Generator, t.Device);
        t.CopyFrom(r);
    }

    private static void Randn(Tensor t, InitContext c, float mean, float std)
    {
        if (t.Count == 0) return;
        using var r = Tensor.Randn(c.Shape, mean, std, c.Generator, t.Device);
        t.CopyFrom(r);
    }

    private sealed class Rule(string name, Action<Tensor, InitContext> fill) : IInitializer
    {
        public void Fill(Tensor data, InitContext context) => fill(data, context);
        public override string ToString() => name;
    }
}
