namespace DeepSharp.Data;

/// <summary>The four-file layout shared by MNIST and Fashion-MNIST: <c>{train,t10k}-{images-idx3,labels-idx1}-ubyte</c>,
/// each gzipped (<c>.gz</c>) or not.</summary>
internal static class MnistFiles
{
    public static readonly string[] Names =
        ["train-images-idx3-ubyte", "train-labels-idx1-ubyte", "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"];

    /// <summary>Loads the training or test split from <paramref name="folder"/>: images [N, 1, 28, 28] in [0, 1] and
    /// int64 labels in [0, 10).</summary>
    public static TensorDataset Load(string name, bool train, string folder, string howToInstall)
    {
        string prefix = train ? "train" : "t10k";
        string images = Find(name, folder, $"{prefix}-images-idx3-ubyte", howToInstall);
        string labels = Find(name, folder, $"{prefix}-labels-idx1-ubyte", howToInstall);
        var (pixels, shape) = Idx.ReadImagesHost(images, (28, 28));
        var y = Idx.ReadLabelsHost(labels, 10);
        if (y.Length != shape[0])
            throw new DataFormatException(labels, $"{y.Length} labels for the {shape[0]} images of {images}; the counts must match.");
        return new TensorDataset(new HostColumn<float>(pixels, DType.Float32, shape[1..], shape[0]),
            new HostColumn<long>(y, DType.Int64, [], y.Length));
    }

    private static string Find(string name, string folder, string file, string howToInstall)
    {
        foreach (var candidate in new[] { file + ".gz", file })
        {
            var path = Path.Combine(folder, candidate);
            if (File.Exists(path)) return path;
        }
        throw new FileNotFoundException($"{name}: no {file}.gz (or {file}) in {folder}; {howToInstall}put the four files " +
            $"{string.Join(", ", Names.Select(n => n + ".gz"))} there, or pass the folder that holds them.",
            Path.Combine(folder, file + ".gz"));
    }
}
