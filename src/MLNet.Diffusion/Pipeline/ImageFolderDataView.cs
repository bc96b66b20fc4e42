using Microsoft.ML.Data;
using MLNet.Diffusion.Images;

namespace MLNet.Diffusion.Pipeline;

/// <summary>
/// The images of a folder as an ML.NET data view readable by position: one row per image file, in the order
/// <see cref="ImageFolderListing.Read"/> lists them (class sub-folders in ordinal order, then files by ordinal path).
/// </summary>
/// <remarks>
/// <para>Columns, in order:</para>
/// <list type="bullet">
/// <item><c>Path</c>: <see cref="TextDataViewType"/>, the file's path (the folder as given joined with the file's path under it).</item>
/// <item><c>Label</c>, only when the folder has class sub-folders: a key of type U4 with one value per class, raw values
/// 1 .. class count (ML.NET keys are 1-based; 0 is missing), and the KeyValues annotation holding the class (sub-folder)
/// names, so <c>MapKeyToValue</c> gives them.</item>
/// <item><c>Pixels</c>: Single vector [channels, imageSize, imageSize], planar, in [−1, 1] (x / 127.5 − 1), as
/// <see cref="ImageFolderPixels.Load"/> makes it.</item>
/// </list>
/// <para>
/// Only a <c>Pixels</c> getter reads a file, each time it is called, and nothing decoded is kept: a cursor that needs only
/// <c>Path</c> or <c>Label</c> reads no image, and the view never holds the data set in memory. A file that cannot be
/// decoded makes its row's <c>Pixels</c> getter throw <see cref="ImageFolderPixels.Load"/>'s
/// <see cref="InvalidDataException"/>, which names the file.
/// </para>
/// </remarks>
internal sealed class ImageFolderDataView : PositionalDataView
{
    /// <summary>The default name of the file-path column.</summary>
    public const string DefaultPathColumn = "Path";

    /// <summary>The default name of the label column.</summary>
    public const string DefaultLabelColumn = "Label";

    /// <summary>The default name of the pixels column.</summary>
    public const string DefaultPixelsColumn = "Pixels";

    /// <summary>Lists the images under <paramref name="folder"/>; no image is decoded until a <c>Pixels</c> getter is called.</summary>
    /// <param name="folder">The folder: one sub-folder per class, or the images themselves (.png, .jpg, .jpeg).</param>
    /// <param name="imageSize">The side of the square images the <c>Pixels</c> column holds, in pixels; at least 1.</param>
    /// <param name="channels">1 (gray) or 3 (RGB; the default): every image is converted to this.</param>
    /// <param name="resizeMode">How images are brought to the square size; <see cref="Images.ImageResizeMode.IsoCrop"/> by default.</param>
    /// <param name="pathColumn">The name of the file-path column.</param>
    /// <param name="labelColumn">The name of the label column (present only when the folder has class sub-folders).</param>
    /// <param name="pixelsColumn">The name of the pixels column.</param>
    /// <param name="excludedFiles">Files to leave out, by path relative to the folder (see <see cref="ImageFolderListing.Read"/>); null for none.</param>
    /// <exception cref="ArgumentException">
    /// The folder or a column name is empty, two column names are the same, <paramref name="imageSize"/> is not
    /// positive, <paramref name="channels"/> is not 1 or 3, or <paramref name="resizeMode"/> is not defined
    /// (<see cref="ArgumentOutOfRangeException"/> for the last three); the exception names the parameter.
    /// </exception>
    /// <exception cref="DirectoryNotFoundException">The folder does not exist.</exception>
    /// <exception cref="InvalidDataException">No images, an empty class folder, or class folders mixed with loose images.</exception>
    public ImageFolderDataView(
        string folder,
        int imageSize,
        int channels = 3,
        ImageResizeMode resizeMode = ImageResizeMode.IsoCrop,
        string pathColumn = DefaultPathColumn,
        string labelColumn = DefaultLabelColumn,
        string pixelsColumn = DefaultPixelsColumn,
        IEnumerable<string>? excludedFiles = null)
        : this(Plan.Make(folder, imageSize, channels, resizeMode, pathColumn, labelColumn, pixelsColumn, excludedFiles))
    {
    }

    private ImageFolderDataView(Plan plan)
        : base(plan.Listing.Files.Length, plan.Columns())
    {
        (Folder, ImageSize, Channels, ResizeMode) = (plan.Folder, plan.ImageSize, plan.Channels, plan.ResizeMode);
        (Files, ClassNames) = (plan.Listing.Files, plan.Listing.ClassNames);
    }

    /// <summary>The folder read.</summary>
    public string Folder { get; }

    /// <summary>The side of the square images, in pixels.</summary>
    public int ImageSize { get; }

    /// <summary>The channels of the <c>Pixels</c> column: 1 or 3.</summary>
    public int Channels { get; }

    /// <summary>How images are brought to the square size.</summary>
    public ImageResizeMode ResizeMode { get; }

    /// <summary>The image files, in row order.</summary>
    public IReadOnlyList<string> Files { get; }

    /// <summary>The class names (sub-folder names) in label order; empty when the folder is unlabelled (no Label column).</summary>
    public IReadOnlyList<string> ClassNames { get; }

    private sealed record Plan(
        string Folder, ImageFolderListing Listing, int ImageSize, int Channels, ImageResizeMode ResizeMode,
        string PathColumn, string LabelColumn, string PixelsColumn)
    {
        public static Plan Make(
            string folder, int imageSize, int channels, ImageResizeMode resizeMode, string pathColumn, string labelColumn, string pixelsColumn,
            IEnumerable<string>? excludedFiles)
        {
            ArgumentException.ThrowIfNullOrEmpty(folder);
            ArgumentOutOfRangeException.ThrowIfNegativeOrZero(imageSize);
            if (channels is not (1 or 3))
            {
                throw new ArgumentOutOfRangeException(nameof(channels), channels, "Channels must be 1 (gray) or 3 (RGB).");
            }

            if (!Enum.IsDefined(resizeMode))
            {
                throw new ArgumentOutOfRangeException(nameof(resizeMode), resizeMode, $"Unknown resize mode: use one of {string.Join(", ", Enum.GetNames<ImageResizeMode>())}.");
            }

            ArgumentException.ThrowIfNullOrWhiteSpace(pathColumn);
            ArgumentException.ThrowIfNullOrWhiteSpace(labelColumn);
            ArgumentException.ThrowIfNullOrWhiteSpace(pixelsColumn);
            if (labelColumn == pathColumn || pixelsColumn == pathColumn)
            {
                throw new ArgumentException($"The path column and another column are both named '{pathColumn}': give each its own name.", nameof(pathColumn));
            }

            if (pixelsColumn == labelColumn)
            {
                throw new ArgumentException($"The label and pixels columns are both named '{labelColumn}': give each its own name.", nameof(labelColumn));
            }

            return new Plan(folder, ImageFolderListing.Read(folder, excludedFiles), imageSize, channels, resizeMode, pathColumn, labelColumn, pixelsColumn);
        }

        public List<ColumnSource> Columns()
        {
            // Locals, so the callbacks capture neither this plan nor the view.
            var (files, labels, size, channels, mode) = (Listing.Files, Listing.Labels, ImageSize, Channels, ResizeMode);
            var columns = new List<ColumnSource>
            {
                ColumnSource.Create(PathColumn, TextDataViewType.Instance, (long row, ref ReadOnlyMemory<char> value) => value = files[row].AsMemory()),
            };
            if (labels is not null)
            {
                columns.Add(ColumnSource.Key(LabelColumn, Listing.ClassNames.Length, Listing.ClassNames,
                    (long row, ref uint value) => value = (uint)labels[row] + 1));
            }

            var length = channels * size * size;
            columns.Add(ColumnSource.Create(PixelsColumn, new VectorDataViewType(NumberDataViewType.Single, channels, size, size),
                (long row, ref VBuffer<float> value) =>
                {
                    var pixels = ImageFolderPixels.Load(files[row], size, channels, mode);
                    if (pixels.Length != length)
                    {
                        throw new InvalidOperationException(
                            $"Image '{files[row]}' gave {pixels.Length} values instead of {channels}×{size}×{size} = {length}.");
                    }

                    var editor = VBufferEditor.Create(ref value, length);
                    pixels.CopyTo(editor.Values);
                    value = editor.Commit();
                }));
            return columns;
        }
    }
}
