using DeepSharp.Layers;
using DeepSharp.Tests;
using DeepSharp.Optim;

namespace DeepSharp.Layers.Tests;

/// <summary>State held in collections and tuples is seen by the registration check; registered containers hold it properly;
/// visit orders are PyTorch's.</summary>
public class RegistrationTests
{
    private static readonly Tensor X = Tensor.Rand([2, 3], generator: new Generator(3));

    /// <summary>A block that keeps unregistered state in one field of some collection shape.</summary>
    private sealed class Holder<T>(T held) : Block
    {
        private readonly T _held = held;
        protected override Tensor Forward(Tensor x) => x;
        public override string ToString() => $"{typeof(T).Name}: {_held}";
    }

    private static Block Hold<T>(T held) => new Holder<T>(held);

    public static TheoryData<string> UnregisteredShapes => new(Shapes.Keys);

    private static readonly Dictionary<string, Func<Block>> Shapes = new()
    {
        ["List<Block>"] = () => Hold(new List<Block> { new Dense(4) }),
        ["List<Dense>"] = () => Hold(new List<Dense> { new Dense(4), new Dense(2) }),
        ["Block[]"] = () => Hold(new Block[] { new Relu(), new Dense(4) }),
        ["Dictionary<string, Block>"] = () => Hold(new Dictionary<string, Block> { ["head"] = new Dense(4) }),
        ["Dictionary<int, Dense>"] = () => Hold(new Dictionary<int, Dense> { [0] = new Dense(4) }),
        ["IReadOnlyDictionary<string, Dense>"] = () =>
            Hold<IReadOnlyDictionary<string, Dense>>(new SortedList<string, Dense> { ["a"] = new Dense(4) }),
        ["(Dense, Dense)"] = () => Hold((new Dense(4), new Dense(2))),
        ["Tuple<Relu, Dense>"] = () => Hold(Tuple.Create(new Relu(), new Dense(2))),
        ["List<Parameter>"] = () => Hold(new List<Parameter> { new([2], Init.Zeros) }),
        ["Parameter[]"] = () => Hold(new[] { new Parameter([2], Init.Zeros) }),
        ["Dictionary<string, Parameter>"] = () => Hold(new Dictionary<string, Parameter> { ["p"] = new([2], Init.Zeros) }),
        ["List<Tensor>"] = () => Hold(new List<Tensor> { Tensor.Ones(2) }),
        ["Tensor[]"] = () => Hold(new[] { Tensor.Ones(2) }),
        ["HashSet<Block>"] = () => Hold(new HashSet<Block> { new Dense(3) }),
        ["List<List<Block>>"] = () => Hold(new List<List<Block>> { new() { new Dense(3) } }),
        ["List<(string, Dense)>"] = () => Hold(new List<(string, Dense)> { ("a", new Dense(3)) }),
        ["object[]"] = () => Hold(new object[] { "text", new Dense(3) }),
        ["KeyValuePair<string, Dense>"] = () => Hold(new KeyValuePair<string, Dense>("head", new Dense(3))),
        ["object holding a Dense"] = () => Hold<object>(new Dense(3)),
        ["object holding a list of blocks"] = () => Hold<object>(new List<Block> { new Dense(3) }),
    };

    [Theory, MemberData(nameof(UnregisteredShapes))]
    public void UnregisteredStateInACollectionIsReportedNamingTheField(string shape)
    {
        var block = Shapes[shape]();
        var e = Assert.Throws<UnregisteredStateException>(() => new Sequential(block).Call(X));
        Assert.Contains("_held", e.Message);
        Assert.Contains("BlockList", e.Message); // it names the registered containers
        Assert.Throws<UnregisteredStateException>(() => block.StateDict());
        Assert.Throws<UnregisteredStateException>(() => block.NamedParameters().ToList());
    }

    private sealed class Harmless : Block
    {
        private readonly object _lock = new();
        private readonly object _numbers = Enumerable.Range(0, 100_000).Select(i => (float)i).ToList();
        private readonly (int, string) _config = (3, "x");
        private readonly KeyValuePair<string, int> _setting = new("k", 1);
        protected override Tensor Forward(Tensor x) { lock (_lock) return x * ((List<float>)_numbers)[_config.Item1 + _setting.Value]; }
    }

    [Fact]
    public void FieldsThatCannotHoldStateAreLeftAlone()
    {
        var net = new Sequential(new Harmless());
        Assert.Equal(4f, net.Call(Tensor.Ones(2)).ToArray<float>()[0]);
        long before = GC.GetAllocatedBytesForCurrentThread();
        for (int i = 0; i < 10; i++) net.Call(Tensor.Ones(2));
        // The list of 100,000 numbers behind an object field is not enumerated (nor its numbers boxed) on each call.
        Assert.True(GC.GetAllocatedBytesForCurrentThread() - before < 200_000, "the check enumerated a list of numbers");
    }

    [Fact]
    public void RegisteredItemsInCollectionsAreFine()
    {
        var net = new ListOfRegistered();
        Assert.Equal(new[] { 2, 3 }, net.Call(X).Shape);
        Assert.Equal(new[] { "head0.weight", "head0.bias", "head1.weight", "head1.bias" }, net.NamedParameters().Select(p => p.Path));
        // A block added to the list after the first call is caught at the next call.
        net.Heads.Add(new Dense(3));
        Assert.Contains("Heads[2]", Assert.Throws<UnregisteredStateException>(() => net.Call(X)).Message);
    }

    private sealed class ListOfRegistered : Block
    {
        public readonly List<Dense> Heads = new();
        public ListOfRegistered()
        {
            for (int i = 0; i < 2; i++) Heads.Add(Register($"head{i}", new Dense(3)));
        }
        protected override Tensor Forward(Tensor x) => Heads.Aggregate(x, (h, d) => d.Call(h));
    }

    /// <summary>The case: an unregistered Dense (with a bias) called from Forward.</summary>
    private sealed class HiddenInList : Block
    {
        private readonly List<Dense> _layers = [new Dense(4)];
        protected override Tensor Forward(Tensor x) => _layers[0].Call(x);
    }

    [Fact]
    public void TheDeferredShapeMessageAppearsOnlyForDeferredDims()
    {
        var e = Assert.Throws<UnregisteredStateException>(() => new HiddenInList().Call(X));
        Assert.DoesNotContain("(-1)", e.Message);
        // A known-shape parameter without data: the message says why, without talk of deferred dims.
        var known = new Parameter([4], Init.Zeros);
        var m = Assert.Throws<UninitializedParameterException>(() => known.Data).Message;
        Assert.DoesNotContain("-1", m);
        Assert.DoesNotContain("first batch decides", m);
        Assert.Contains("Register", m);
        var deferred = new Parameter([4, -1], Init.Zeros);
        Assert.Contains("first batch decides", Assert.Throws<UninitializedParameterException>(() => deferred.Data).Message);
        // A block made on the fly inside Forward still gets its known-shape parameters (as in PyTorch).
        Assert.Equal(new[] { 2, 5 }, new OnTheFly().Call(X).Shape);
    }

    private sealed class OnTheFly : Block
    {
        protected override Tensor Forward(Tensor x) => new Dense(5).Call(x);
    }

    [Theory, MemberData(nameof(TestDevices.All), MemberType = typeof(TestDevices))]
    public void RegisteredContainersHoldTrainSaveAndMoveTheirItems(string device)
    {
        var d = TestDevices.Use(device);
        var net = new Towers();
        net.To(d);
        var opt = new Sgd(net.Parameters(), lr: 0.1f); // before any data: deferred parameters join once they exist
        var x = X.To(d);
        var before = net.Call(x).Sum().Item();
        Assert.Equal(["towers.0.weight", "towers.0.bias", "towers.1.weight", "towers.1.bias", "heads.a.weight", "heads.a.bias",
                      "extra.0", "extra.1", "named.scale"], net.NamedParameters().Select(p => p.Path));
        Assert.All(net.Parameters(), p => Assert.Equal(d, p.Data.Device));
        for (int i = 0; i < 3; i++)
        {
            opt.ZeroGrad();
            net.Call(x).Sum().Backward();
            opt.Step();
        }
        Assert.Empty(net.ParametersWithoutGrad());
        Assert.True(net.Call(x).Sum().Item() < before);
        Assert.Equal(9, opt.Parameters.Count);
        Assert.Throws<NotSupportedException>(() => new BlockList(new Relu()).Call(x));
        Assert.Contains("(towers): BlockList(\n    (0): Dense(3 → 4)", net.ToString());
    }

    private sealed class Towers : Block
    {
        private readonly BlockList _towers = new(new Dense(4), new Dense(4));
        private readonly BlockDict _heads = new();
        private readonly ParameterList _extra = new(new Parameter([1], Init.Ones), new Parameter([1], Init.Zeros));
        private readonly ParameterDict _named = new();
        public Towers()
        {
            Register("towers", _towers);
            Register("heads", _heads.Add("a", new Dense(2)));
            Register("extra", _extra);
            Register("named", _named.Add("scale", new Parameter([2], Init.Ones)));
        }
        protected override Tensor Forward(Tensor x)
        {
            var h = _towers.Aggregate(Tensor.Zeros([x.Size(0), 4], device: x.Device), (acc, t) => acc + t.Call(x)).Relu();
            return _heads["a"].Call(h) * _named["scale"] * _extra[0] + _extra[1];
        }
    }

    [Fact]
    public void ContainersBehaveLikeTheirPyTorchNamesakes()
    {
        var list = new BlockList().Add(new Relu()).Add(new Dense(2));
        Assert.Equal(2, list.Count);
        Assert.IsType<Dense>(list[1]);
        Assert.IsType<Dense>(list[-1]);
        Assert.Throws<ArgumentOutOfRangeException>(() => list[2]);
        var dict = new BlockDict([new("x", new Relu())]);
        Assert.True(dict.ContainsKey("x"));
        Assert.False(dict.TryGetValue("y", out _));
        Assert.Equal(["x"], dict.Keys);
        Assert.Throws<ArgumentException>(() => dict.Add("x", new Relu()));
        Assert.Throws<ArgumentException>(() => dict.Add("a.b", new Relu()));
        var plist = new ParameterList(new Parameter([1], Init.Zeros));
        Assert.Equal([1], plist[0].Shape);
        Assert.Throws<ArgumentOutOfRangeException>(() => plist[1]);
        var pdict = new ParameterDict().Add("w", new Parameter([3], Init.Zeros));
        Assert.Equal([3], pdict["w"].Shape);
        Assert.Contains("w", Assert.Throws<KeyNotFoundException>(() => pdict["v"]).Message);
        // Sequential.Add(name, block): the book's add_module(f'block {i}', ...).
        var seq = new Sequential();
        for (int i = 0; i < 2; i++) seq.Add($"block {i}", new Dense(2));
        Assert.Equal(["block 0.weight", "block 0.bias", "block 1.weight", "block 1.bias"], seq.Materialize([1, 2]).Select(p => p.Path));
        Assert.Same(seq["block 1"], seq[1]);
        Assert.Throws<ArgumentOutOfRangeException>(() => seq[2]);
    }

    [Fact]
    public void NamesThatCannotBeSavedAreRefusedAtRegistration()
    {
        foreach (var name in new[] { "a\uD800", "\uDC00b", "x\uDC00\uD800" })
        {
            var e = Assert.Throws<ArgumentException>(() => new Sequential().Add(name, new Relu()));
            Assert.Contains("surrogate", e.Message);
        }
        new Sequential().Add("emoji \uD83D\uDE00", new Relu()); // a well-formed pair is fine
    }

    private sealed class Leaf : Block
    {
        public readonly string Name;
        public Leaf(string name, List<string> log)
        {
            Name = name;
            Register("w", new Parameter([1], Init.Custom("log", (t, c) => log.Add(Name))));
        }
        protected override Tensor Forward(Tensor x) => x;
    }

    private sealed class Node : Block
    {
        public readonly string Name;
        public Node(string name, List<string> log, params Block[] children)
        {
            Name = name;
            Register("own", new Parameter([1], Init.Custom("log", (t, c) => log.Add(Name))));
            for (int i = 0; i < children.Length; i++) Register($"c{i}", children[i]);
        }
        protected override Tensor Forward(Tensor x) => x;
    }

    [Fact]
    public void ApplyAndInitializeVisitInPyTorchsPostOrder()
    {
        var log = new List<string>();
        var shared = new Leaf("shared", log);
        var root = new Node("root", log,
            new Node("a", log, new Leaf("a0", log), new Leaf("a1", log)),
            shared,
            new Node("b", log, new Leaf("b0", log), shared));
        var visits = new List<string>();
        root.Apply(b => visits.Add(b is Leaf l ? l.Name : ((Node)b).Name));
        // torch: for child in children(): child.apply(fn); fn(self) — children() removes repeats within one parent only,
        // so the block shared by root and b is visited under each.
        Assert.Equal(["a0", "a1", "a", "shared", "b0", "shared", "b", "root"], visits);
        var twice = new List<string>();
        var leaf = new Leaf("x", log);
        new Sequential(leaf, leaf, new Sequential(leaf)).Apply(b => twice.Add(b is Leaf l ? l.Name : "seq"));
        Assert.Equal(["x", "x", "seq", "seq"], twice); // once in the outer Sequential, once more under the inner one
        // Initialize visits each parameter once, in that order.
        root.Initialize();
        Assert.Equal(["a0", "a1", "a", "shared", "b0", "b", "root"], log);
        log.Clear();
        root.Initialize(Init.Custom("again", (t, c) => log.Add(c.Path)));
        Assert.Equal(["c0.c0.w", "c0.c1.w", "c0.own", "c1.w", "c2.c0.w", "c2.own", "own"], log);
    }
}
