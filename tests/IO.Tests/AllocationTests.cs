using DeepSharp.IO;

namespace DeepSharp.IO.Tests;

/// <summary>Reading allocates at most <see cref="CheckpointLimits.ReadAllocationBound"/> (24 × the file's size + 256 KiB),
/// for every shape of file that costs the most memory per byte, in both formats, from streams and from paths.</summary>
public class AllocationTests(ITestOutputHelper output)
{
    internal static long Allocated(Action read)
    {
        long before = GC.GetAllocatedBytesForCurrentThread();
        read();
        return GC.GetAllocatedBytesForCurrentThread() - before;
    }

    private static readonly Lazy<(string Name, byte[] File)[]> Checkpoints = new(() => [.. HostileFiles.Checkpoints(20_000)]);
    private static readonly Lazy<(string Name, byte[] File)[]> SafeTensorsFiles = new(() => [.. HostileFiles.SafeTensorsFiles(20_000)]);

    private void Within(string name, long fileBytes, long allocated)
    {
        output.WriteLine($"{name,-50} {fileBytes,12:N0} B file {allocated,13:N0} B allocated  ×{(double)allocated / fileBytes:F1}");
        Assert.True(allocated <= CheckpointLimits.ReadAllocationBound(fileBytes),
            $"{name}: reading {fileBytes:N0} bytes allocated {allocated:N0}, over the bound of " +
            $"{CheckpointLimits.ReadAllocationBound(fileBytes):N0}");
    }

    [Fact]
    public void EveryCostlyShapeOfCheckpointStaysWithinTheBound()
    {
        Checkpoint.Read(new MemoryStream(Checkpoints.Value[0].File)); // the first read pays for static state
        foreach (var (name, file) in Checkpoints.Value)
            Within(name, file.Length, Allocated(() => Checkpoint.Read(new MemoryStream(file, writable: false))));
    }

    [Fact]
    public void EveryCostlyShapeOfSafeTensorsStaysWithinTheBound()
    {
        SafeTensors.Read(new MemoryStream(SafeTensorsFiles.Value[0].File));
        foreach (var (name, file) in SafeTensorsFiles.Value)
            Within(name, file.Length, Allocated(() => SafeTensors.Read(new MemoryStream(file, writable: false))));
    }

    [Fact]
    public void LoadingFromAPathStaysWithinTheBound()
    {
        using var dir = new TempDir();
        var small = dir.File("small.ckpt");
        Checkpoint.Save(small, Tensor.Ones(3));
        Checkpoint.Load(small);
        Within("ckpt: a 3-element file, by path", new FileInfo(small).Length, Allocated(() => Checkpoint.Load(small)));
        foreach (var (name, file) in Checkpoints.Value.Take(2))
        {
            File.WriteAllBytes(dir.File("f"), file);
            Within(name + ", by path", file.Length, Allocated(() => Checkpoint.Load(dir.File("f"))));
        }
        File.WriteAllBytes(dir.File("s"), SafeTensorsFiles.Value[0].File);
        var (stName, stFile) = SafeTensorsFiles.Value[0];
        Within(stName + ", by path", stFile.Length, Allocated(() => SafeTensors.Load(dir.File("s"))));
    }

    [Fact]
    public void AModelFileAllocatesLittleMoreThanItsWeights()
    {
        using var ms = new MemoryStream();
        var weights = Enumerable.Range(0, 8).Select(i => new KeyValuePair<string, Tensor>($"layer{i}.weight", Tensor.Rand([256, 256])));
        Checkpoint.Write(ms, new DictValue(new(weights.Select(kv => new KeyValuePair<string, CheckpointValue>(kv.Key, kv.Value)))));
        var file = ms.ToArray();
        Checkpoint.Read(new MemoryStream(file)).Value.AsDict().Values.ToList().ForEach(v => v.AsTensor().Dispose()); // arrays to the pool
        long allocated = Allocated(() => Checkpoint.Read(new MemoryStream(file)));
        output.WriteLine($"a {file.Length:N0}-byte model: {allocated:N0} bytes allocated");
        Assert.True(allocated < file.Length / 10, $"reading {file.Length:N0} bytes of weights allocated {allocated:N0} with the pool warm");
    }
}
