using DeepSharp.IO;
using DeepSharp.Layers;

namespace DeepSharp.IO.Tests;

/// <summary>What a model's files record (block types at child paths, the block in safetensors metadata), how a tie
/// mismatch is reported, and what a model refuses to load as a state dict.</summary>
public class ModelFileTests
{
    [Fact]
    public void BlockTypesAreRecordedForChildPathsOnly()
    {
        using var dir = new TempDir();
        var net = new Sequential(new Dense(2, 3), new Sequential(new Relu()));
        net.Initialize();
        net.Save(dir.File("m"));
        var meta = Checkpoint.LoadWithMeta(dir.File("m")).Meta;
        Assert.Equal(["block:0", "block:1", "block:1.0"], meta.Keys.Where(k => k.StartsWith("block:", StringComparison.Ordinal)).Order());
        Assert.Equal("Sequential", meta["block"]);
        net.SaveSafeTensors(dir.File("m.safetensors"));
        Assert.Equal("Sequential", SafeTensors.LoadWithMeta(dir.File("m.safetensors")).Meta["block"]);
    }

    private static Sequential Tied(int a, int b)
    {
        var layers = Enumerable.Range(0, 4).Select(_ => (Block)new Dense(3, 3)).ToArray();
        layers[b] = layers[a];
        return new Sequential(layers);
    }

    [Fact]
    public void ATieMismatchListsTheTiesOnEitherSideOnly()
    {
        using var dir = new TempDir();
        var saved = Tied(0, 2);
        saved.Initialize();
        saved.Save(dir.File("tied"));
        var other = Tied(1, 3);
        other.Initialize();
        var before = other.StateDict().ToDictionary(kv => kv.Key, kv => kv.Value.ToArray<float>());
        var e = Assert.Throws<StateDictMismatchException>(() => other.Load(dir.File("tied")));
        Assert.Equal(["2.bias = 0.bias", "2.weight = 0.weight", "3.bias = 1.bias", "3.weight = 1.weight"], e.Mismatched.Order());
        Assert.Empty(e.Missing);
        Assert.Empty(e.Unexpected);
        foreach (var (k, v) in other.StateDict()) Assert.Equal(before[k], v.ToArray<float>());
        // The same ties load, and a model with one more tie than the file lists only that one.
        Tied(0, 2).Load(dir.File("tied"));
        var more = new Sequential(saved[0], saved[1], saved[0], saved[1]);
        var extra = Assert.Throws<StateDictMismatchException>(() => more.Load(dir.File("tied")));
        Assert.Equal(["3.bias = 1.bias", "3.weight = 1.weight"], extra.Mismatched.Order());
    }

    [Fact]
    public void OnlyADictionaryOfTensorsIsAStateDict()
    {
        using var dir = new TempDir();
        Checkpoint.Save(dir.File("f1"), new ListValue([Tensor.Ones(1)]));
        Checkpoint.Save(dir.File("f2"), Tensor.Ones(1));
        Checkpoint.Save(dir.File("f3"), new DictValue(new() { ["0.weight"] = new ListValue([]) }));
        var net = new Sequential(new Dense(1, 1));
        Assert.Contains("list", Assert.Throws<CheckpointFormatException>(() => net.Load(dir.File("f1"))).Message);
        Assert.Contains("tensor", Assert.Throws<CheckpointFormatException>(() => net.Load(dir.File("f2"))).Message);
        Assert.Contains("'0.weight'", Assert.Throws<CheckpointFormatException>(() => net.Load(dir.File("f3"))).Message);
    }
}
