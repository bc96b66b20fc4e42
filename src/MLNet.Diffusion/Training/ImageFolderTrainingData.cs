using MLNet.Diffusion.Data;
using MLNet.Diffusion.Torch;

namespace MLNet.Diffusion.Training;

/// <summary>
/// Training data read from a folder of PNG and JPEG files (extensions .png, .jpg and .jpeg in any case), batch by batch.
/// </summary>
/// <remarks>
/// <para>
/// A folder with sub-folders is labelled: each sub-folder is a class, numbered in the ordinal order of the names
/// (<see cref="ClassNames"/>), and holds that class's images, also in its own sub-folders if it likes. A folder without
/// sub-folders is unlabelled. Files are taken in the ordinal order of their paths, so the example indices are the same
/// on every run. Folders whose names start with a dot are skipped.
/// </para>
/// <para>
/// Each image is converted to <see cref="Channels"/> channels (RGB to gray by the luma weights 0.299, 0.587, 0.114; gray
/// to RGB by repeating it; alpha composited onto black), scaled to [−1, 1] as x / 127.5 − 1, and resized to
/// <see cref="ImageSize"/> × <see cref="ImageSize"/> as <see cref="ImageResizeMode"/> says, with bilinear interpolation
/// (align_corners false). Padding is black, −1.
/// </para>
/// </remarks>
public sealed class ImageFolderTrainingData : ITrainingData, IDisposable
{
    /// <summary>The file extensions read, compared without regard to case.</summary>
    public static readonly IReadOnlyList<string> Extensions = [".png", ".jpg", ".jpeg"];

    private readonly string[] _files;
    private readonly long[]? _labels;
    private readonly Dictionary<long, Tensor>? _cache;
    private readonly Lock _lock = new();
    private bool _disposed;

    /// <summary>Lists the images under <paramref name="folder"/>; nothing is decoded until <see cref="GetBatch"/>.</summary>
    /// <param name="folder">The folder: one sub-folder per class, or the images themselves.</param>
    /// <param name="imageSize">The side of the square training images, in pixels.</param>
    /// <param name="channels">1 (gray) or 3 (RGB; the default): every image is converted to this.</param>
    /// <param name="resizeMode">How to bring images to the square size; <see cref="ImageResizeMode.IsoCrop"/> by default.</param>
    /// <param name="cache">
    /// Whether to keep each decoded, resized image in memory after its first use. False by default: every batch is
    /// read from disk, so a data set larger than memory can be trained on.
    /// </param>
    /// <exception cref="DirectoryNotFoundException">The folder does not exist.</exception>
    /// <exception cref="InvalidDataException">No images were found, or the layout mixes class folders with loose images.</exception>
    public ImageFolderTrainingData(string folder, int imageSize, int channels = 3, ImageResizeMode resizeMode = ImageResizeMode.IsoCrop, bool cache = false)
    {
        ArgumentException.ThrowIfNullOrEmpty(folder);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(imageSize);
        if (channels is not (1 or 3))
        {
            throw new ArgumentOutOfRangeException(nameof(channels), channels, "Channels must be 1 (gray) or 3 (RGB).");
        }

        if (!Enum.IsDefined(resizeMode))
        {
            throw new ArgumentOutOfRangeException(nameof(resizeMode), resizeMode, "Unknown resize mode.");
        }

        if (!Directory.Exists(folder))
        {
            throw new DirectoryNotFoundException($"Image folder '{folder}' does not exist.");
        }

        var accepted = string.Join(", ", Extensions);
        var classes = Directory.GetDirectories(folder).Where(d => !Path.GetFileName(d).StartsWith('.')).Order(StringComparer.Ordinal).ToArray();
        if (classes.Length == 0)
        {
            _files = ImagesUnder(folder, SearchOption.TopDirectoryOnly);
            ClassNames = [];
        }
        else
        {
            if (ImagesUnder(folder, SearchOption.TopDirectoryOnly) is { Length: > 0 } loose)
            {
                throw new InvalidDataException(
                    $"Image folder '{folder}' has class sub-folders and also images of its own (such as '{Path.GetFileName(loose[0])}'): " +
                    "put every image in its class's sub-folder, or use a folder without sub-folders for unlabelled data.");
            }

            var files = new List<string>();
            var labels = new List<long>();
            for (var label = 0; label < classes.Length; label++)
            {
                var inClass = ImagesUnder(classes[label], SearchOption.AllDirectories);
                if (inClass.Length == 0)
                {
                    throw new InvalidDataException($"Class folder '{classes[label]}' holds no images (accepted extensions: {accepted}).");
                }

                files.AddRange(inClass);
                labels.AddRange(Enumerable.Repeat((long)label, inClass.Length));
            }

            (_files, _labels) = (files.ToArray(), labels.ToArray());
            ClassNames = classes.Select(Path.GetFileName).ToArray()!;
        }

        if (_files.Length == 0)
        {
            throw new InvalidDataException($"Image folder '{folder}' holds no images: the accepted extensions are {accepted} (in any case).");
        }

        (ImageSize, Channels, ResizeMode, Folder) = (imageSize, channels, resizeMode, folder);
        _cache = cache ? [] : null;
    }

    /// <summary>The folder read.</summary>
    public string Folder { get; }

    /// <summary>The class names (the sub-folder names, in label order), or empty when the folder is unlabelled.</summary>
    public IReadOnlyList<string> ClassNames { get; }

    /// <summary>The image files, in example order.</summary>
    public IReadOnlyList<string> Files => _files;

    /// <summary>How images are brought to the square size.</summary>
    public ImageResizeMode ResizeMode { get; }

    /// <inheritdoc/>
    public long Count => _files.Length;

    /// <inheritdoc/>
    public int Channels { get; }

    /// <inheritdoc/>
    public int ImageSize { get; }

    /// <inheritdoc/>
    public int? NumClasses => _labels is null ? null : ClassNames.Count;

    /// <inheritdoc/>
    /// <exception cref="InvalidDataException">An image is corrupt or not PNG or JPEG; the message names the file.</exception>
    public (Tensor Images, Tensor? Labels) GetBatch(IReadOnlyList<long> indices)
    {
        ArgumentNullException.ThrowIfNull(indices);
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (indices.Count == 0)
        {
            throw new ArgumentException("A batch needs at least one index.", nameof(indices));
        }

        foreach (var index in indices)
        {
            ArgumentOutOfRangeException.ThrowIfNegative(index);
            ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(index, Count);
        }

        using var scope = LibTorch.NewDisposeScope();
        using var noGrad = Autograd.NoGrad();
        var images = new Tensor[indices.Count];
        for (var i = 0; i < images.Length; i++)
        {
            images[i] = Example(indices[i]);
        }

        var batch = scope.MoveToOuter(LibTorch.Stack(images));
        var labels = _labels is null ? null : scope.MoveToOuter(LibTorch.FromArray(indices.Select(i => _labels[i]).ToArray()));
        return (batch, labels);
    }

    /// <summary>Releases the cached tensors, if any.</summary>
    public void Dispose()
    {
        if (_disposed)
        {
            return;
        }

        _disposed = true;
        if (_cache is not null)
        {
            lock (_lock)
            {
                foreach (var tensor in _cache.Values)
                {
                    tensor.Dispose();
                }

                _cache.Clear();
            }
        }
    }

    private static string[] ImagesUnder(string folder, SearchOption option) =>
        Directory.EnumerateFiles(folder, "*", option)
            .Where(f => Extensions.Contains(Path.GetExtension(f), StringComparer.OrdinalIgnoreCase))
            .Where(f => option == SearchOption.TopDirectoryOnly || !Path.GetRelativePath(folder, f).Split(Path.DirectorySeparatorChar).Any(p => p.StartsWith('.')))
            .Order(StringComparer.Ordinal)
            .ToArray();

    /// <summary>Example <paramref name="index"/> as [C, S, S], from the cache or from disk; owned by the current scope unless cached.</summary>
    private Tensor Example(long index)
    {
        if (_cache is null)
        {
            return Read(_files[index]);
        }

        lock (_lock)
        {
            if (!_cache.TryGetValue(index, out var cached))
            {
                cached = Read(_files[index]).DetachFromDisposeScope();
                _cache[index] = cached;
            }

            return cached;
        }
    }

    private Tensor Read(string path)
    {
        var image = ImageCodec.Load(path);
        var (width, height) = (image.Width, image.Height);
        var pixels = ToFloats(image, Channels);
        var input = LibTorch.FromArray(pixels, [1, Channels, height, width]);
        var (scaledHeight, scaledWidth) = ScaledSize(width, height);
        var resized = scaledHeight == height && scaledWidth == width
            ? input
            : Functional.Interpolate(input, scaledHeight, scaledWidth, InterpolationMode.Bilinear, alignCorners: false);
        var square = ResizeMode switch
        {
            ImageResizeMode.IsoCrop => resized.Narrow(2, (scaledHeight - ImageSize) / 2, ImageSize).Narrow(3, (scaledWidth - ImageSize) / 2, ImageSize),
            ImageResizeMode.IsoPad when scaledHeight != ImageSize || scaledWidth != ImageSize => Pad(resized, scaledHeight, scaledWidth),
            _ => resized,
        };
        return square.Squeeze(0).Contiguous();
    }

    private Tensor Pad(Tensor resized, long height, long width)
    {
        var canvas = LibTorch.Full([1, Channels, ImageSize, ImageSize], -1.0);
        canvas.Narrow(2, (ImageSize - height) / 2, height).Narrow(3, (ImageSize - width) / 2, width).CopyFrom(resized);
        return canvas;
    }

    /// <summary>The size to interpolate to before cropping or padding: (height, width).</summary>
    private (long Height, long Width) ScaledSize(int width, int height)
    {
        switch (ResizeMode)
        {
            case ImageResizeMode.IsoCrop:
            {
                // The short side becomes the size; the long one at least the size, so the crop always fits.
                var scale = (double)ImageSize / Math.Min(width, height);
                return (Math.Max(ImageSize, (long)Math.Round(height * scale)), Math.Max(ImageSize, (long)Math.Round(width * scale)));
            }

            case ImageResizeMode.IsoPad:
            {
                // The long side becomes the size; the short one at least 1 pixel, at most the size.
                var scale = (double)ImageSize / Math.Max(width, height);
                return (Math.Clamp((long)Math.Round(height * scale), 1, ImageSize), Math.Clamp((long)Math.Round(width * scale), 1, ImageSize));
            }

            default:
                return (ImageSize, ImageSize);
        }
    }

    /// <summary>The image as planar [C, H, W] floats in [−1, 1], converted to <paramref name="channels"/> channels.</summary>
    private static float[] ToFloats(Image image, int channels)
    {
        var plane = image.Width * image.Height;
        var result = new float[plane * channels];
        var source = image.Pixels;
        var stride = image.Channels;
        var colored = image.Channels >= 3;
        for (var p = 0; p < plane; p++)
        {
            var at = p * stride;

            // Alpha composites onto black: the color scaled by its opacity.
            var opacity = image.HasAlpha ? source[at + stride - 1] / 255f : 1f;
            float r = source[at], g = colored ? source[at + 1] : r, b = colored ? source[at + 2] : r;
            if (channels == 1)
            {
                result[p] = (((0.299f * r) + (0.587f * g) + (0.114f * b)) * opacity / 127.5f) - 1f;
            }
            else
            {
                result[p] = (r * opacity / 127.5f) - 1f;
                result[plane + p] = (g * opacity / 127.5f) - 1f;
                result[(2 * plane) + p] = (b * opacity / 127.5f) - 1f;
            }
        }

        return result;
    }
}
