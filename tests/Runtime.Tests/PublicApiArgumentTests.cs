using System.Reflection;
using DeepSharp.Backends;
using DeepSharp.Backends.Ilgpu;
using DeepSharp.Optim;

namespace DeepSharp.Tests;

/// <summary>
/// The whole public API of DeepSharp.Runtime, found by reflection, called with hostile arguments: every constructor,
/// method, operator and property accessor gets null for each parameter not annotated nullable (it must throw
/// <see cref="ArgumentNullException"/> naming that parameter), and ints, floats, shapes, dtypes and tensors that break
/// arithmetic (0, -1, -5, the int extremes, NaN, ±inf, 1e20, shapes of 2^31 - 1, 0-D, empty, broadcast, disposed and
/// integer tensors). Whatever a call does, only the documented kinds of error may escape: the Argument… family,
/// InvalidOperation (disposed, device mismatch, a graph misuse), NotSupported (an unsupported dtype or rank),
/// <see cref="DeviceOutOfMemoryException"/>, and FormatException from <see cref="Device.Parse"/> — never DivideByZero,
/// Overflow, IndexOutOfRange, NullReference, InvalidCast or a bare OutOfMemory. A new public member is covered without
/// editing this test; a parameter type it has no values for fails it, naming the type.
/// </summary>
public class PublicApiArgumentTests
{
    /// <summary>
    /// The user-facing namespaces. DeepSharp.Ops exports only the op interfaces (no members to call with bad arguments);
    /// the kernels' plumbing (op structs, argument blocks, kernels, storage) is internal.
    /// </summary>
    private static readonly Type[] Types = typeof(Tensor).Assembly.GetExportedTypes()
        .Where(t => t.Namespace is "DeepSharp" or "DeepSharp.Optim")
        .Where(t => !typeof(Delegate).IsAssignableFrom(t)) // gradient rules are called back, not called
        .OrderBy(t => t.FullName, StringComparer.Ordinal).ToArray();

    private static readonly NullabilityInfoContext Nullability = new();

    /// <summary>Tensors of every kind the API meets; the first is the ordinary one.</summary>
    private static readonly (string Name, Func<Tensor> Make)[] Tensors =
    [
        ("float [2, 3]", () => Tensor.FromArray(new float[] { 1, 2, 3, 4, 5, 6 }, [2, 3])),
        ("float [3]", () => Tensor.FromArray(new float[] { 1, -2, 3 })),
        ("int64 [2] {0, 1}", () => Tensor.FromArray(new long[] { 0, 1 })),
        ("float [1, 1, 3, 3]", () => Tensor.Arange(9).Reshape(1, 1, 3, 3)),
        ("float 0-D", () => Tensor.Scalar(2f)),
        ("leaf requiring grad [2, 3]", () => Tensor.Ones(2, 3).RequiresGradient()),
        ("computed [2, 3]", () => Tensor.Ones(2, 3).RequiresGradient() * 2f),
        ("transposed view [3, 2]", () => Tensor.Arange(6).Reshape(2, 3).T),
        ("int32 [3] {2, 0, 1}", () => Tensor.FromArray(new[] { 2, 0, 1 })),
        ("float64 [2]", () => Tensor.FromArray(new[] { 1.0, 2.0 })),
        ("empty [0, 3]", () => Tensor.Zeros(0, 3)),
        (Huge, () => Tensor.Ones(1).Expand(int.MaxValue)),
        ("disposed [2, 3]", () => { var t = Tensor.Ones(2, 3); t.Dispose(); return t; }),
    ];

    /// <summary>A view of 2^31 - 1 elements: anything that copies it must fail cleanly. Two of them in one call are valid work
    /// (a dot product of 2^31 - 1 ones reads no memory but takes seconds), so calls pair it only with ordinary tensors.</summary>
    private const string Huge = "broadcast view [2147483647]";

    private static readonly int[] Ints = [1, 0, 2, -1, -5, int.MinValue, int.MaxValue, int.MaxValue - 1, 46341];
    private static readonly float[] Floats =
        [0.5f, 0f, -1f, -5f, float.NaN, float.PositiveInfinity, float.NegativeInfinity, 1e20f, float.MaxValue];
    private static readonly double[] Doubles = [1.5, 0, -1, -5, double.NaN, double.PositiveInfinity, double.NegativeInfinity, 1e20, 1e12,
        2147483648.0, -2147483649.0, 9.3e18];
    private static readonly int[][] Shapes = [[2, 3], [3, 2], [1, 0], [-1], [6], [], [0], [-5], [int.MaxValue], [int.MinValue],
        [int.MaxValue, int.MaxValue], [-1, -1], [2, -5], [46341, 46341], [1, 1, 1, 1, 1, 1, 1, 1, 1, 1]];

    /// <summary>(height, width) pairs: kernels, strides, paddings, dilations, output sizes.</summary>
    private static readonly (int, int)[] Pairs = [(1, 1), (2, 3), (0, 1), (1, -1), (int.MaxValue, 1), (1, int.MinValue), (46341, 46341)];

    /// <summary>Values for a parameter of type <paramref name="t"/>; the first is an ordinary one. Factories, so every
    /// call gets fresh tensors.</summary>
    private static Func<object?>[] Values(Type t)
    {
        Func<object?>[] Of<T>(IEnumerable<T> xs) => xs.Select(x => (Func<object?>)(() => x)).ToArray();
        if (t == typeof(Tensor)) return Tensors.Select(x => (Func<object?>)(() => x.Make())).ToArray();
        if (t == typeof(int)) return Of(Ints);
        if (t == typeof(int?)) return [.. Of(Ints), () => null];
        if (t == typeof((int, int))) return Of(Pairs);
        if (t == typeof((int, int)?)) return [.. Of(Pairs), () => null];
        if (t == typeof(float)) return Of(Floats);
        if (t == typeof(float?)) return [.. Of(Floats.Select(f => (float?)f)), () => null];
        if (t == typeof(double)) return Of(Doubles);
        if (t == typeof(bool)) return Of([false, true]);
        if (t == typeof(ushort)) return Of([(ushort)0, (ushort)0x7FC1, ushort.MaxValue]);
        if (t == typeof(BFloat16)) return Of([(BFloat16)1.5f, BFloat16.FromBits(0xFFC1), (BFloat16)float.PositiveInfinity]);
        if (t == typeof(long)) return Of([0L, -1L, long.MaxValue, long.MinValue]);
        if (t == typeof(ulong)) return Of([1UL, 0UL, ulong.MaxValue]);
        if (t == typeof(DeviceInfo)) return [() => Device.List()[0]];
        if (t == typeof(TestOps.Softplus)) return [() => new TestOps.Softplus()];
        if (t == typeof(TestOps.MulAddScaled))
            return [() => new TestOps.MulAddScaled { Bias = 2f }, () => new TestOps.MulAddScaled { Bias = float.NaN }];
        if (t == typeof(UnaryGradient)) return [() => (UnaryGradient)((x, _, g) => g * x), () => (object?)null];
        if (t == typeof(BinaryGradient)) return [() => (BinaryGradient)((a, b, _, g) => (g * b, g * a)), () => (object?)null];
        if (t == typeof(DeviceStats)) return [() => Device.Cpu.Stats];
        if (t == typeof(TimeSpan)) return Of([TimeSpan.Zero, TimeSpan.MinValue]);
        if (t == typeof(DType)) return Of([DType.Float32, DType.Float64, DType.Int32, DType.Int64, (DType)(-1), (DType)99]);
        if (t == typeof(Reduction)) return Of([Reduction.Mean, Reduction.Sum, Reduction.None, (Reduction)7]);
        if (t == typeof(Device)) return Of([Device.Cpu, Device.Cuda(999)]);
        if (t == typeof(Generator)) return [() => new Generator(1)]; // never the shared default: other tests draw from it
        if (t == typeof(string)) return Of(["cpu", "", "cuda:-1", "a:b:c", " CUDA:99999999999 ", "ilgpu-cpu:1"]);
        if (t == typeof(object)) return Of<object>([Device.Cpu, "x", 3]);
        if (t == typeof(int[])) return Shapes.Select(s => (Func<object?>)(() => (int[])s.Clone())).ToArray();
        if (t == typeof(Array)) return [() => new float[2, 3], () => new int[2], () => new float[0, 0], () => new double[1]];
        if (t == typeof(float[])) return [() => new float[] { 1, 2, 3 }, () => Array.Empty<float>()];
        if (t == typeof(long[])) return [() => new long[] { 1, 2 }, () => Array.Empty<long>()];
        if (t == typeof(byte[])) return [() => new byte[] { 1, 2 }];
        if (t == typeof(float[,])) return [() => new float[2, 3], () => new float[0, 2]];
        if (t == typeof(float[,,])) return [() => new float[1, 2, 3]];
        if (t == typeof(IReadOnlyList<Tensor>))
            return [() => new[] { Tensors[0].Make(), Tensors[0].Make() }, () => Array.Empty<Tensor>(),
                () => new[] { Tensors[0].Make(), null! },
                .. Tensors.Select(x => (Func<object?>)(() => new[] { Tensors[0].Make(), x.Make() }))];
        if (t == typeof(IEnumerable<Tensor>))
            return [() => new[] { Grads(Tensors[5].Make()) }, () => Array.Empty<Tensor>(), () => new Tensor[] { null! },
                .. Tensors.Select(x => (Func<object?>)(() => new[] { x.Make() }))];
        if (t == typeof(IEnumerable<Optim.IParameter>))
            return [() => new[] { new Slot(Grads(Tensors[5].Make())) }, () => Array.Empty<Optim.IParameter>(),
                () => new Optim.IParameter[] { null! }, () => new[] { new Slot(null) },
                .. Tensors.Select(x => (Func<object?>)(() => new[] { new Slot(x.Make()) }))];
        if (t == typeof(IEnumerable<ParamGroup>))
            return [() => new[] { new ParamGroup([new Slot(Grads(Tensors[5].Make()))]) }, () => Array.Empty<ParamGroup>(),
                () => new ParamGroup[] { null! }, () => new[] { new ParamGroup([new Slot(null)], lr: -1f, beta1: 2f) },
                () => new[] { new ParamGroup([new Slot(null)], momentum: float.NaN, eps: 0f, alpha: 5f, lrDecay: -1f) }];
        if (t == typeof(Optimizer)) return [() => Receivers(typeof(Sgd))[0](), () => new Adagrad([Grads(Tensors[5].Make())])];
        if (t == typeof(LRScheduler)) return [() => Receivers(typeof(StepLR))[0](), () => Receivers(typeof(ReduceLROnPlateau))[0]()];
        if (t == typeof(IEnumerable<LRScheduler>))
            return [() => new[] { (LRScheduler)Receivers(typeof(StepLR))[0]() }, () => Array.Empty<LRScheduler>(),
                () => new LRScheduler[] { null! }];
        if (t == typeof(IEnumerable<int>))
            return [() => new[] { 1, 2 }, () => Array.Empty<int>(), () => new[] { -1 }, () => new[] { 3, 1 }];
        if (t == typeof(AnnealStrategy)) return Of([AnnealStrategy.Cos, AnnealStrategy.Linear, (AnnealStrategy)9]);
        if (t == typeof(PlateauMode)) return Of([PlateauMode.Min, PlateauMode.Max, (PlateauMode)9]);
        if (t == typeof(ThresholdMode)) return Of([ThresholdMode.Rel, ThresholdMode.Abs, (ThresholdMode)9]);
        if (t == typeof(IReadOnlyDictionary<string, Tensor>))
            return [() => new Dictionary<string, Tensor>(), () => Receivers(typeof(Adam))[0]() is Adam a ? a.StateDict() : null,
                () => new Dictionary<string, Tensor>
                {
                    ["state.9.step"] = Tensor.Ones(2), ["last_epoch"] = Tensor.Zeros(0), ["x"] = null!,
                }];
        throw new InvalidOperationException($"The public API takes a {t}; add values for it to {nameof(Values)} in this test.");
    }

    /// <summary>A model parameter as an optimizer sees it; without a tensor it is a deferred one.</summary>
    private sealed class Slot(Tensor? t) : Optim.IParameter
    {
        public bool IsInitialized => t is not null;
        public Tensor Data => t ?? throw new InvalidOperationException("no data yet");
        public string Path => "slot";
    }

    private static Tensor Grads(Tensor p) { p.Grad = Tensor.Ones(p.Shape); return p; }

    /// <summary>Instances to call instance members on (made fresh for each call).</summary>
    private static Func<object>[] Receivers(Type t)
    {
        if (t == typeof(Tensor)) return Tensors.Select(x => (Func<object>)(() => x.Make())).ToArray();
        if (t == typeof(Layout))
            return [() => Layout.Contiguous([2, 3]), () => new Layout([3, 2], [1, 3], 0), () => Layout.Contiguous([]),
                () => Layout.Contiguous([0, 3])];
        if (t == typeof(Device)) return [() => Device.Cpu, () => Device.Cuda(999)];
        if (t == typeof(Generator)) return [() => new Generator(3)];
        if (t == typeof(TensorScope)) return [() => TensorScope.Begin()];
        if (t == typeof(Sgd)) return [() => new Sgd([Grads(Tensors[5].Make())], 0.1f, momentum: 0.9f)];
        if (t == typeof(Adam)) return [() => new Adam([Grads(Tensors[5].Make())])];
        if (t == typeof(AdamW)) return [() => new AdamW([Grads(Tensors[5].Make())], amsgrad: true)];
        if (t == typeof(RmsProp)) return [() => new RmsProp([Grads(Tensors[5].Make())], momentum: 0.5f, centered: true)];
        if (t == typeof(Adagrad)) return [() => new Adagrad([Grads(Tensors[5].Make())])];
        if (t == typeof(Optimizer))
            return [.. Receivers(typeof(Sgd)), .. Receivers(typeof(Adam)), .. Receivers(typeof(AdamW)), .. Receivers(typeof(RmsProp)),
                .. Receivers(typeof(Adagrad))];
        if (t == typeof(ExponentialMovingAverage))
            return [() => new ExponentialMovingAverage([new Slot(Tensors[5].Make()), new Slot(null)], 0.9f)];
        if (t == typeof(ParamGroup))
            return [() => ((Optimizer)Receivers(typeof(Sgd))[0]()).ParamGroups[0], () => new ParamGroup([new Slot(null)], lr: 0.1f)];
        Func<object> Sched(Func<Optimizer, object> make) => () => make((Optimizer)Receivers(typeof(Sgd))[0]());
        if (t == typeof(StepLR)) return [Sched(o => new StepLR(o, 2))];
        if (t == typeof(MultiStepLR)) return [Sched(o => new MultiStepLR(o, [1, 3]))];
        if (t == typeof(ExponentialLR)) return [Sched(o => new ExponentialLR(o, 0.9f))];
        if (t == typeof(CosineAnnealingLR)) return [Sched(o => new CosineAnnealingLR(o, 3))];
        if (t == typeof(LinearLR)) return [Sched(o => new LinearLR(o))];
        if (t == typeof(SequentialLR)) return [Sched(o => new SequentialLR(o, [new LinearLR(o), new StepLR(o, 2)], [2]))];
        if (t == typeof(OneCycleLR)) return [Sched(o => new OneCycleLR(o, 0.1f, 2))];
        if (t == typeof(ReduceLROnPlateau)) return [Sched(o => new ReduceLROnPlateau(o, patience: 0))];
        if (t == typeof(LRScheduler))
            return [.. new[] { typeof(StepLR), typeof(OneCycleLR), typeof(SequentialLR), typeof(ReduceLROnPlateau) }.SelectMany(Receivers)];
        if (t == typeof(DeviceInfo)) return [() => Device.List()[0]];
        if (t == typeof(GradScaler)) return [() => new GradScaler(), () => new GradScaler(enabled: false)];
        if (t == typeof(BFloat16)) return [() => (BFloat16)1.5f, () => BFloat16.FromBits(0x7FC1)];
        if (t == typeof(DeviceStats)) return [() => Device.Cpu.Stats];
        if (t == typeof(DeviceMismatchException)) return [() => new DeviceMismatchException("m")];
        if (t == typeof(DeviceOutOfMemoryException))
            return [() => Assert.Throws<DeviceOutOfMemoryException>(() => Tensor.Zeros([int.MaxValue]))];
        return []; // DeviceFaultException: only a failed GPU makes one (its members are getters)
    }

    /// <summary>Every public member to call, generic ones made concrete with a supported and an unsupported element type.</summary>
    private static IEnumerable<MethodBase> Members()
    {
        const BindingFlags all = BindingFlags.Public | BindingFlags.Static | BindingFlags.Instance | BindingFlags.DeclaredOnly;
        foreach (var type in Types)
        {
            // Exception constructors take a message, which .NET allows to be null; ours are internal anyway.
            if (!type.IsAbstract && !typeof(Exception).IsAssignableFrom(type))
                foreach (var c in type.GetConstructors()) yield return c;
            foreach (var m in type.GetMethods(all))
            {
                // Compiler-made record members (<Clone>$) and out-parameter deconstruction take nothing a caller chooses.
                if (m.Name.StartsWith('<') || m.GetParameters().Any(p => p.ParameterType.IsByRef)) continue;
                // Spans cannot be boxed for reflection; Layout.Numel and Format are tested directly (ArgumentCheckTests), and
                // Layout.Shape/Strides are read-only spans (LayoutTests).
                if (m.GetParameters().Any(p => p.ParameterType.IsByRefLike) || m.ReturnType.IsByRefLike) continue;
                if (!m.IsGenericMethodDefinition) { yield return m; continue; }
                // Element types; methods whose type argument must be an op struct (Tensor.Map) get the test's op structs.
                var made = Instances(m, typeof(float), typeof(long), typeof(byte));
                if (made.Count == 0) made = Instances(m, typeof(TestOps.Softplus), typeof(TestOps.MulAddScaled));
                foreach (var g in made) yield return g;
            }
        }
    }

    /// <summary>The generic method made concrete with each type argument that meets its constraints.</summary>
    private static List<MethodInfo> Instances(MethodInfo m, params Type[] args)
    {
        var made = new List<MethodInfo>();
        foreach (var arg in args)
            try { made.Add(m.MakeGenericMethod(Enumerable.Repeat(arg, m.GetGenericArguments().Length).ToArray())); }
            catch (ArgumentException) { } // a constraint the type argument does not meet
        return made;
    }

    private static bool Allowed(Exception e, MethodBase m) =>
        e is ArgumentException or InvalidOperationException or NotSupportedException or DeviceOutOfMemoryException
        || e is KeyNotFoundException && m.DeclaringType == typeof(ParamGroup) // documented: a hyper-parameter it does not have
        || e is FormatException && m.DeclaringType == typeof(Device) && m.Name == nameof(Device.Parse);

    /// <summary>Runs one call and returns what it threw (null when it returned); disposes scopes it opened.</summary>
    private static Exception? Call(MethodBase m, Func<object>? receiver, object?[] args)
    {
        object? target = null;
        try
        {
            target = m.IsStatic || m.IsConstructor ? null : receiver!();
            var result = m is ConstructorInfo c ? c.Invoke(args) : m.Invoke(target, args);
            if (result is IDisposable d and not Tensor) d.Dispose(); // NoGrad and TensorScope handles must not outlive the call
            return null;
        }
        catch (TargetInvocationException e) { return e.InnerException; }
        finally { if (target is TensorScope s) try { s.Dispose(); } catch (InvalidOperationException) { } }
    }

    /// <summary>The argument lists to try: tensors all alike and each tensor varied alone, then each other argument varied
    /// alone over its hostile values.</summary>
    private static IEnumerable<object?[]> ArgumentLists(MethodBase m)
    {
        var ps = m.GetParameters();
        var values = ps.Select(p => Values(p.ParameterType)).ToArray();
        object? Baseline(int i) => ps[i].HasDefaultValue && ps[i].ParameterType != typeof(Tensor) ? ps[i].DefaultValue : values[i][0]();
        var tensorParams = Enumerable.Range(0, ps.Length).Where(i => ps[i].ParameterType == typeof(Tensor)).ToArray();
        var tensorSets = new List<int[]> { tensorParams.Select(_ => 0).ToArray() };
        if (tensorParams.Length > 0)
        {
            for (int k = 1; k < Tensors.Length; k++) tensorSets.Add(tensorParams.Select(_ => k).ToArray());
            if (tensorParams.Length > 1)
                for (int j = 0; j < tensorParams.Length; j++)
                    for (int k = 1; k < Tensors.Length; k++) tensorSets.Add(tensorParams.Select((_, q) => q == j ? k : 0).ToArray());
        }
        foreach (var set in tensorSets)
        {
            object?[] Fresh()
            {
                var args = new object?[ps.Length];
                for (int i = 0; i < ps.Length; i++) args[i] = Baseline(i);
                for (int q = 0; q < tensorParams.Length; q++) args[tensorParams[q]] = Tensors[set[q]].Make();
                return args;
            }
            yield return Fresh();
            for (int i = 0; i < ps.Length; i++)
            {
                if (ps[i].ParameterType == typeof(Tensor)) continue;
                for (int v = 1; v < values[i].Length; v++)
                {
                    var args = Fresh();
                    args[i] = values[i][v]();
                    yield return args;
                }
            }
        }
    }

    private static string Describe(object? v) => v switch
    {
        null => "null",
        Tensor t => $"Tensor({t.DType}, {Layout.Format(t.Layout.Shape)})",
        int[] s => Layout.Format(s),
        string s => $"\"{s}\"",
        _ => Convert.ToString(v, System.Globalization.CultureInfo.InvariantCulture) ?? v.GetType().Name,
    };

    [Fact]
    public void HostileArgumentsOnlyRaiseDocumentedExceptions()
    {
        var failures = new List<string>();
        int calls = 0, members = 0;
        foreach (var m in Members())
        {
            members++;
            var receivers = m.IsStatic || m.IsConstructor ? [null] : Receivers(m.DeclaringType!).Select(r => (Func<object>?)r).ToArray();
            for (int r = 0; r < receivers.Length; r++)
                foreach (var args in ArgumentLists(m))
                {
                    bool hugeReceiver = m.DeclaringType == typeof(Tensor) && !m.IsStatic && Tensors[r].Name == Huge;
                    if (args.Count(a => a is Tensor { Count: int.MaxValue }) + (hugeReceiver ? 1 : 0) > 1) continue;
                    var receiver = receivers[r];
                    calls++;
                    var e = Call(m, receiver, args);
                    if (e is not null && !Allowed(e, m))
                        failures.Add($"{m.DeclaringType!.Name}.{m} ({string.Join(", ", args.Select(Describe))}) threw " +
                            $"{e.GetType().Name}: {e.Message}");
                }
        }
        Assert.True(members > 150, $"only {members} members found");
        Assert.True(failures.Count == 0, $"{failures.Count} of {calls} calls threw undocumented exceptions:\n" +
            string.Join("\n", failures.Distinct().Take(60)));
    }

    [Fact]
    public void NullForANonNullableParameterIsAnArgumentNullExceptionNamingIt()
    {
        var failures = new List<string>();
        int checkedParams = 0;
        foreach (var m in Members())
        {
            var ps = m.GetParameters();
            var receivers = m.IsStatic || m.IsConstructor ? [null] : Receivers(m.DeclaringType!).Select(r => (Func<object>?)r).ToArray();
            for (int i = 0; i < ps.Length; i++)
            {
                if (ps[i].ParameterType.IsValueType || Nullability.Create(ps[i]).WriteState == NullabilityState.Nullable) continue;
                if (m.Name == nameof(Equals) && ps[i].ParameterType == typeof(object)) continue; // object.Equals takes null by contract
                checkedParams++;
                bool named = false;
                var seen = new List<string>();
                // A setter's parameter is 'value'; its exception may name the property instead.
                var names = m.Name.StartsWith("set_", StringComparison.Ordinal) ? new[] { ps[i].Name, m.Name[4..] } : [ps[i].Name];
                foreach (var receiver in receivers)
                    foreach (var args in ArgumentLists(m).Take(Tensors.Length))
                    {
                        args[i] = null;
                        var e = Call(m, receiver, args);
                        if (e is ArgumentNullException an && names.Contains(an.ParamName)) named = true;
                        else seen.Add(e is null ? "returned" : $"{e.GetType().Name}({(e as ArgumentException)?.ParamName}): {e.Message}");
                        if (e is not null && !Allowed(e, m))
                            failures.Add($"{m.DeclaringType!.Name}.{m}: null '{ps[i].Name}' threw {e.GetType().Name}: {e.Message}");
                    }
                if (!named)
                    failures.Add($"{m.DeclaringType!.Name}.{m}: null '{ps[i].Name}' never gave ArgumentNullException naming it " +
                        $"({seen.FirstOrDefault()})");
            }
        }
        Assert.True(checkedParams > 50, $"only {checkedParams} parameters checked");
        Assert.True(failures.Count == 0, $"{failures.Count} failures:\n" + string.Join("\n", failures.Distinct().Take(60)));
    }
}
