namespace DeepSharp.Data;

/// <summary>A data file (IDX, CSV, image) that cannot be read as its format: the message names the file and what is
/// wrong with it (truncated, wrong magic, an unsupported element type, inconsistent sizes, …).</summary>
public sealed class DataFormatException : IOException
{
    /// <summary>An error about the file at <paramref name="path"/>; the message starts with the path.</summary>
    public DataFormatException(string path, string message, Exception? inner = null) : base($"{path}: {message}", inner)
    {
        ArgumentNullException.ThrowIfNull(path);
        FilePath = path;
    }

    /// <summary>The file that could not be read.</summary>
    public string FilePath { get; }
}
