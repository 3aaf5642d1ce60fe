using System.Reflection;
using DeepSharp.Data;
using DeepSharp.IO;
using DeepSharp.Layers;
using DeepSharp.Optim;

namespace DeepSharp.IO.Tests;

/// <summary>
/// Every public member of DeepSharp.Layers and DeepSharp.IO, found by reflection, given null for each parameter not
/// annotated nullable: it must throw <see cref="ArgumentNullException"/> naming that parameter (never a
/// NullReferenceException later, inside a model or a file). The runtime's members have their own, larger test.
/// </summary>
public class PublicApiNullTests
{
    private static readonly NullabilityInfoContext Nullability = new();
    private static readonly string Dir = Directory.CreateTempSubdirectory("deepsharp-null-probe-").FullName;

    private static readonly Type[] Types =
        [.. typeof(Block).Assembly.GetExportedTypes(), .. typeof(Checkpoint).Assembly.GetExportedTypes()];

    /// <summary>An ordinary value of each parameter type the public API takes (a fresh one per call).</summary>
    private static object? Value(Type t)
    {
        if (t == typeof(Tensor)) return Tensor.Ones(2, 3);
        if (t == typeof(string)) return Path.Combine(Dir, "file");
        if (t == typeof(int)) return 1;
        if (t == typeof(int?)) return 1;
        if (t == typeof(float)) return 0.5f;
        if (t == typeof(bool)) return false;
        if (t == typeof(ulong)) return 1UL;
        if (t == typeof(int[])) return new[] { 2, 3 };
        if (t == typeof(Device)) return Device.Cpu;
        if (t == typeof(Generator)) return new Generator(1);
        if (t == typeof(FanMode)) return FanMode.FanIn;
        if (t == typeof(Nonlinearity)) return Nonlinearity.Relu;
        if (typeof(Block).IsAssignableFrom(t)) return new Sequential(new Dense(3, 3));
        if (t == typeof(Parameter)) return new Parameter([2, 3], Init.Zeros);
        if (t == typeof(IInitializer)) return Init.Zeros;
        if (t == typeof(InitContext)) return new InitContext("w", [2, 3], new Generator(1));
        if (t == typeof(Stream)) return new MemoryStream();
        if (t == typeof(CheckpointValue)) return new TensorValue(Tensor.Ones(2));
        if (t == typeof(OrderedDictionary<string, CheckpointValue>)) return new OrderedDictionary<string, CheckpointValue>();
        if (t == typeof(IReadOnlyList<CheckpointValue>)) return new List<CheckpointValue>();
        if (t == typeof(IEnumerable<Tensor>)) return new[] { Tensor.Ones(2) };
        if (t == typeof(IEnumerable<Block>) || t == typeof(Block[])) return new Block[] { new Relu() };
        if (t == typeof(IEnumerable<Parameter>)) return new[] { new Parameter([1], Init.Zeros) };
        if (t == typeof(IEnumerable<KeyValuePair<string, Tensor>>) || t == typeof(IReadOnlyList<KeyValuePair<string, Tensor>>))
            return new List<KeyValuePair<string, Tensor>> { new("a", Tensor.Ones(2)) };
        if (t == typeof(IEnumerable<KeyValuePair<string, Block>>)) return new List<KeyValuePair<string, Block>> { new("a", new Relu()) };
        if (t == typeof(IEnumerable<KeyValuePair<string, Parameter>>))
            return new List<KeyValuePair<string, Parameter>> { new("a", new Parameter([1], Init.Zeros)) };
        if (t == typeof(IReadOnlyDictionary<string, Tensor>)) return new Dictionary<string, Tensor>();
        if (t == typeof(IReadOnlyDictionary<string, string>)) return new Dictionary<string, string>();
        if (t == typeof(IReadOnlyList<string>)) return new List<string>();
        if (t == typeof(Func<string, Parameter, bool>)) return (Func<string, Parameter, bool>)((_, _) => true);
        if (t == typeof(Action<Block>)) return (Action<Block>)(_ => { });
        if (t == typeof(Action<Tensor, InitContext>)) return (Action<Tensor, InitContext>)((_, _) => { });
        if (t == typeof(Exception)) return new InvalidOperationException("inner");
        if (t == typeof(DeepSharp.Optim.Optimizer)) return new DeepSharp.Optim.Sgd([Tensor.Ones(2).RequiresGradient()], lr: 0.1f);
        if (t == typeof(DeepSharp.Optim.LRScheduler))
            return new DeepSharp.Optim.StepLR(new DeepSharp.Optim.Sgd([Tensor.Ones(2).RequiresGradient()], lr: 0.1f), 1);
        if (t == typeof(long)) return 1L;
        if (t == typeof(float[])) return new[] { 0.5f };
        if (t == typeof(byte[])) return new byte[6];
        if (t == typeof(ITransform[])) return new ITransform[] { new RandomHorizontalFlip() };
        if (t == typeof(TensorDataset)) return new TensorDataset(Tensor.Ones(2, 3), Tensor.Ones(2));
        if (t == typeof(Dataset<Sample>)) return new CountingSamples(2);
        if (t == typeof(IReadOnlyList<int>) || t == typeof(IEnumerable<int>)) return Enumerable.Range(0, 40).ToArray();
        if (t == typeof(IEnumerable<long>)) return new long[] { 0 };
        if (t == typeof(IEnumerable<string>)) return new[] { "a", "b" };
        if (t == typeof(IEnumerable<IEnumerable<string>>)) return new[] { new[] { "a", "b" } };
        if (t == typeof(TokenKind)) return TokenKind.Char;
        if (t == typeof(SequenceSampling)) return SequenceSampling.Random;
        if (t == typeof(Func<TransformerEncoderLayer>)) return (Func<TransformerEncoderLayer>)(() => new TransformerEncoderLayer(4, 2, 8));
        if (t == typeof(Func<TransformerDecoderLayer>)) return (Func<TransformerDecoderLayer>)(() => new TransformerDecoderLayer(4, 2, 8));
        if (t == typeof(TransformerActivation)) return TransformerActivation.Relu;
        throw new InvalidOperationException($"The public API takes a {t}; add a value for it to {nameof(Value)} in this test.");
    }

    private static IEnumerable<MethodBase> Members()
    {
        const BindingFlags all = BindingFlags.Public | BindingFlags.Static | BindingFlags.Instance | BindingFlags.DeclaredOnly;
        foreach (var type in Types)
        {
            if (!type.IsAbstract && !typeof(Exception).IsAssignableFrom(type))
                foreach (var c in type.GetConstructors()) yield return c;
            foreach (var m in type.GetMethods(all))
                if (!m.Name.StartsWith('<') && !m.IsGenericMethodDefinition && !m.GetParameters().Any(p => p.ParameterType.IsByRef))
                    yield return m;
        }
    }

    private static object? Receiver(Type t) => t.IsAbstract && t.IsSealed ? null // static class
        : t == typeof(Parameter) ? new Parameter(Tensor.Ones(2, 3))
        : t == typeof(DictValue) ? new DictValue(new OrderedDictionary<string, CheckpointValue>())
        : t == typeof(ListValue) ? new ListValue([])
        : t == typeof(TensorValue) || t == typeof(CheckpointValue) ? new TensorValue(Tensor.Ones(2))
        : t == typeof(LoadReport) ? new LoadReport([], [])
        : t == typeof(BlockList) ? new BlockList(new Relu())
        : t == typeof(BlockDict) ? new BlockDict([new("a", new Relu())])
        : t == typeof(ParameterList) ? new ParameterList(new Parameter([1], Init.Zeros))
        : t == typeof(ParameterDict) ? new ParameterDict([new("a", new Parameter([1], Init.Zeros))])
        : typeof(Block).IsAssignableFrom(t) ? (t.IsAbstract ? new Sequential(new Dense(3, 3)) : CreateBlock(t))
        : typeof(Exception).IsAssignableFrom(t) ? null
        : t == typeof(Optimizer) ? new Sgd([Tensor.Ones(1).RequiresGradient()], 0.1f)
        : t == typeof(Vocab) ? new Vocab(["a", "b"])
        : t == typeof(SequenceBatches) ? new SequenceBatches(Enumerable.Range(0, 40).ToArray(), 2, 3)
        : null;

    private static object? CreateBlock(Type t)
    {
        var c = t.GetConstructors().OrderBy(c => c.GetParameters().Length).First();
        return c.Invoke(c.GetParameters().Select(p => p.HasDefaultValue ? p.DefaultValue : Value(p.ParameterType)).ToArray());
    }

    [Fact]
    public void NullForANonNullableParameterIsAnArgumentNullExceptionNamingIt()
    {
        var failures = new List<string>();
        int checkedParams = 0;
        foreach (var m in Members())
        {
            var ps = m.GetParameters();
            for (int i = 0; i < ps.Length; i++)
            {
                if (ps[i].ParameterType.IsValueType || Nullability.Create(ps[i]).WriteState == NullabilityState.Nullable) continue;
                if (m.Name is nameof(Equals) && ps[i].ParameterType == typeof(object)) continue; // null by contract
                if (m.Name is "op_Equality" or "op_Inequality") continue;                         // records compare to null
                object? receiver = m.IsStatic || m is ConstructorInfo ? null : Receiver(m.DeclaringType!);
                if (!m.IsStatic && m is not ConstructorInfo && receiver is null) continue; // exceptions' own members
                checkedParams++;
                var args = ps.Select(p => p.HasDefaultValue ? p.DefaultValue : Value(p.ParameterType)).ToArray();
                args[i] = null;
                var names = m.Name.StartsWith("set_", StringComparison.Ordinal) ? new[] { ps[i].Name, m.Name[4..] } : [ps[i].Name];
                Exception? thrown = null;
                try
                {
                    if (m is ConstructorInfo c) c.Invoke(args);
                    else m.Invoke(receiver, args);
                }
                catch (TargetInvocationException e) { thrown = e.InnerException; }
                if (thrown is not ArgumentNullException an || !names.Contains(an.ParamName))
                    failures.Add($"{m.DeclaringType!.Name}.{m}: null '{ps[i].Name}' gave " +
                        (thrown is null ? "no exception"
                            : $"{thrown.GetType().Name}({(thrown as ArgumentException)?.ParamName}): {thrown.Message}"));
            }
        }
        Assert.True(checkedParams > 60, $"only {checkedParams} parameters checked");
        Assert.True(failures.Count == 0, $"{failures.Count} failures:\n" + string.Join("\n", failures.Distinct()));
    }
}
