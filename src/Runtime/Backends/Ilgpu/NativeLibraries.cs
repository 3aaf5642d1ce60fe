using System.Reflection;
using System.Runtime.InteropServices;

namespace DeepSharp.Backends.Ilgpu;

/// <summary>
/// Maps the native library names ILGPU asks for onto what Linux machines actually ship: the driver installs
/// <c>libcuda.so.1</c> / <c>libOpenCL.so.1</c> without the unversioned development links, and ILGPU.Algorithms 1.5.3 asks
/// for <c>libcublas.so.12</c> where CUDA 13 machines have only <c>libcublas.so.13</c>.
/// </summary>
internal static class NativeLibraries
{
    private static int _installed;

    /// <summary>Messages about resolver installation problems, shown in the device listing.</summary>
    public static List<string> Problems { get; } = new();

    /// <summary>The file that satisfied each resolved request (for the device listing).</summary>
    public static Dictionary<string, string> Resolved { get; } = new();

    public static void Install()
    {
        if (Interlocked.Exchange(ref _installed, 1) == 1) return;
        TrySet(typeof(ILGPU.Context).Assembly);
        TrySet(typeof(ILGPU.Runtime.Cuda.CuBlas).Assembly);
    }

    private static void TrySet(Assembly assembly)
    {
        try { NativeLibrary.SetDllImportResolver(assembly, Resolve); }
        catch (InvalidOperationException e) { Problems.Add($"{assembly.GetName().Name}: a native resolver was already set ({e.Message})"); }
    }

    private static IntPtr Resolve(string name, Assembly assembly, DllImportSearchPath? path)
    {
        if (!OperatingSystem.IsLinux()) return IntPtr.Zero;
        // Let the default probing win first; only fill in what it would miss.
        if (NativeLibrary.TryLoad(name, assembly, path, out var handle)) return handle;
        string[] candidates = name switch
        {
            "cuda" => ["libcuda.so.1"],
            "OpenCL" => ["libOpenCL.so.1"],
            _ when name.StartsWith("libcublas.so", StringComparison.Ordinal) => CublasCandidates(),
            _ => [],
        };
        foreach (var c in candidates)
            if (NativeLibrary.TryLoad(c, out handle)) { lock (Resolved) Resolved[name] = c; return handle; }
        return IntPtr.Zero;
    }

    private static string[] CublasCandidates()
    {
        var names = new[] { "libcublas.so.13", "libcublas.so.12", "libcublas.so.11", "libcublas.so" };
        var dirs = new List<string> { "" };
        foreach (var env in new[] { "CUDA_HOME", "CUDA_PATH" })
            if (Environment.GetEnvironmentVariable(env) is { Length: > 0 } root) dirs.Add(Path.Combine(root, "lib64"));
        dirs.Add("/usr/local/cuda/lib64");
        try
        {
            if (Directory.Exists("/usr/local"))
                dirs.AddRange(Directory.GetDirectories("/usr/local", "cuda*").OrderDescending()
                    .Select(d => Path.Combine(d, "targets", "x86_64-linux", "lib")));
        }
        catch (IOException) { }
        catch (UnauthorizedAccessException) { }
        return dirs.SelectMany(d => names.Select(n => d.Length == 0 ? n : Path.Combine(d, n))).ToArray();
    }
}
