using MLNet.Diffusion.Data;
using TorchSharp;
using static TorchSharp.torch;

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
    public static readonly IReadOnlyList<string> Extensions = ImageFolderListing.Extensions;

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

        var listing = ImageFolderListing.Read(folder);
        (_files, _labels, ClassNames) = (listing.Files, listing.Labels, listing.ClassNames);
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
    public ITrainingPass OpenPass(ulong seed, long pass, long start)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(start);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(start, Count);
        return new PermutedPass(TrainingOrder.Permutation(seed, pass, Count), start, GetBatch);
    }

    /// <summary>The examples at <paramref name="indices"/>: images [B, C, H, W] and, when labelled, int64 labels [B].</summary>
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

        using var scope = torch.NewDisposeScope();
        using var noGrad = torch.no_grad();
        var images = new Tensor[indices.Count];
        for (var i = 0; i < images.Length; i++)
        {
            images[i] = Example(indices[i]);
        }

        var batch = scope.MoveToOuter(torch.stack(images));
        var labels = _labels is null ? null : scope.MoveToOuter(torch.tensor(indices.Select(i => _labels[i]).ToArray()));
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

    private Tensor Read(string path) =>
        torch.tensor(ImageFolderPixels.Load(path, ImageSize, Channels, ResizeMode), [Channels, ImageSize, ImageSize]);
}
