namespace DeepSharp.Data;

/// <summary>
/// Fashion-MNIST (Xiao, Rasul and Vollgraf, 2017): 28×28 grayscale images of clothing in 10 classes, 60,000 for training
/// and 10,000 for testing, in MNIST's IDX files. On Debian and Ubuntu, <c>apt-get install dataset-fashion-mnist</c>
/// puts them in <see cref="DefaultFolder"/>.
/// </summary>
public static class FashionMnist
{
    /// <summary>Where Debian's <c>dataset-fashion-mnist</c> package installs the files.</summary>
    public const string DefaultFolder = "/usr/share/datasets/fashion-mnist";

    /// <summary>The class names, indexed by label (as torchvision's <c>FashionMNIST.classes</c>).</summary>
    public static IReadOnlyList<string> Classes { get; } =
        ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"];

    /// <summary>The training (<paramref name="train"/>) or test split: images float32 [N, 1, 28, 28] scaled to [0, 1] and
    /// labels int64 [N] in [0, 10), from <paramref name="folder"/> (null: <see cref="DefaultFolder"/>).</summary>
    /// <exception cref="FileNotFoundException">A file is missing (the message says how to install the data set).</exception>
    /// <exception cref="DataFormatException">A file is damaged, the images are not 28×28, a label is not below 10, or the
    /// image and label counts differ.</exception>
    public static TensorDataset Load(bool train, string? folder = null) =>
        MnistFiles.Load("Fashion-MNIST", train, folder ?? DefaultFolder,
            "install the data set with 'apt-get install dataset-fashion-mnist' (Debian/Ubuntu), or ");
}

/// <summary>MNIST (LeCun et al., 1998): 28×28 grayscale handwritten digits, 60,000 for training and 10,000 for testing, in
/// the same four-file layout as <see cref="FashionMnist"/>.</summary>
public static class Mnist
{
    /// <summary>The class names, indexed by label (as torchvision's <c>MNIST.classes</c>).</summary>
    public static IReadOnlyList<string> Classes { get; } =
        ["0 - zero", "1 - one", "2 - two", "3 - three", "4 - four", "5 - five", "6 - six", "7 - seven", "8 - eight", "9 - nine"];

    /// <summary>The training (<paramref name="train"/>) or test split from <paramref name="folder"/>: images float32
    /// [N, 1, 28, 28] scaled to [0, 1] and labels int64 [N] in [0, 10).</summary>
    /// <exception cref="ArgumentNullException">folder is null.</exception>
    /// <exception cref="FileNotFoundException">A file is missing.</exception>
    /// <exception cref="DataFormatException">A file is damaged, the images are not 28×28, a label is not below 10, or the
    /// image and label counts differ.</exception>
    public static TensorDataset Load(bool train, string folder)
    {
        ArgumentNullException.ThrowIfNull(folder);
        return MnistFiles.Load("MNIST", train, folder, "");
    }
}
