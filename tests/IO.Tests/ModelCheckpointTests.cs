using DeepSharp.IO;
using DeepSharp.Layers;

namespace DeepSharp.IO.Tests;

public class ModelCheckpointTests
{
    private static Sequential Mlp() => new(new Dense(256), new Relu(), new Dense(10));

    [Fact]
    public void ACloneLoadedFromFileGivesIdenticalOutputs()
    {
        using var dir = new TempDir();
        var net = Mlp();
        var x = Tensor.Rand([2, 20], generator: new Generator(3));
        var y = net.Call(x);
        net.Save(dir.File("mlp.params"));
        var clone = Mlp(); // never run: its deferred shapes come from the file
        var report = clone.Load(dir.File("mlp.params"));
        Assert.Empty(report.Missing);
        Assert.Equal(new[] { 256, 20 }, clone.GetParameter("0.weight").Shape);
        Assert.Equal(y.ToArray<float>(), clone.Call(x).ToArray<float>());
        var meta = Checkpoint.LoadWithMeta(dir.File("mlp.params")).Meta;
        Assert.Equal("Sequential", meta["block"]);
        Assert.Equal("Dense", meta["block:2"]);
        Assert.StartsWith("DeepSharp ", meta["library"]);
    }

    /// <summary>Loading into a model hands its old arrays back to the pool, so loading again allocates no new ones (it
    /// allocated every tensor afresh on the large-object heap, and the collections made loads 1.4–3.7 ms instead of 0.8).</summary>
    [Fact]
    public void LoadingAgainReusesTheArraysTheModelReleased()
    {
        using var dir = new TempDir();
        var net = new Sequential(new Dense(413, 371), new Relu(), new Dense(7)); // sizes no other test uses
        var x = Tensor.Rand([3, 371], generator: new Generator(4));
        var y = net.Call(x).ToArray<float>();
        net.Save(dir.File("a"));
        net.Load(dir.File("a"));
        net.Load(dir.File("a"));
        long before = GC.GetAllocatedBytesForCurrentThread();
        net.Load(dir.File("a"));
        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        Assert.True(allocated < 100_000, $"a third load allocated {allocated:N0} bytes for {413 * 371 * 4:N0} bytes of weights");
        Assert.Equal(y, net.Call(x).ToArray<float>());
    }

    [Fact]
    public void StrictLoadListsEveryProblemAndChangesNothing()
    {
        var net = new Sequential(new Dense(4, 3), new Relu(), new Dense(2, 4));
        net.Initialize();
        var before = net.StateDict().ToDictionary(kv => kv.Key, kv => kv.Value.ToArray<float>());
        var state = new Dictionary<string, Tensor>
        {
            ["0.weight"] = Tensor.Ones(4, 3),            // fine
            ["0.bias"] = Tensor.Ones(5),                 // wrong shape
            ["2.weight"] = Tensor.Ones([2, 4], DType.Int64), // wrong dtype (floats would convert)
            ["3.weight"] = Tensor.Ones(1),               // unexpected
        };                                               // 2.bias missing
        var e = Assert.Throws<StateDictMismatchException>(() => net.LoadStateDict(state));
        Assert.Equal(["2.bias"], e.Missing);
        Assert.Equal(["3.weight"], e.Unexpected);
        Assert.Equal(2, e.Mismatched.Count);
        Assert.Contains("0.bias: model float32 [4], state dict float32 [5]", e.Message);
        Assert.Contains("nothing was loaded", e.Message);
        foreach (var (k, v) in net.StateDict()) Assert.Equal(before[k], v.ToArray<float>()); // transactional
        // Non-strict still refuses the mismatches…
        Assert.Throws<StateDictMismatchException>(() => net.LoadStateDict(state, strict: false));
        // …and reports what it skipped when only keys differ.
        var report = net.LoadStateDict(new Dictionary<string, Tensor> { ["0.weight"] = Tensor.Ones(4, 3), ["extra"] = Tensor.Ones(1) },
            strict: false);
        Assert.Equal(["0.bias", "2.weight", "2.bias"], report.Missing);
        Assert.Equal(["extra"], report.Unexpected);
        Assert.All(net.GetParameter("0.weight").Data.ToArray<float>(), v => Assert.Equal(1f, v));
    }

    [Fact]
    public void APrefixedStateDictGetsARemapSuggestion()
    {
        var net = new Sequential(new Dense(2, 2));
        net.Initialize();
        var prefixed = net.StateDict().ToDictionary(kv => "module." + kv.Key, kv => kv.Value.Clone());
        var e = Assert.Throws<StateDictMismatchException>(() => net.LoadStateDict(prefixed));
        Assert.Contains("stripPrefix: \"module.\"", e.Message);
        Assert.Empty(net.LoadStateDict(prefixed, stripPrefix: "module.").Missing);
    }

    [Fact]
    public void LoadingKeepsParameterIdentityAndDevice()
    {
        using var dir = new TempDir();
        var net = new Sequential(new Dense(3, 2));
        net.Initialize();
        net.Save(dir.File("a"));
        var sim = new Sequential(new Dense(3, 2));
        sim.Initialize(device: Device.IlgpuCpu);
        var w = sim.GetParameter("0.weight"); var data = w.Data;
        sim.Load(dir.File("a"));
        Assert.Same(data, w.Data);
        Assert.Equal(Device.IlgpuCpu, w.Data.Device);
        Assert.Equal(net.GetParameter("0.weight").Data.ToArray<float>(), w.Data.ToArray<float>());
        Checkpoint.Save(dir.File("t"), Tensor.Ones(2));
        Assert.Throws<CheckpointFormatException>(() => sim.Load(dir.File("t")));
    }

    [Fact]
    public void TiedParametersAreStoredOnceAndRestoredShared()
    {
        using var dir = new TempDir();
        Sequential Tied() { var s = new Dense(4, 4); return new Sequential(new Dense(4, 3), s, new Relu(), s); }
        var net = Tied();
        net.Initialize();
        net.Save(dir.File("tied"));
        var (file, meta) = Checkpoint.LoadWithMeta(dir.File("tied"));
        Assert.Equal(4, file.AsDict().Count); // the shared layer's two tensors once
        Assert.Equal("1.weight", meta["alias:3.weight"]);
        var clone = Tied();
        clone.Load(dir.File("tied"));
        Assert.Same(((Dense)clone[1]).Weight, ((Dense)clone[3]).Weight);
        Assert.Equal(net.GetParameter("1.weight").Data.ToArray<float>(), clone.GetParameter("3.weight").Data.ToArray<float>());
        // A model without the tie has 3.weight of its own: the file's tie topology is reported.
        var untied = new Sequential(new Dense(4, 3), new Dense(4, 4), new Relu(), new Dense(4, 4));
        untied.Initialize();
        var e = Assert.Throws<StateDictMismatchException>(() => untied.Load(dir.File("tied")));
        Assert.Contains("ties parameters differently", e.Message);
    }

    private sealed class OddlyNamed : Block
    {
        public OddlyNamed() => Register("inner\ud800", new Dense(2, 2));
        protected override Tensor Forward(Tensor x) => x;
    }

    [Fact]
    public void ABlockNameWithALoneSurrogateIsRefusedBeforeAnythingIsWritten()
    {
        using var dir = new TempDir();
        var path = dir.File("m.params");
        var net = Mlp();
        net.Call(Tensor.Rand([1, 20]));
        net.Save(path);
        var before = File.ReadAllBytes(path);
        // Refused when the block registers it (where src/Layers checks names) or, at the latest, when it is saved.
        Assert.ThrowsAny<ArgumentException>(() =>
        {
            var odd = new OddlyNamed();
            odd.Initialize();
            odd.Save(path);
        });
        Assert.Equal(before, File.ReadAllBytes(path));
        Assert.Equal(["m.params"], Directory.GetFiles(dir.Path).Select(Path.GetFileName));
        Assert.ThrowsAny<ArgumentException>(() =>
        {
            var odd = new OddlyNamed();
            odd.Initialize();
            odd.SaveSafeTensors(dir.File("m.safetensors"));
        });
        Assert.Equal(["m.params"], Directory.GetFiles(dir.Path).Select(Path.GetFileName));
    }
}
