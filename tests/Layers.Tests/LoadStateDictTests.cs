using DeepSharp.Layers;
using DeepSharp.Tests;
using DeepSharp.Optim;

namespace DeepSharp.Layers.Tests;

/// <summary>Loading copies values into the model's own storage (torch's load_state_dict copies): nothing is shared with
/// the dictionary, with the model it came from, or with another model loaded from it.</summary>
public class LoadStateDictTests
{
    private sealed class WithBuffer : Block
    {
        private readonly Dense _dense;
        private readonly Tensor _scale;
        public WithBuffer(int? inFeatures)
        {
            _dense = Register("dense", new Dense(3, inFeatures));
            _scale = RegisterBuffer("scale", Tensor.Full([3], 2f));
        }
        protected override Tensor Forward(Tensor x) => _dense.Call(x) * _scale;
    }

    private static readonly Tensor X = Tensor.Rand([2, 4], generator: new Generator(1));

    private static float[] Values(Block net, string key) => net.StateDict()[key].ToArray<float>();

    [Theory, MemberData(nameof(TestDevices.All), MemberType = typeof(TestDevices))]
    public void LoadingCopiesEveryEntryIntoTheModelsOwnStorage(string device)
    {
        var d = TestDevices.Use(device);
        foreach (bool lazyClone in new[] { false, true })
        {
            var source = new WithBuffer(4);
            source.Call(X);
            var before = source.StateDict().ToDictionary(kv => kv.Key, kv => kv.Value.ToArray<float>());
            var clone = new WithBuffer(lazyClone ? null : 4).To(d);
            var twin = new WithBuffer(lazyClone ? null : 4).To(d);
            var state = source.StateDict();
            clone.LoadStateDict(state);
            twin.LoadStateDict(state);
            foreach (var (k, v) in clone.StateDict())
            {
                Assert.Equal(d, v.Device);
                Assert.Equal(before[k], v.ToArray<float>());
                Assert.NotSame(state[k], v);
            }
            // Edit the clone in place and train it: the source and the twin keep their values.
            foreach (var (_, v) in clone.StateDict()) v.Detach().AddInPlace(1f);
            var opt = new Sgd(clone.Parameters(), lr: 0.5f);
            clone.Call(X.To(d)).Sum().Backward();
            opt.Step();
            foreach (var (k, v) in before)
            {
                Assert.Equal(v, Values(source, k));
                Assert.Equal(v, twin.StateDict()[k].ToArray<float>());
                Assert.NotEqual(v, Values(clone, k));
            }
            // The other way round: training the source leaves the clone alone.
            var afterClone = clone.StateDict().ToDictionary(kv => kv.Key, kv => kv.Value.ToArray<float>());
            using (Autograd.NoGrad()) foreach (var p in source.Parameters()) p.Data.AddInPlace(5f);
            foreach (var (k, v) in afterClone) Assert.Equal(v, Values(clone, k));
        }
    }

    [Fact]
    public void AssigningParameterDataCopiesAndChecksTheShape()
    {
        var p = new Parameter([2, 3], Init.Zeros);
        var source = Tensor.Ones(2, 3);
        p.Data = source;                                // a parameter without data takes a copy
        Assert.False(source.RequiresGrad);              // the caller's tensor is not turned into a parameter
        using (Autograd.NoGrad()) source.FillInPlace(7f);
        Assert.All(p.Data.ToArray<float>(), v => Assert.Equal(1f, v));
        var data = p.Data;
        p.Data = Tensor.Full([2, 3], 3f);               // one with data keeps its tensor object and storage
        Assert.Same(data, p.Data);
        Assert.All(p.Data.ToArray<float>(), v => Assert.Equal(3f, v));
        // Wrong rank or shape: an ArgumentException naming both shapes, never an index error.
        var rank = Assert.Throws<ArgumentException>(() => new Parameter([2, -1], Init.Zeros).Data = Tensor.Ones(2));
        Assert.Contains("rank 1, expected 2", rank.Message);
        Assert.Throws<ArgumentException>(() => new Parameter([2, -1], Init.Zeros).Data = Tensor.Ones(2, 3, 4));
        Assert.Throws<ArgumentException>(() => p.Data = Tensor.Ones(3, 2));
        Assert.Throws<ArgumentException>(() => p.Data = Tensor.Ones([2, 3], DType.Int32));
        p.Data = Tensor.Full([2, 3], 0.1, DType.Float64); // values converted to the parameter's float32
        Assert.Equal(DType.Float32, p.Data.DType);
        Assert.All(p.Data.ToArray<float>(), v => Assert.Equal(0.1f, v));
        p.Data = Tensor.Full([2, 3], 3, DType.Float32);
        Assert.Throws<ArgumentNullException>(() => p.Data = null!);
        // A source sharing the parameter's own memory (its transpose) is read before it is overwritten.
        var square = new Parameter(Tensor.FromArray(Enumerable.Range(0, 16).Select(i => (float)i).ToArray(), [4, 4]));
        square.Data = square.Data.T;
        Assert.Equal(Enumerable.Range(0, 16).Select(i => (float)(i % 4 * 4 + i / 4)).ToArray(), square.Data.ToArray<float>());
        // A deferred dim takes the assigned size.
        var deferred = new Parameter([2, -1], Init.Zeros) { Data = Tensor.Ones(2, 5) };
        Assert.Equal(new[] { 2, 5 }, deferred.Shape);
    }

    [Fact]
    public void ValuesEditsTheParameterInPlaceWithoutNoGrad()
    {
        var net = new Sequential(new Dense(2, 3));
        net.Initialize(Init.Constant(1f));
        var w = net.GetParameter("0.weight");
        w.Values.AddInPlace(1f);                        // the book's net[0].weight.data[:] += 1
        w.Values[0, 0].FillInPlace(42f);                // net[0].weight.data[0, 0] = 42
        Assert.Equal(new[] { 42f, 2, 2, 2, 2, 2 }, w.Data.ToArray<float>());
        Assert.True(w.Data.RequiresGrad);
        Assert.Throws<InvalidOperationException>(() => w.Data.AddInPlace(1f)); // the trainable tensor itself stays guarded
    }

    [Fact]
    public void NullAndCollidingEntriesAreRefusedBeforeAnythingChanges()
    {
        var net = new Sequential(new Dense(2, 3));
        net.Initialize(Init.Constant(1f));
        var state = new Dictionary<string, Tensor> { ["0.weight"] = Tensor.Zeros(2, 3), ["0.bias"] = null! };
        Assert.Contains("0.bias", Assert.Throws<ArgumentException>(() => net.LoadStateDict(state)).Message);
        var colliding = new Dictionary<string, Tensor>
        {
            ["m.0.weight"] = Tensor.Zeros(2, 3), ["0.weight"] = Tensor.Zeros(2, 3), ["0.bias"] = Tensor.Zeros(2),
        };
        Assert.Throws<ArgumentException>(() => net.LoadStateDict(colliding, stripPrefix: "m."));
        Assert.All(net.GetParameter("0.weight").Data.ToArray<float>(), v => Assert.Equal(1f, v));
    }
}

/// <summary>PyTorch's state_dict lists a tied parameter under every path; such a dictionary loads strictly.</summary>
public class TiedStateDictTests
{
    [Fact]
    public void EveryPathOfATiedParameterIsAcceptedAndNoneIsRequiredTwice()
    {
        var shared = new Dense(3, 3);
        var net = new Sequential(new Dense(3, 2), shared, new Relu(), shared);
        net.Initialize(Init.Zeros);
        Assert.Equal(["0.weight", "0.bias", "1.weight", "1.bias"], net.StateDict().Keys);
        var full = new Dictionary<string, Tensor>
        {
            ["0.weight"] = Tensor.Ones(3, 2), ["0.bias"] = Tensor.Ones(3),
            ["1.weight"] = Tensor.Full([3, 3], 2f), ["1.bias"] = Tensor.Full([3], 2f),
            ["3.weight"] = Tensor.Full([3, 3], 2f), ["3.bias"] = Tensor.Full([3], 2f), // what torch's state_dict() holds
        };
        var report = net.LoadStateDict(full);
        Assert.Empty(report.Missing);
        Assert.Empty(report.Unexpected);
        Assert.All(((Dense)net[3]).Weight.Data.ToArray<float>(), v => Assert.Equal(2f, v));
        // Only the second path given: the tied parameter is not missing.
        var secondOnly = new Dictionary<string, Tensor>
        {
            ["0.weight"] = Tensor.Ones(3, 2), ["0.bias"] = Tensor.Ones(3),
            ["3.weight"] = Tensor.Full([3, 3], 5f), ["3.bias"] = Tensor.Ones(3),
        };
        net.LoadStateDict(secondOnly);
        Assert.All(((Dense)net[1]).Weight.Data.ToArray<float>(), v => Assert.Equal(5f, v));
        // Neither path: missing under the listed one; a wrong shape at an alias is a mismatch.
        var e = Assert.Throws<StateDictMismatchException>(() => net.LoadStateDict(new Dictionary<string, Tensor>
        {
            ["0.weight"] = Tensor.Ones(3, 2), ["0.bias"] = Tensor.Ones(3), ["1.bias"] = Tensor.Ones(3), ["3.weight"] = Tensor.Ones(2, 2),
        }));
        Assert.Empty(e.Missing);
        Assert.Equal(["3.weight: model float32 [3, 3], state dict float32 [2, 2]"], e.Mismatched);
        var missing = Assert.Throws<StateDictMismatchException>(() => net.LoadStateDict(new Dictionary<string, Tensor>
        {
            ["0.weight"] = Tensor.Ones(3, 2), ["0.bias"] = Tensor.Ones(3), ["1.bias"] = Tensor.Ones(3),
        }));
        Assert.Equal(["1.weight"], missing.Missing);
    }
}

public class ParameterEdgeTests
{
    [Fact]
    public void AParameterMadeFromAViewTrains()
    {
        var w = Tensor.FromArray(new float[] { 1, 2, 3, 4, 5, 6 }, [2, 3]);
        var p = new Parameter(w.T);
        Assert.True(p.Data.IsContiguous);
        Assert.Equal(new float[] { 1, 4, 2, 5, 3, 6 }, p.Data.ToArray<float>());
        var opt = new Sgd([p], lr: 1f);
        (p.Data * 1f).Sum().Backward();
        opt.Step();
        Assert.Equal(new float[] { 0, 3, 1, 4, 2, 5 }, p.Data.ToArray<float>());
    }

    [Fact]
    public void ANumberedBlockAfterANamedOneSaysHowToFixTheClash()
    {
        var seq = new Sequential().Add("1", new Relu());
        var e = Assert.Throws<ArgumentException>(() => seq.Add(new Relu()));
        Assert.Contains("Add(\"name\", block)", e.Message);
        Assert.Equal(1, seq.Count);
    }
}
