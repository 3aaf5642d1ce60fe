using System.Diagnostics;
using DeepSharp.IO;

namespace DeepSharp.IO.Tests;

/// <summary>Which files a save takes for its own litter: the exact temporary-file name shape, in the target's folder only,
/// and never a recent one of a live process; and a save flushes what its writer buffered.</summary>
public class TempFileNameTests
{
    private static string Old(string path)
    {
        File.WriteAllText(path, "litter");
        File.SetLastWriteTimeUtc(path, DateTime.UtcNow - TimeSpan.FromMinutes(5));
        return path;
    }

    [Fact]
    public void NamesThatOnlyLookLikeTemporaryFilesAreKept()
    {
        using var dir = new TempDir();
        var guid = Guid.NewGuid().ToString("N");
        string[] keep =
        [
            $".m.ckpt.{guid[..30]}.tmp",        // 30 hex digits: shorter than any temporary name, but long enough to be sliced
            $".m.ckpt.5x{guid}.tmp",            // digits not ended by '-'
            $".m.ckpt.x{guid}.tmp",
        ];
        foreach (var name in keep) Old(dir.File(name));
        var mine = Old(dir.File($".m.ckpt.5-{guid}.tmp")); // the shortest process id: one digit
        Assert.Equal(1, Checkpoint.RemoveStaleTemporaryFiles(dir.File("m.ckpt")));
        Assert.False(File.Exists(mine));
        Assert.All(keep, name => Assert.True(File.Exists(dir.File(name)), name));
    }

    [Fact]
    public void OnlyTheTargetsOwnFolderIsSearched()
    {
        using var dir = new TempDir();
        var sub = Directory.CreateDirectory(dir.File("sub")).FullName;
        var nested = Old(Path.Combine(sub, $".m.ckpt.{int.MaxValue}-{Guid.NewGuid():N}.tmp"));
        Checkpoint.Save(dir.File("m.ckpt"), Tensor.Ones(1));
        Assert.True(File.Exists(nested));
    }

    [Fact]
    public void ARecentFileOfAnotherLiveProcessIsKept()
    {
        using var dir = new TempDir();
        int live = LongLivedOtherProcess();
        var recent = dir.File($".m.ckpt.{live}-{Guid.NewGuid():N}.tmp");
        File.WriteAllText(recent, "a live save");
        Assert.Equal(0, Checkpoint.RemoveStaleTemporaryFiles(dir.File("m.ckpt")));
        Assert.True(File.Exists(recent));
    }

    /// <summary>A process other than this one that will not exit during the test: init where there is one (Unix),
    /// else any other.</summary>
    private static int LongLivedOtherProcess()
    {
        try
        {
            using var init = Process.GetProcessById(1);
            if (init.Id != Environment.ProcessId) return 1;
        }
        catch (ArgumentException) { } // no process 1 here
        return Process.GetProcesses().Select(p => p.Id).First(id => id != Environment.ProcessId && id > 0);
    }

    [Fact]
    public void ASaveFlushesWhatItsStreamBuffered()
    {
        using var dir = new TempDir();
        var path = dir.File("m.ckpt");
        Checkpoint.SaveAtomic(path, Tensor.Arange(5), null, s => new BufferedStream(s, 1 << 20));
        Assert.Equal(new float[] { 0, 1, 2, 3, 4 }, Checkpoint.LoadTensor(path).ToArray<float>());
    }
}
