using System.Globalization;
using MLNet.Diffusion.Datasets;
using MLNet.Diffusion.Images;
using TorchSharp;
using static TorchSharp.torch;

namespace MLNet.Diffusion.Evaluation;

/// <summary>
/// Real images for <see cref="DiffusionEvaluator"/>: the reference that generated images are measured against, or the
/// training images that memorization looks for. They are read at the model's size and channels, resized as the model's
/// training data was (its recorded <see cref="PixelEncoding.Resizing"/>; else as <c>train</c> resizes a folder, scaled to
/// cover the square and centre-cropped: <see cref="ImageResizeMode.IsoCrop"/>), so that resolution is not what the metrics measure.
/// </summary>
public sealed class EvaluationData
{
    private readonly Func<int, int, ImageResizeMode, Tensor> _load;

    private EvaluationData(string description, DataKind kind, Func<int, int, ImageResizeMode, Tensor> load)
    {
        Description = description;
        Kind = kind;
        _load = load;
    }

    internal enum DataKind
    {
        FashionMnistTest,
        FashionMnistTrain,
        Other,
    }

    /// <summary>What the images are, for reports: "Fashion-MNIST test set", "image folder 'icons'", ….</summary>
    public string Description { get; }

    internal DataKind Kind { get; }

    /// <summary>For Fashion-MNIST data, the folder given (null: <see cref="EvaluationOptions.DataDirectory"/>, else Debian's).</summary>
    internal string? FashionMnistDirectory { get; private init; }

    /// <summary>Fashion-MNIST's 10,000 test images (28×28 grayscale), from <paramref name="directory"/> (Debian's when null).</summary>
    public static EvaluationData FashionMnistTest(string? directory = null) =>
        new("Fashion-MNIST test set", DataKind.FashionMnistTest, (size, channels, resizing) => FromFashionMnist(train: false, directory, size, channels, resizing))
        {
            FashionMnistDirectory = directory,
        };

    /// <summary>Fashion-MNIST's 60,000 training images (28×28 grayscale), from <paramref name="directory"/> (Debian's when null).</summary>
    public static EvaluationData FashionMnistTrain(string? directory = null) =>
        new("Fashion-MNIST training set", DataKind.FashionMnistTrain, (size, channels, resizing) => FromFashionMnist(train: true, directory, size, channels, resizing))
        {
            FashionMnistDirectory = directory,
        };

    /// <summary>
    /// The PNG and JPEG images of <paramref name="folder"/> (flat, or in class sub-folders: every image counts), decoded when
    /// the evaluation reads them.
    /// </summary>
    /// <exception cref="DirectoryNotFoundException">The folder does not exist.</exception>
    public static EvaluationData FromFolder(string folder)
    {
        ArgumentException.ThrowIfNullOrEmpty(folder);
        if (!Directory.Exists(folder))
        {
            throw new DirectoryNotFoundException($"Image folder '{folder}' does not exist.");
        }

        return new EvaluationData($"image folder '{folder}'", DataKind.Other, (size, channels, resizing) =>
        {
            var files = ImageFolderListing.Read(folder).Files;
            var pixels = new float[files.Length * channels * size * size];
            for (var i = 0; i < files.Length; i++)
            {
                ImageFolderPixels.Load(files[i], size, channels, resizing).CopyTo(pixels, i * channels * size * size);
            }

            return torch.tensor(pixels, [files.Length, channels, size, size]);
        });
    }

    /// <summary>The images of an IDX file (uint8 [N, height, width], plain or gzip-compressed), read as grayscale.</summary>
    /// <exception cref="FileNotFoundException">The file does not exist.</exception>
    public static EvaluationData FromIdx(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        if (!File.Exists(path))
        {
            throw new FileNotFoundException($"IDX file '{path}' does not exist.", path);
        }

        return new EvaluationData($"IDX file '{path}'", DataKind.Other, (size, channels, resizing) =>
        {
            var file = IdxFile.Load(path);
            if (file.ElementType != ScalarType.Byte || file.Dimensions.Count != 3)
            {
                throw new InvalidDataException(
                    $"IDX file '{path}' holds {file.ElementType} [{string.Join(", ", file.Dimensions)}]; images for evaluation are uint8 [N, height, width].");
            }

            using var scope = torch.NewDisposeScope();
            return scope.MoveToOuter(Fit(PixelEncoding.ToModelSpace(file.ToTensor()).unsqueeze(1), size, channels, resizing));
        });
    }

    /// <summary>
    /// Images already in memory: [N, C, H, W] in the model's pixel space [−1, 1] (C 1 or 3), resized and converted when read.
    /// The tensor is used when the evaluation runs, so keep it alive until then.
    /// </summary>
    /// <param name="images">The images.</param>
    /// <param name="description">What they are, for reports.</param>
    /// <exception cref="ArgumentException">The tensor is not [N, 1 or 3, H, W].</exception>
    public static EvaluationData FromImages(Tensor images, string description)
    {
        ArgumentNullException.ThrowIfNull(images);
        ArgumentException.ThrowIfNullOrEmpty(description);
        if (images.Dimensions != 4 || images.size(1) is not (1 or 3) || images.size(0) < 1)
        {
            throw new ArgumentException($"Evaluation images are [N, C, H, W] with C 1 or 3, not [{string.Join(", ", images.shape)}].", nameof(images));
        }

        return new EvaluationData(description, DataKind.Other, (size, channels, resizing) => Fit(images.to(ScalarType.Float32).cpu(), size, channels, resizing));
    }

    /// <summary>
    /// Parses the CLI's spelling: <c>fashion-mnist</c> (its test set, or its training set when <paramref name="training"/>), a
    /// folder of images, or an IDX file.
    /// </summary>
    /// <exception cref="ArgumentException">The path is none of those; the message says what is accepted.</exception>
    public static EvaluationData Parse(string value, bool training = false)
    {
        ArgumentException.ThrowIfNullOrEmpty(value);
        if (string.Equals(value, "fashion-mnist", StringComparison.OrdinalIgnoreCase))
        {
            return training ? FashionMnistTrain() : FashionMnistTest();
        }

        return Directory.Exists(value) ? FromFolder(value)
            : File.Exists(value) ? FromIdx(value)
            : throw new ArgumentException($"'{value}' is neither fashion-mnist nor an existing image folder or IDX file.", nameof(value));
    }

    /// <summary>
    /// The images as float32 [N, <paramref name="channels"/>, <paramref name="size"/>, <paramref name="size"/>] in [−1, 1], on
    /// the CPU, resized by <paramref name="resizing"/> (the model's training resize; IsoCrop, as train's, when unknown).
    /// </summary>
    internal Tensor Load(int size, int channels, ImageResizeMode resizing = ImageResizeMode.IsoCrop)
    {
        var images = _load(size, channels, resizing);
        if (images.size(0) < 1)
        {
            images.Dispose();
            throw new InvalidDataException($"The {Description} holds no images.");
        }

        return images;
    }

    /// <inheritdoc/>
    public override string ToString() => Description;

    private static Tensor FromFashionMnist(bool train, string? directory, int size, int channels, ImageResizeMode resizing)
    {
        var (images, labels) = train ? FashionMnist.LoadTrain(directory: directory) : FashionMnist.LoadTest(directory: directory);
        labels.Dispose();
        using (images)
        {
            return Fit(images, size, channels, resizing);
        }
    }

    // Images [N, C, H, W] in [−1, 1] to the model's channels (gray repeated, colour to luma by Rec. 601) and size.
    private static Tensor Fit(Tensor images, int size, int channels, ImageResizeMode resizing)
    {
        using var scope = torch.NewDisposeScope();
        var x = images;
        if (x.size(1) != channels)
        {
            x = channels == 3
                ? x.expand(-1, 3, -1, -1)
                : ((x[.., 0..1] * 0.299f) + (x[.., 1..2] * 0.587f) + (x[.., 2..3] * 0.114f));
        }

        if (x.size(2) != size || x.size(3) != size)
        {
            // The resize works plane by plane, so the batch goes through as one image of N × C planes.
            var (n, c) = (x.size(0), x.size(1));
            x = ImageResize.Apply(x.reshape(1, n * c, x.size(2), x.size(3)), size, size, resizing, padValue: -1.0).reshape(n, c, size, size);
        }

        return scope.MoveToOuter(x.contiguous().clone());
    }

}
