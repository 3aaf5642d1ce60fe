using System.Diagnostics;
using System.Globalization;
using System.IO.Enumeration;

namespace DeepSharp.IO;

/// <summary>
/// Atomic saves and their temporary files. A save writes <c>.{name}.{pid}-{32 hex digits}.tmp</c> beside the target
/// <c>name</c>, holding it open exclusively (on Unix .NET takes an advisory <c>flock</c> for <see cref="FileShare.None"/>),
/// flushes it to disk and renames it over the target. A save killed half-way leaves its temporary file behind; the next
/// save to the same path removes such files, before it writes, when that is safe (see <see cref="IsStale"/>).
/// </summary>
internal static class AtomicFile
{
    /// <summary>How old an unlocked temporary file of a running process must be before it is taken for litter: between
    /// creating a file and locking it, and between closing and renaming it, a live writer holds no lock for a moment.</summary>
    public static readonly TimeSpan StaleAfter = TimeSpan.FromSeconds(30);

    private const string Suffix = ".tmp";

    /// <summary>Writes a file atomically: first removes stale temporary files of earlier saves to the same path (so a
    /// save killed in its turn still leaves at most its own), then writes a temporary file beside <paramref name="path"/>,
    /// flushes it to disk and renames it over the target.</summary>
    public static void Write(string path, Action<Stream> write, Func<Stream, Stream> wrap)
    {
        var full = Path.GetFullPath(path);
        var dir = Path.GetDirectoryName(full)!;
        var name = Path.GetFileName(full);
        // The save goes ahead whatever happens here: litter that cannot be removed now is left for the next save.
        try { RemoveStale(full); } catch (IOException) { } catch (UnauthorizedAccessException) { }
        var tmp = Path.Combine(dir, $".{name}.{Environment.ProcessId.ToString(CultureInfo.InvariantCulture)}-{Guid.NewGuid():N}{Suffix}");
        try
        {
            using (var file = new FileStream(tmp, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1 << 16))
            {
                var s = wrap(file);
                write(s);
                s.Flush();
                file.Flush(flushToDisk: true);
            }
            File.Move(tmp, full, overwrite: true);
        }
        catch
        {
            try { File.Delete(tmp); } catch (IOException) { } catch (UnauthorizedAccessException) { }
            throw;
        }
    }

    /// <summary>Removes the stale temporary files of saves to <paramref name="path"/>; returns how many.</summary>
    public static int RemoveStale(string path)
    {
        var full = Path.GetFullPath(path);
        var dir = Path.GetDirectoryName(full)!;
        var name = Path.GetFileName(full);
        if (name.Length == 0 || !Directory.Exists(dir)) return 0;
        var candidates = new FileSystemEnumerable<(string Path, int? Pid, DateTime Written)>(dir,
            (ref FileSystemEntry e) => (e.ToFullPath(), OwnerOf(e.FileName, name, out var pid) ? pid : null,
                e.LastWriteTimeUtc.UtcDateTime),
            new EnumerationOptions { RecurseSubdirectories = false, AttributesToSkip = 0, IgnoreInaccessible = true })
        {
            ShouldIncludePredicate = (ref FileSystemEntry e) => !e.IsDirectory && OwnerOf(e.FileName, name, out _),
        };
        int removed = 0;
        foreach (var (tmp, pid, written) in candidates.ToList())
            if (IsStale(pid, written) && TryDeleteUnlocked(tmp)) removed++;
        return removed;
    }

    /// <summary>
    /// Whether a temporary file may be litter: its writer's process is gone (a writer that crashed or was killed), or the
    /// file has not been written for <see cref="StaleAfter"/> (the writer's process id was reused, or the file predates
    /// process ids in the name). A file that passes is still removed only when no one holds it open (see
    /// <see cref="TryDeleteUnlocked"/>); when file locking is off in this process, only files of dead processes are.
    /// </summary>
    private static bool IsStale(int? pid, DateTime writtenUtc)
    {
        if (pid is { } p && p != Environment.ProcessId && !IsRunning(p)) return true;
        return !LockingDisabled && DateTime.UtcNow - writtenUtc > StaleAfter;
    }

    private static bool IsRunning(int pid)
    {
        try
        {
            using var p = Process.GetProcessById(pid);
            return true;
        }
        catch (ArgumentException) { return false; } // no such process
        catch (InvalidOperationException) { return false; }
    }

    // .NET skips the advisory lock when this switch is set; then a live writer's file cannot be told from litter by its lock.
    private static bool LockingDisabled =>
        AppContext.TryGetSwitch("System.IO.DisableFileLocking", out bool off) ? off
        : Environment.GetEnvironmentVariable("DOTNET_SYSTEM_IO_DISABLEFILELOCKING") is "1" or "true";

    /// <summary>Deletes <paramref name="tmp"/> unless someone holds it open: a writer holds its temporary file exclusively
    /// from creation to rename, so an exclusive open succeeds only on an abandoned one, which is deleted as the open closes.</summary>
    private static bool TryDeleteUnlocked(string tmp)
    {
        try
        {
            using var probe = new FileStream(tmp, FileMode.Open, FileAccess.Read, FileShare.None, 1, FileOptions.DeleteOnClose);
            return true;
        }
        catch (FileNotFoundException) { return false; } // removed by another cleaner meanwhile
        catch (IOException) { return false; }           // held open: a live writer
        catch (UnauthorizedAccessException) { return false; }
    }

    /// <summary>Whether <paramref name="file"/> is a temporary file of a save to <paramref name="target"/>: exactly
    /// <c>.{target}.{pid}-{32 hex}.tmp</c>, or <c>.{target}.{32 hex}.tmp</c> as earlier versions named them (pid unknown).
    /// The exact shape keeps the files of other targets (<c>a.b</c> beside <c>a</c>) and everything else out.</summary>
    internal static bool OwnerOf(ReadOnlySpan<char> file, string target, out int? pid)
    {
        pid = null;
        if (file.Length < target.Length + 2 + 32 + Suffix.Length || file[0] != '.'
            || !file[1..].StartsWith(target, StringComparison.Ordinal) || file[target.Length + 1] != '.'
            || !file.EndsWith(Suffix, StringComparison.Ordinal))
            return false;
        var middle = file[(target.Length + 2)..^Suffix.Length];
        if (!IsHex(middle[^32..])) return false;
        if (middle.Length == 32) return true;
        var digits = middle[..^32];
        if (digits.Length < 2 || digits[^1] != '-'
            || !int.TryParse(digits[..^1], NumberStyles.None, CultureInfo.InvariantCulture, out int p))
            return false;
        pid = p;
        return true;
    }

    private static bool IsHex(ReadOnlySpan<char> s)
    {
        foreach (var c in s) if (!char.IsAsciiHexDigitLower(c) && !char.IsAsciiDigit(c)) return false;
        return true;
    }

    /// <summary>Opens a file to read, turning a directory or a pipe into a <see cref="CheckpointFormatException"/>.</summary>
    public static FileStream OpenRead(string path)
    {
        FileStream s;
        try { s = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16); }
        catch (UnauthorizedAccessException) when (Directory.Exists(path))
        {
            throw new CheckpointFormatException($"'{path}' is a directory, not a checkpoint file: pass the path of a file in it");
        }
        if (s.CanSeek) return s;
        s.Dispose();
        throw new CheckpointFormatException($"'{path}' is not a regular file (a pipe or a device?): checkpoints are read from files");
    }
}
