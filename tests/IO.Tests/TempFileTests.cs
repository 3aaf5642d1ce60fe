using DeepSharp.IO;

namespace DeepSharp.IO.Tests;

/// <summary>A save killed half-way leaves a temporary file; the next save to the same path (or
/// <see cref="Checkpoint.RemoveStaleTemporaryFiles"/>) removes it — but never one a live writer still holds, one that a
/// running process created moments ago, or anything that is not a temporary file of that path.</summary>
public class TempFileTests
{
    // No process has this id: Linux caps ids at 2^22, Windows keeps them far below.
    private const int DeadPid = int.MaxValue;

    private static string Temp(string dir, string target, int? pid)
    {
        var path = Path.Combine(dir, pid is { } p ? $".{target}.{p}-{Guid.NewGuid():N}.tmp" : $".{target}.{Guid.NewGuid():N}.tmp");
        File.WriteAllBytes(path, new byte[100]); // a save that died after 100 bytes
        return path;
    }

    private static string Old(string path)
    {
        File.SetLastWriteTimeUtc(path, DateTime.UtcNow - TimeSpan.FromMinutes(5));
        return path;
    }

    private static string[] Files(TempDir dir) =>
        Directory.GetFiles(dir.Path).Select(Path.GetFileName).Order(StringComparer.Ordinal).ToArray()!;

    [Fact]
    public void TheNextSaveRemovesTheTemporaryFilesOfWritersThatDied()
    {
        using var dir = new TempDir();
        var path = dir.File("m.ckpt");
        Temp(dir.Path, "m.ckpt", DeadPid);
        Temp(dir.Path, "m.ckpt", DeadPid);
        Checkpoint.Save(path, Tensor.Ones(2));
        Assert.Equal(["m.ckpt"], Files(dir));
        Temp(dir.Path, "m.ckpt", DeadPid);
        SafeTensors.Save(path, [new("w", Tensor.Ones(2))]); // the other format's saves clean up the same way
        Assert.Equal(["m.ckpt"], Files(dir));
    }

    [Fact]
    public void AFileHeldOpenOrJustCreatedByALiveProcessIsKept()
    {
        using var dir = new TempDir();
        var path = dir.File("m.ckpt");
        var young = Temp(dir.Path, "m.ckpt", Environment.ProcessId);          // a live save between creating and locking its file
        var held = Old(Temp(dir.Path, "m.ckpt", Environment.ProcessId));      // a live save writing slowly
        var legacyYoung = Temp(dir.Path, "m.ckpt", pid: null);
        using (new FileStream(held, FileMode.Open, FileAccess.Write, FileShare.None))
        {
            Assert.Equal(0, Checkpoint.RemoveStaleTemporaryFiles(path));
            Checkpoint.Save(path, Tensor.Ones(2));
            Assert.True(File.Exists(young) && File.Exists(held) && File.Exists(legacyYoung));
        }
        Assert.Equal(1, Checkpoint.RemoveStaleTemporaryFiles(path)); // released and long unwritten: litter
        Assert.False(File.Exists(held));
        Old(young);
        Old(legacyYoung); // named as before process ids were in the name: removed by age alone
        Assert.Equal(2, Checkpoint.RemoveStaleTemporaryFiles(path));
        Assert.Equal(["m.ckpt"], Files(dir));
    }

    [Fact]
    public void OnlyTheTemporaryFilesOfThatPathAreTouched()
    {
        using var dir = new TempDir();
        var guid = Guid.NewGuid().ToString("N");
        string[] others =
        [
            $".m.ckpt2.{DeadPid}-{guid}.tmp", $".m.{DeadPid}-{guid}.tmp", $".m.ckpt.{DeadPid}-{guid}.tmp.bak",
            $"m.ckpt.{DeadPid}-{guid}.tmp", $".m.ckpt.x-{guid}.tmp", $".m.ckpt.-1-{guid}.tmp",
            $".m.ckpt.{DeadPid}-{guid.ToUpperInvariant()}.tmp", $".m.ckpt.{DeadPid}-{guid[1..]}.tmp",
            $".m.ckpt.{guid}{guid}.tmp", ".m.ckpt.tmp", "notes.txt",
        ];
        foreach (var name in others) File.WriteAllText(dir.File(name), "keep");
        foreach (var name in others) Old(dir.File(name));
        // Named like one, but a folder.
        var folder = Directory.CreateDirectory(dir.File($".m.ckpt.{DeadPid}-{Guid.NewGuid():N}.tmp")).FullName;
        var mine = Old(Temp(dir.Path, "m.ckpt", DeadPid));
        Assert.Equal(1, Checkpoint.RemoveStaleTemporaryFiles(dir.File("m.ckpt")));
        Assert.False(File.Exists(mine));
        Assert.All(others, name => Assert.Equal("keep", File.ReadAllText(dir.File(name))));
        Assert.True(Directory.Exists(folder));
        Assert.Equal(0, Checkpoint.RemoveStaleTemporaryFiles(dir.File("absent-dir/m.ckpt")));
    }

    [Fact]
    public void ConcurrentSavesToOnePathAllSucceedAndLeaveNoLitter()
    {
        using var dir = new TempDir();
        var path = dir.File("shared.ckpt");
        var big = Tensor.Rand([1 << 16]);
        Parallel.For(0, 4, new ParallelOptions { MaxDegreeOfParallelism = 4 }, t =>
        {
            for (int i = 0; i < 10; i++) Checkpoint.Save(path, new DictValue(new() { ["w"] = big, ["t"] = Tensor.Full([1], t) }));
        });
        Assert.Equal(["shared.ckpt"], Files(dir));
        Assert.Equal(1 << 16, Checkpoint.LoadDict(path)["w"].Count);
    }
}
