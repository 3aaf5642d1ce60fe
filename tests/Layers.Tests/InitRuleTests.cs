using DeepSharp.Layers;
using DeepSharp.Tests;

namespace DeepSharp.Layers.Tests;

/// <summary>Tests that restart <see cref="Init.ManualSeed"/> and compare models built afterwards: no other test may construct
/// parameters meanwhile (the stream is process-wide, as PyTorch's global generator), so they run alone.</summary>
[CollectionDefinition(nameof(InitStream), DisableParallelization = true)]
public sealed class InitStream;

/// <summary>The initialization rule (Init's docs): one random stream per parameter, taken at construction.</summary>
[Collection(nameof(InitStream))]
public class InitRuleTests
{
    private sealed class Mlp : Block
    {
        private readonly Sequential _body;
        public Mlp(int? inFeatures) =>
            _body = Register("body", new Sequential(new Dense(16, inFeatures), new Relu(), new Dense(4, inFeatures is null ? null : 16)));
        public Block First => _body[0];
        protected override Tensor Forward(Tensor x) => _body.Call(x);
    }

    private static Dictionary<string, float[]> Weights(Block net) =>
        net.NamedParameters().ToDictionary(p => p.Path, p => p.Parameter.Data.ToArray<float>());

    private static void Same(Dictionary<string, float[]> a, Dictionary<string, float[]> b)
    {
        Assert.Equal(a.Keys, b.Keys);
        foreach (var k in a.Keys) Assert.Equal(a[k], b[k]);
    }

    private static Dictionary<string, float[]> Built(ulong seed, Func<Block> make, Action<Block> prepare)
    {
        Init.ManualSeed(seed);
        var net = make();
        prepare(net);
        return Weights(net);
    }

    private static readonly Tensor X = Tensor.Rand([3, 8], generator: new Generator(5));

    [Fact]
    public void TheSameProgramWithTheSameSeedGivesTheSameWeights()
    {
        var a = Built(7, () => new Mlp(null), n => n.Call(X));
        var b = Built(7, () => new Mlp(null), n => n.Call(X));
        Same(a, b);
        var c = Built(8, () => new Mlp(null), n => n.Call(X));
        Assert.NotEqual(a["body.0.weight"], c["body.0.weight"]);
    }

    [Fact]
    public void LazyAndEagerModelsGetIdenticalWeights()
    {
        var eager = Built(11, () => new Mlp(8), n => n.Initialize());
        var lazy = Built(11, () => new Mlp(null), n => n.Call(X));
        Same(eager, lazy);
        // Conv2d too, and a re-initialization draws the same next numbers in both.
        var eagerConv = Built(12, () => new Sequential(new Conv2d(4, 3, inChannels: 2), new Dense(5, 4 * 3 * 3)), n =>
        {
            n.Initialize();
            n.Initialize(Init.Normal());
        });
        var lazyConv = Built(12, () => new Sequential(new Conv2d(4, 3), new Flatten(), new Dense(5)), n =>
        {
            n.Call(Tensor.Rand([1, 2, 5, 5]));
            n.Initialize(Init.Normal());
        });
        Assert.Equal(eagerConv["0.weight"], lazyConv["0.weight"]);
        Assert.Equal(eagerConv["1.weight"], lazyConv["2.weight"]);
    }

    [Fact]
    public void ReinitializingDoesNotBreakTheRule()
    {
        // Initializing an eager model twice before data (materialize, then refill) against a lazy one that only records.
        var eager = Built(13, () => new Mlp(8), n => { n.Initialize(Init.Normal()); n.Initialize(Init.Normal()); n.Call(X); });
        var lazy = Built(13, () => new Mlp(null), n => { n.Initialize(Init.Normal()); n.Initialize(Init.Normal()); n.Call(X); });
        Same(eager, lazy);
        // Each re-initialization draws new numbers (as PyTorch's apply(init) does), deterministically from the seed.
        Init.ManualSeed(14);
        var net = new Mlp(8);
        net.Initialize(Init.Uniform(-1f, 1f));
        var first = Weights(net);
        net.Initialize(Init.Uniform(-1f, 1f));
        var second = Weights(net);
        Assert.NotEqual(first["body.0.weight"], second["body.0.weight"]);
        // Not a rescaled copy either: a different uniform rule in another round is uncorrelated with the last draw.
        net.Initialize(Init.XavierUniform());
        var third = Weights(net)["body.0.weight"];
        double Corr(float[] a, float[] b)
        {
            double ma = a.Average(), mb = b.Average();
            double cov = a.Zip(b, (x, y) => (x - ma) * (y - mb)).Sum();
            return cov / Math.Sqrt(a.Sum(x => (x - ma) * (x - ma)) * b.Sum(y => (y - mb) * (y - mb)));
        }
        Assert.InRange(Corr(second["body.0.weight"], third), -0.2, 0.2);
        Init.ManualSeed(14);
        var again = new Mlp(8);
        again.Initialize(Init.Uniform(-1f, 1f));
        again.Initialize(Init.Uniform(-1f, 1f));
        Same(second, Weights(again));
    }

    [Fact]
    public void ManualSeedAlsoRestartsTheDefaultGenerator()
    {
        Init.ManualSeed(5);
        var a = Tensor.Rand([4]).ToArray<float>();
        var dropA = new Dropout(0.5f).Call(Tensor.Ones(16)).ToArray<float>();
        Init.ManualSeed(5);
        Assert.Equal(a, Tensor.Rand([4]).ToArray<float>());
        Assert.Equal(dropA, new Dropout(0.5f).Call(Tensor.Ones(16)).ToArray<float>());
    }

    [Fact]
    public void EveryInitializerLeavesAZeroElementParameterAlone()
    {
        foreach (var init in new[] { Init.XavierUniform(), Init.XavierNormal(), Init.KaimingUniform(), Init.KaimingNormal(),
                     Init.Normal(), Init.Uniform(), Init.Constant(2f) })
        {
            var net = new ParameterList(new Parameter([3, 0], Init.Zeros), new Parameter([0, 3, 2], Init.Zeros),
                new Parameter([0], Init.Zeros));
            Assert.Equal(3, net.Initialize(init));
            Assert.Equal(new[] { 3, 0 }, net.GetParameter("0").Data.Shape);
            Assert.Equal(new[] { 0, 3, 2 }, net.GetParameter("1").Data.Shape);
        }
    }

    [Fact]
    public void ModelsBuiltOneAfterAnotherDiffer()
    {
        Init.ManualSeed(3);
        var models = Enumerable.Range(0, 4).Select(_ => new Mlp(8)).ToList();
        foreach (var m in models) m.Initialize();
        var firsts = models.Select(m => m.GetParameter("body.0.weight").Data.ToArray<float>()).ToList();
        for (int i = 0; i < firsts.Count; i++)
            for (int j = i + 1; j < firsts.Count; j++)
                Assert.NotEqual(firsts[i], firsts[j]);
        // Within one model, layers of the same shape differ too.
        var twins = new Sequential(new Dense(8, 8), new Dense(8, 8));
        twins.Initialize();
        Assert.NotEqual(twins.GetParameter("0.weight").Data.ToArray<float>(), twins.GetParameter("1.weight").Data.ToArray<float>());
    }

    [Fact]
    public void WeightsDoNotDependOnCallOrderMaterializeOrRoot()
    {
        var whole = Built(21, () => new Mlp(null), n => n.Call(X));
        // A shape check on the first layer alone before the whole model runs.
        var partFirst = Built(21, () => new Mlp(null), n => { ((Mlp)n).First.Call(X); n.Call(X); });
        Same(whole, partFirst);
        // Materialize (a dry run) instead of a first batch.
        var dry = Built(21, () => new Mlp(null), n => n.Materialize([1, 8]));
        Same(whole, dry);
        // Initialize() first, then a batch.
        var initFirst = Built(21, () => new Mlp(null), n => { n.Initialize(); n.Call(X); });
        Same(whole, initFirst);
        // The same model inside another root: the weights of its parameters do not change with the root.
        var inner = Built(21, () => new Mlp(null), n => new Sequential(n).Call(X));
        Same(whole, inner);
    }

    [Theory, MemberData(nameof(TestDevices.All), MemberType = typeof(TestDevices))]
    public void WeightsDoNotDependOnTheDevice(string device)
    {
        var d = TestDevices.Use(device);
        var cpu = Built(31, () => new Mlp(null), n => n.Call(X));
        var other = Built(31, () => new Mlp(null), n => { n.To(d); n.Call(X.To(d)); });
        foreach (var (k, v) in cpu) Ref.Close(v.Select(x => (double)x).ToArray(), other[k], 1e-6, k);
    }
}
