using MLNet.Diffusion.Engine;
using System.Collections.ObjectModel;
using TorchSharp;
using static TorchSharp.torch;
using MLNet.Diffusion.Images;

namespace MLNet.Diffusion.Datasets;

/// <summary>
/// Fashion-MNIST (Xiao, Rasul and Vollgraf, 2017): 70,000 grayscale 28×28 images of clothing in 10 classes,
/// 60,000 for training and 10,000 for testing, as the four gzip-compressed IDX files that Debian's
/// <c>dataset-fashion-mnist</c> package installs in <see cref="DefaultDirectory"/>.
/// </summary>
public static class FashionMnist
{
    /// <summary>Where Debian's <c>dataset-fashion-mnist</c> package puts the files.</summary>
    public const string DefaultDirectory = "/usr/share/datasets/fashion-mnist";

    /// <summary>The training images: [60000, 28, 28] uint8.</summary>
    public const string TrainImagesFileName = "train-images-idx3-ubyte.gz";

    /// <summary>The training labels: [60000] uint8.</summary>
    public const string TrainLabelsFileName = "train-labels-idx1-ubyte.gz";

    /// <summary>The test images: [10000, 28, 28] uint8.</summary>
    public const string TestImagesFileName = "t10k-images-idx3-ubyte.gz";

    /// <summary>The test labels: [10000] uint8.</summary>
    public const string TestLabelsFileName = "t10k-labels-idx1-ubyte.gz";

    /// <summary>The height and width of every image.</summary>
    public const int ImageSize = 28;

    /// <summary>The number of classes.</summary>
    public const int ClassCount = 10;

    /// <summary>The class names, indexed by label (0 = T-shirt/top, ..., 9 = Ankle boot).</summary>
    public static IReadOnlyList<string> ClassNames { get; } = new ReadOnlyCollection<string>(
        ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"]);

    /// <summary>Loads the first <paramref name="limit"/> training images and labels (all 60,000 by default).</summary>
    /// <param name="limit">How many to load, at least 1; more than the files hold loads them all.</param>
    /// <param name="directory">The folder holding the files; <see cref="DefaultDirectory"/> when null.</param>
    /// <returns>As <see cref="Load(string, string, int?)"/> returns them.</returns>
    /// <exception cref="DirectoryNotFoundException">The folder is missing; the message says how to install the dataset.</exception>
    public static (Tensor Images, Tensor Labels) LoadTrain(int? limit = null, string? directory = null) =>
        LoadPair(directory, TrainImagesFileName, TrainLabelsFileName, limit);

    /// <summary>Loads the first <paramref name="limit"/> test images and labels (all 10,000 by default).</summary>
    /// <param name="limit">How many to load, at least 1; more than the files hold loads them all.</param>
    /// <param name="directory">The folder holding the files; <see cref="DefaultDirectory"/> when null.</param>
    /// <returns>As <see cref="Load(string, string, int?)"/> returns them.</returns>
    /// <exception cref="DirectoryNotFoundException">The folder is missing; the message says how to install the dataset.</exception>
    public static (Tensor Images, Tensor Labels) LoadTest(int? limit = null, string? directory = null) =>
        LoadPair(directory, TestImagesFileName, TestLabelsFileName, limit);

    /// <summary>Loads images and labels from a pair of MNIST-style IDX files (plain or gzip-compressed).</summary>
    /// <param name="imagesPath">An IDX file of uint8 images, [N, 28, 28].</param>
    /// <param name="labelsPath">An IDX file of uint8 labels in 0..9, [N].</param>
    /// <param name="limit">How many to load, at least 1; more than the files hold loads them all.</param>
    /// <returns>
    /// Images as float32 [N, 1, 28, 28] scaled from 0..255 to [−1, 1] by x/127.5 − 1, and labels as int64 [N],
    /// both on the CPU. Inside a <see cref="DisposeScope"/> they belong to it; otherwise the caller disposes them.
    /// </returns>
    /// <exception cref="FileNotFoundException">A file is missing; the message says how to install the dataset.</exception>
    /// <exception cref="InvalidDataException">
    /// A file is malformed, is not uint8 of the right shape, holds a label outside 0..9, or the two files hold different counts.
    /// </exception>
    public static (Tensor Images, Tensor Labels) Load(string imagesPath, string labelsPath, int? limit = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(imagesPath);
        ArgumentException.ThrowIfNullOrEmpty(labelsPath);
        if (limit is < 1)
        {
            throw new ArgumentOutOfRangeException(nameof(limit), limit, "Load at least one image (or pass null for all).");
        }

        foreach (var path in new[] { imagesPath, labelsPath })
        {
            if (!File.Exists(path))
            {
                throw new FileNotFoundException(
                    $"Fashion-MNIST file '{path}' was not found: install Debian's dataset-fashion-mnist (./build.sh does), " +
                    "or pass the folder that holds its four files.", path);
            }
        }

        var images = IdxFile.Load(imagesPath);
        var labels = IdxFile.Load(labelsPath);
        Expect(images, imagesPath, [-1, ImageSize, ImageSize], "images");
        Expect(labels, labelsPath, [-1], "labels");
        var total = images.Dimensions[0];
        if (labels.Dimensions[0] != total)
        {
            throw new InvalidDataException(
                $"Fashion-MNIST files disagree: '{imagesPath}' holds {total} images but '{labelsPath}' holds {labels.Dimensions[0]} labels.");
        }

        var count = Math.Min(total, limit ?? total);
        var labelBytes = labels.Data.Span[..count];
        var outOfRange = labelBytes.IndexOfAnyInRange((byte)ClassCount, byte.MaxValue);
        if (outOfRange >= 0)
        {
            throw new InvalidDataException(
                $"Fashion-MNIST labels file '{labelsPath}' is invalid: label {labelBytes[outOfRange]} at index {outOfRange} is outside 0..{ClassCount - 1}.");
        }

        using var scope = torch.NewDisposeScope();
        var pixels = TensorBytes.FromBytes(images.Data.Span[..(count * ImageSize * ImageSize)], ScalarType.Byte, [count, 1, ImageSize, ImageSize]);
        var scaled = PixelEncoding.ToModelSpace(pixels);
        var classes = TensorBytes.FromBytes(labelBytes, ScalarType.Byte, [count]).to(ScalarType.Int64);
        return (scope.MoveToOuter(scaled), scope.MoveToOuter(classes));
    }

    private static (Tensor Images, Tensor Labels) LoadPair(string? directory, string imagesFile, string labelsFile, int? limit)
    {
        var folder = directory ?? DefaultDirectory;
        if (!Directory.Exists(folder))
        {
            throw new DirectoryNotFoundException(
                $"The Fashion-MNIST folder '{folder}' does not exist: install Debian's dataset-fashion-mnist (./build.sh does), " +
                "or pass the folder that holds its four files.");
        }

        return Load(Path.Combine(folder, imagesFile), Path.Combine(folder, labelsFile), limit);
    }

    private static void Expect(IdxFile file, string path, int[] shape, string what)
    {
        var matches = file.ElementType == ScalarType.Byte && file.Dimensions.Count == shape.Length &&
            shape.Select((size, i) => size < 0 || size == file.Dimensions[i]).All(ok => ok);
        if (!matches)
        {
            var expected = string.Join(", ", shape.Select(size => size < 0 ? "N" : size.ToString(System.Globalization.CultureInfo.InvariantCulture)));
            throw new InvalidDataException(
                $"Fashion-MNIST {what} file '{path}' is invalid: it holds [{string.Join(", ", file.Dimensions)}] {file.ElementType.Name()}, " +
                $"not [{expected}] uint8.");
        }
    }
}
