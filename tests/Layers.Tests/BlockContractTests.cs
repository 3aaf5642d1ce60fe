using DeepSharp.Layers;
using DeepSharp.Tests;

namespace DeepSharp.Layers.Tests;

/// <summary>The Block API's contracts beyond the chapter's examples: which argument an error names, what registration
/// does with names and tensors, lookups that miss, visit orders with shared blocks, dry runs and devices.</summary>
public class BlockContractTests
{
    private static readonly Tensor X = Tensor.Rand([2, 3], generator: new Generator(11));

    /// <summary>Exposes the protected registration API.</summary>
    private sealed class Registrar : Block
    {
        public Block AddBlock(string name, Block block) => Register(name, block);
        public Parameter AddParameter(string name, Parameter p) => Register(name, p);
        public Tensor AddBuffer(string name, Tensor t) => RegisterBuffer(name, t);
        public void Give(Parameter p, int[] shape) => Materialize(p, shape, Device.Cpu);
        protected override Tensor Forward(Tensor x) => x;
    }

    private static void NamesArgument(string name, Action call) =>
        Assert.Equal(name, Assert.Throws<ArgumentNullException>(call).ParamName);

    [Fact]
    public void NullArgumentsAreNamed()
    {
        var r = new Registrar();
        NamesArgument("x", () => new Sequential(new Relu()).Call(null!));
        NamesArgument("block", () => r.AddBlock("a", null!));
        NamesArgument("parameter", () => r.AddParameter("a", null!));
        NamesArgument("tensor", () => r.AddBuffer("a", null!));
        NamesArgument("state", () => r.LoadStateDict(null!));
        NamesArgument("fn", () => r.Apply(null!));
        NamesArgument("parameter", () => Init.Zeros.ApplyTo(null!));
        NamesArgument("init", () => ((IInitializer)null!).ApplyTo(new Parameter([1], Init.Zeros)));
        NamesArgument("shape", () => new Parameter(null!, Init.Zeros));
        NamesArgument("initializer", () => new Parameter([1], null!));
        NamesArgument("data", () => new Parameter((Tensor)null!));
        Assert.Throws<ArgumentNullException>(() => new Sequential(null!));
        Assert.Throws<ArgumentNullException>(() => new BlockList((IEnumerable<Block>)null!));
        Assert.Throws<ArgumentNullException>(() => new ParameterList((IEnumerable<Parameter>)null!));
        Assert.Empty(r.NamedChildren());
        Assert.Empty(r.NamedParameters());
    }

    [Fact]
    public void ParametersAndBuffersAreNamedByTheSameRules()
    {
        var r = new Registrar();
        r.AddBlock("a", new Relu());
        foreach (var bad in new[] { "", "x.y", "a" })
        {
            Assert.Equal("name", Assert.Throws<ArgumentException>(() => r.AddParameter(bad, new Parameter([1], Init.Zeros))).ParamName);
            Assert.Equal("name", Assert.Throws<ArgumentException>(() => r.AddBuffer(bad, Tensor.Ones(1))).ParamName);
        }
        r.AddParameter("p", new Parameter([1], Init.Zeros));
        Assert.Throws<ArgumentException>(() => r.AddBuffer("p", Tensor.Ones(1)));
        Assert.Equal(["p"], r.NamedParameters().Select(p => p.Path));
        Assert.Empty(r.NamedBuffers());
    }

    [Fact]
    public void ABufferIsTheTensorGivenUnlessItTakesPartInAGraph()
    {
        var r = new Registrar();
        var plain = Tensor.Ones(3);
        Assert.Same(plain, r.AddBuffer("plain", plain));
        var trainable = Tensor.Ones(3).RequiresGradient();
        var fromTrainable = r.AddBuffer("trainable", trainable);
        Assert.NotSame(trainable, fromTrainable);
        Assert.False(fromTrainable.RequiresGrad);
        var computed = trainable * 2f;
        var fromComputed = r.AddBuffer("computed", computed);
        Assert.True(fromComputed.IsLeaf);
        Assert.False(fromComputed.RequiresGrad);
        Assert.Equal(new float[] { 2, 2, 2 }, fromComputed.ToArray<float>());
        Assert.Equal(["plain", "trainable", "computed"], r.NamedBuffers().Select(b => b.Path));
    }

    [Fact]
    public void LookupsThatMissThrowKeyNotFound()
    {
        var net = new Sequential(new Dense(2, 3), new Relu());
        Assert.Throws<KeyNotFoundException>(() => net["nope"]);
        Assert.Throws<KeyNotFoundException>(() => net.GetParameter("9.weight"));
        Assert.Throws<KeyNotFoundException>(() => net.GetParameter("0.nope"));
        Assert.Throws<KeyNotFoundException>(() => net[0].GetParameter(".weight"));
        Assert.Throws<ArgumentOutOfRangeException>(() => net[-3]);
        Assert.IsType<Relu>(net[-1]);
        Assert.Same(net[0], net["0"]);
    }

    [Fact]
    public void ASharedBlockIsVisitedOnceAndItsParameterKeepsItsFirstPath()
    {
        var shared = new Dense(3, 3);
        var net = new Sequential(shared, new Relu(), shared);
        Assert.Equal(["", "0", "1"], net.NamedBlocks().Select(b => b.Path));
        Assert.Equal(["0.weight", "0.bias"], net.NamedParameters().Select(p => p.Path));
        Assert.Same(shared.Weight, net.GetParameter("2.weight"));
        Assert.Equal("0.weight", shared.Weight.Path); // the path it is listed and saved under
        Assert.Equal([("2.weight", "0.weight"), ("2.bias", "0.bias")], net.ParameterAliases());

        // A block inside its own child is refused: a model is a tree (every walk of a cycle would be endless).
        var a = new Sequential();
        var b = new Sequential();
        a.Add(b);
        Assert.Throws<ArgumentException>(() => b.Add(a));
        Assert.Throws<ArgumentException>(() => a.Add(a));
        var visits = new List<Block>();
        a.Apply(visits.Add);
        Assert.Equal([b, a], visits);
    }

    /// <summary>Records the shapes its Forward sees.</summary>
    private sealed class Probe : Block
    {
        public readonly List<int[]> Seen = [];
        protected override Tensor Forward(Tensor x)
        {
            Seen.Add(x.Shape);
            return x;
        }
    }

    [Fact]
    public void MaterializeIsADryRunOnAnEmptyBatch()
    {
        var probe = new Probe();
        var net = new Sequential(probe, new Dense(4));
        var shapes = net.Materialize([5, 3]);
        Assert.Equal(["1.weight", "1.bias"], shapes.Select(s => s.Path));
        Assert.Equal([4, 3], shapes[0].Shape);
        Assert.Equal([0, 3], probe.Seen.Single());
        var scalar = new Probe();
        scalar.Materialize([]);
        Assert.Equal([], scalar.Seen.Single());
    }

    [Theory, MemberData(nameof(TestDevices.All), MemberType = typeof(TestDevices))]
    public void DeferredParametersAreCreatedOnTheDeviceAskedOrSetByInitialize(string device)
    {
        var d = TestDevices.Use(device);
        var dry = new Sequential(new Dense(4), new Dense(2));
        dry.Materialize([1, 3], d);
        Assert.All(dry.Parameters(), p => Assert.Equal(d, p.Data.Device));
        var later = new Sequential(new Dense(4), new Dense(2));
        later.Initialize(device: d); // nothing to create yet: it records the device
        later.Materialize([1, 3]);
        Assert.All(later.Parameters(), p => Assert.Equal(d, p.Data.Device));
        var summarized = new Sequential(new Dense(4));
        var table = summarized.Summary([1, 3], d);
        Assert.All(summarized.Parameters(), p => Assert.Equal(d, p.Data.Device));
        Assert.Contains(d.ToString(), table);
    }

    private sealed class BufferAndForgotten : Block
    {
        private readonly Tensor _scale;
        private readonly Dense _forgotten = new(2, 3);
        public BufferAndForgotten() => _scale = RegisterBuffer("scale", Tensor.Ones(3));
        public Tensor Scale => _scale;
        protected override Tensor Forward(Tensor x) => _forgotten is null ? x : x * _scale;
    }

    [Theory, MemberData(nameof(TestDevices.Accelerators), MemberType = typeof(TestDevices))]
    public void MovingAModelWithForgottenStateMovesNothing(string device)
    {
        var d = TestDevices.Use(device);
        var net = new BufferAndForgotten();
        Assert.Throws<UnregisteredStateException>(() => net.To(d));
        Assert.Equal(Device.Cpu, net.Scale.Device);
        Assert.Throws<UnregisteredStateException>(() => net.Initialize());
    }

    [Fact]
    public void ApplyToFillsNowOrWhenTheShapeIsKnown()
    {
        var now = new Parameter([2], Init.Zeros);
        new Registrar().AddParameter("p", now);
        now.Data = Tensor.Zeros(2);
        Init.Constant(3f).ApplyTo(now);
        Assert.Equal(new float[] { 3, 3 }, now.Data.ToArray<float>());
        var later = new Parameter([2, -1], Init.Zeros);
        var init = Init.Constant(5f);
        init.ApplyTo(later);
        Assert.Same(init, later.Initializer);
        Assert.False(later.IsInitialized);
        var r = new Registrar();
        r.AddParameter("p", later);
        r.Give(later, [2, 3]);
        Assert.All(later.Data.ToArray<float>(), v => Assert.Equal(5f, v));
    }

    [Fact]
    public void AParameterMadeFromATensorHoldsIt()
    {
        var t = Tensor.Ones(2, 3);
        var p = new Parameter(t);
        Assert.Same(t, p.Data);
        Assert.True(p.IsInitialized);
        Assert.False(p.IsDeferred);
        Assert.True(t.RequiresGrad);
        Assert.Equal([2, 3], p.Shape);
        var frozen = new Parameter(Tensor.Ones(2), requiresGrad: false);
        Assert.False(frozen.RequiresGrad);
        Assert.False(frozen.Data.RequiresGrad);
        var source = Tensor.Ones(2).RequiresGradient();
        var fromGraph = new Parameter(source * 3f);
        Assert.True(fromGraph.Data.IsLeaf);
        Assert.Equal(new float[] { 3, 3 }, fromGraph.Data.ToArray<float>());
        Assert.Equal(DType.Float64, new Parameter(Tensor.Ones([2], DType.Float64)).DType); // float64 models (Block.To)
        Assert.Equal("data", Assert.Throws<ArgumentException>(() => new Parameter(Tensor.Ones([2], DType.Int64))).ParamName);
        Assert.Contains("cpu", p.ToString());
        Assert.DoesNotContain("cpu", new Parameter([2], Init.Zeros).ToString());
    }

    [Fact]
    public void AParameterShapeIsCheckedWhenMadeAndWhenMaterialized()
    {
        Assert.Equal("shape", Assert.Throws<ArgumentException>(() => new Parameter([2, -2], Init.Zeros)).ParamName);
        Assert.Equal("shape", Assert.Throws<ArgumentException>(() => new Parameter([-2], Init.Zeros)).ParamName);
        Assert.Throws<ArgumentException>(() => new Parameter([65536, 65536, -1], Init.Zeros)); // the known dims overflow
        var r = new Registrar();
        var p = r.AddParameter("p", new Parameter([3, -1], Init.Zeros));
        Assert.Throws<InvalidOperationException>(() => r.Give(p, [4, 5]));
        Assert.Throws<InvalidOperationException>(() => r.Give(p, [3]));
        Assert.False(p.IsInitialized);
        r.Give(p, [3, 5]);
        Assert.Equal([3, 5], p.Shape);
    }

    [Fact]
    public void ContainersIndexAndFindLikeTheirPyTorchNamesakes()
    {
        var items = new[] { new Parameter([1], Init.Zeros), new Parameter([2], Init.Zeros), new Parameter([3], Init.Zeros) };
        var list = new ParameterList(items);
        Assert.Same(items[2], list[-1]);
        Assert.Same(items[0], list[-3]);
        Assert.Same(items[2], list[2]);
        Assert.Throws<ArgumentOutOfRangeException>(() => list[3]);
        Assert.Throws<ArgumentOutOfRangeException>(() => list[-4]);
        var dict = new ParameterDict([new("a", items[0]), new("b", items[1])]);
        Assert.Equal(2, dict.Count);
        Assert.True(dict.ContainsKey("b"));
        Assert.False(dict.ContainsKey("c"));
        Assert.Equal(["a", "b"], dict.Keys);
        var blocks = new BlockDict([new("x", new Relu()), new("y", new Tanh())]);
        Assert.True(blocks.ContainsKey("y"));
        Assert.False(blocks.ContainsKey("z"));
    }
}
