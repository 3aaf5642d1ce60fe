using DeepSharp.IO;
using DeepSharp.Layers;

namespace DeepSharp.IO.Tests;

/// <summary>
/// A reader that refuses a file, or hands its tensors to a model that keeps copies, releases what it loaded: the next
/// load reuses those arrays instead of leaving a tensor's worth of garbage per call. Each test uses tensor sizes no other
/// test uses, since the host pool is shared by the whole process and keyed by size.
/// </summary>
public class ReleaseTests
{
    /// <summary>Managed bytes the third call of <paramref name="load"/> allocates (the first two fill the pool).</summary>
    private static long ThirdCallAllocates(Action load)
    {
        load();
        load();
        long before = GC.GetAllocatedBytesForCurrentThread();
        load();
        return GC.GetAllocatedBytesForCurrentThread() - before;
    }

    private static void AllocatesLittle(int tensorBytes, Action load)
    {
        long allocated = ThirdCallAllocates(load);
        Assert.True(allocated < tensorBytes / 2, $"{allocated:N0} bytes allocated by a load of {tensorBytes:N0} bytes of tensors");
    }

    [Fact]
    public void ATypedLoaderThatRefusesTheFileReleasesWhatItRead()
    {
        using var dir = new TempDir();
        Checkpoint.Save(dir.File("list"), new ListValue([Tensor.Ones(100_345)]));
        Checkpoint.Save(dir.File("dict"), new DictValue(new() { ["w"] = Tensor.Ones(100_346) }));
        Checkpoint.Save(dir.File("tensor"), Tensor.Ones(100_347));
        AllocatesLittle(4 * 100_345, () => Assert.Throws<CheckpointFormatException>(() => Checkpoint.LoadTensor(dir.File("list"))));
        AllocatesLittle(4 * 100_346, () => Assert.Throws<CheckpointFormatException>(() => Checkpoint.LoadList(dir.File("dict"))));
        AllocatesLittle(4 * 100_347, () => Assert.Throws<CheckpointFormatException>(() => Checkpoint.LoadDict(dir.File("tensor"))));
    }

    [Fact]
    public void ACorruptedTensorIsReleasedWhenItsCrcFails()
    {
        using var ms = new MemoryStream();
        Checkpoint.Write(ms, Tensor.Ones(100_348));
        var file = ms.ToArray();
        file[^1] ^= 0x10;
        AllocatesLittle(4 * 100_348, () => Assert.Throws<CheckpointFormatException>(() => Checkpoint.Read(new MemoryStream(file))));
    }

    /// <summary>A stream whose length claims more bytes than it holds (a file that shrank while being read).</summary>
    private sealed class Shrunk(byte[] data, long claimed) : MemoryStream(data, writable: false)
    {
        public override long Length => claimed;
    }

    [Fact]
    public void ATensorCutShortIsReleased()
    {
        using var ckpt = new MemoryStream();
        Checkpoint.Write(ckpt, Tensor.Ones(100_349));
        using var st = new MemoryStream();
        SafeTensors.Write(st, [new("w", Tensor.Ones(100_350))]);
        byte[] c = ckpt.ToArray(), s = st.ToArray();
        byte[] cutC = c[..^8], cutS = s[..^8];
        AllocatesLittle(4 * 100_349, () => Assert.Throws<CheckpointFormatException>(() => Checkpoint.Read(new Shrunk(cutC, c.Length))));
        AllocatesLittle(4 * 100_350, () => Assert.Throws<CheckpointFormatException>(() => SafeTensors.Read(new Shrunk(cutS, s.Length))));
    }

    [Fact]
    public void LoadingSafeTensorsIntoAModelReleasesTheLoadedTensors()
    {
        using var dir = new TempDir();
        var net = new Sequential(new Dense(409, 231)); // sizes no other test uses
        net.Initialize();
        net.SaveSafeTensors(dir.File("m.safetensors"));
        AllocatesLittle(4 * 409 * 231, () => net.LoadSafeTensors(dir.File("m.safetensors")));
    }
}
