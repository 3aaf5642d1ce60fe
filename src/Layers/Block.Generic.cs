using System.Collections;
using System.Collections.Concurrent;
using System.Reflection;
using System.Runtime.CompilerServices;

namespace DeepSharp.Layers;

/// <summary>
/// A block that takes and returns something other than one tensor: several tensors as a tuple
/// (<c>Block&lt;(Tensor Query, Tensor Key), Tensor&gt;</c>), a tensor and an optional state
/// (<c>Block&lt;(Tensor X, Tensor? State), (Tensor Y, Tensor State)&gt;</c>), or a small record of tensors. Everything else is
/// a <see cref="Block"/>'s: registration, deferred initialization, device moves, state dicts, printing, and
/// <see cref="Summary(TInput)"/>. Run it with <see cref="Call(TInput)"/>:
/// <code>
/// sealed class Gate : Block&lt;(Tensor X, Tensor Context), Tensor&gt;
/// {
///     private readonly Dense _gate = new(16);
///     public Gate() => Register("gate", _gate);
///     protected override Tensor Forward((Tensor X, Tensor Context) input) =>
///         input.X * _gate.Call(input.Context).Sigmoid();
/// }
/// var y = new Gate().Call((x, context));
/// </code>
/// The input's device is the first tensor found in it (tuple items in order, a record's public tensor properties in
/// declaration order, nested up to four levels; null items are skipped). <see cref="Sequential"/> chains single-tensor
/// blocks only: call a block like this from a custom block's <c>Forward</c>. <typeparamref name="TInput"/> is not a lone
/// <see cref="Tensor"/> (that is a <see cref="Block"/>, whose <c>Forward(Tensor)</c> the compiler could not tell apart);
/// a block of one tensor in and several out takes a tuple with an optional second item, as recurrent layers take
/// (x, state).
/// </summary>
/// <typeparam name="TInput">What <see cref="Forward(TInput)"/> takes.</typeparam>
/// <typeparam name="TOutput">What it returns.</typeparam>
public abstract class Block<TInput, TOutput> : Block
{
    /// <summary>The computation: input → output. Called through <see cref="Call(TInput)"/>; never call it directly.</summary>
    protected abstract TOutput Forward(TInput input);

    /// <summary>
    /// Runs the block as <see cref="Block.Call(Tensor)"/> does: on the outermost call, the registration check and
    /// initialization of known shapes on the input's device; then <see cref="Forward(TInput)"/>.
    /// </summary>
    /// <exception cref="ArgumentNullException">The input is null.</exception>
    /// <exception cref="UnregisteredStateException">A field holds a block, parameter or tensor that is not registered.</exception>
    public TOutput Call(TInput input)
    {
        if (input is null) throw new ArgumentNullException(nameof(input), $"{GetType().Name}: the input is null.");
        return Invoke(input, BlockIO.DeviceOf(input), static (b, x) => ((Block<TInput, TOutput>)b).Forward(x));
    }

    /// <summary>
    /// Runs <paramref name="example"/> through the block (no gradients) and prints each block's output shapes, parameter
    /// counts and device, as <see cref="Block.Summary(int[], Device?)"/> does for single-tensor blocks.
    /// </summary>
    /// <exception cref="ArgumentNullException">The example is null.</exception>
    public string Summary(TInput example)
    {
        if (example is null) throw new ArgumentNullException(nameof(example), $"{GetType().Name}: the example input is null.");
        return SummaryOf(() => Call(example), Shapes(example));
    }

    /// <summary>Infers every deferred shape by running <paramref name="example"/> (no gradients; a batch of one or even
    /// zero rows is enough) and returns the parameters with their shapes.</summary>
    /// <exception cref="ArgumentNullException">The example is null.</exception>
    public IReadOnlyList<(string Path, int[] Shape)> Materialize(TInput example)
    {
        if (example is null) throw new ArgumentNullException(nameof(example), $"{GetType().Name}: the example input is null.");
        using (Autograd.NoGrad()) Call(example);
        return NamedParameters().Select(p => (p.Path, p.Parameter.Shape)).ToList();
    }

    /// <summary>Refuses: this block takes <typeparamref name="TInput"/>; the message says how to call it.</summary>
    /// <exception cref="NotSupportedException">Always.</exception>
    protected sealed override Tensor Forward(Tensor x) => throw new NotSupportedException(
        $"{GetType().Name} takes {BlockIO.Describe(typeof(TInput))} and returns {BlockIO.Describe(typeof(TOutput))}, not one " +
        $"tensor: call it with its own Call({BlockIO.Describe(typeof(TInput))}).");

    internal override bool TakesOneTensor => false;
}

/// <summary>The tensors in a block's input or output: a tensor, tuple items, collection items, or a record's public tensor
/// properties, nested up to four levels; nulls skipped.</summary>
internal static class BlockIO
{
    private static readonly ConcurrentDictionary<Type, PropertyInfo[]> _properties = new();

    /// <summary>The device of the first tensor in <paramref name="value"/>, or null when it holds none.</summary>
    public static Device? DeviceOf(object? value) => value is Tensor t ? t.Device : Tensors(value).FirstOrDefault()?.Device;

    public static IEnumerable<Tensor> Tensors(object? value, int depth = 0)
    {
        switch (value)
        {
            case null or string: yield break;
            case Tensor t: yield return t; yield break;
        }
        if (depth >= 4) yield break;
        IEnumerable items = value switch
        {
            ITuple tuple => Enumerable.Range(0, tuple.Length).Select(i => tuple[i]),
            IEnumerable e => e,
            _ => PropertiesOf(value.GetType()).Select(p => p.GetValue(value)),
        };
        foreach (var item in items)
            foreach (var t in Tensors(item, depth + 1)) yield return t;
    }

    private static PropertyInfo[] PropertiesOf(Type t) => _properties.GetOrAdd(t, static t =>
        t.GetProperties(BindingFlags.Public | BindingFlags.Instance)
            .Where(p => p.GetIndexParameters().Length == 0 && p.CanRead &&
                (p.PropertyType == typeof(Tensor) || typeof(ITuple).IsAssignableFrom(p.PropertyType) ||
                 typeof(IEnumerable<Tensor>).IsAssignableFrom(p.PropertyType)))
            .OrderBy(p => p.MetadataToken).ToArray());

    /// <summary>A type as a user wrote it: "Tensor", "(Tensor Query, Tensor Key)" is shown as "(Tensor, Tensor)".</summary>
    public static string Describe(Type t)
    {
        if (t == typeof(Tensor)) return "Tensor";
        var inner = Nullable.GetUnderlyingType(t);
        if (inner != null) return Describe(inner) + "?";
        if (typeof(ITuple).IsAssignableFrom(t) && t.IsGenericType)
            return $"({string.Join(", ", t.GetGenericArguments().Select(Describe))})";
        return t.Name;
    }
}
