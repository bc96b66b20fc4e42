using Microsoft.ML.Data;
using Microsoft.Win32.SafeHandles;
using System.Buffers;
using MLNet.Diffusion.Datasets;
using MLNet.Diffusion.Images;

namespace MLNet.Diffusion.Pipeline;

/// <summary>
/// Images, and optionally labels, from MNIST-style IDX files (see <see cref="IdxFile"/> for the format) as an ML.NET
/// data view readable by position: an image file of unsigned bytes [N, height, width] and a label file of unsigned
/// bytes [N].
/// </summary>
/// <remarks>
/// <para>Columns, in order:</para>
/// <list type="bullet">
/// <item><c>Pixels</c>: Single vector [1, height, width], in [−1, 1] (x / 127.5 − 1).</item>
/// <item><c>Label</c>, only with a label file: a key of type U4 whose raw value is the stored label + 1 (ML.NET keys are
/// 1-based; 0 is missing), with as many values as classes, and the KeyValues annotation when the class names are known.</item>
/// </list>
/// <para>
/// Each <c>Pixels</c> getter call reads its row from the file with a positioned read; the view keeps only the file
/// handle and the labels (N bytes). A gzip-compressed file is read from its decompressed copy in <see cref="IdxCache"/>,
/// made by the first open and reused by later ones.
/// </para>
/// <para>
/// Disposing the view closes its files; a view that is not disposed closes them when it is garbage-collected.
/// </para>
/// </remarks>
internal sealed class IdxDataView : PositionalDataView, IDisposable
{
    /// <summary>The default name of the pixels column.</summary>
    public const string DefaultPixelsColumn = "Pixels";

    /// <summary>The default name of the label column.</summary>
    public const string DefaultLabelColumn = "Label";

    private readonly SafeFileHandle _images;

    private IdxDataView(Source source)
        : base(source.Count, source.Columns())
    {
        _images = source.Images;
        (ImagesPath, LabelsPath, Height, Width, ClassNames) = (source.ImagesPath, source.LabelsPath, source.Height, source.Width, source.ClassNames);
        ImagesDataPath = source.ImagesDataPath;
    }

    /// <summary>The image file as given.</summary>
    public string ImagesPath { get; }

    /// <summary>The label file as given, or null.</summary>
    public string? LabelsPath { get; }

    /// <summary>The file the images are read from: <see cref="ImagesPath"/>, or its decompressed cache when it is gzip-compressed.</summary>
    public string ImagesDataPath { get; }

    /// <summary>The height of every image, in pixels.</summary>
    public int Height { get; }

    /// <summary>The width of every image, in pixels.</summary>
    public int Width { get; }

    /// <summary>The class names in label order, or null when not known (or without labels).</summary>
    public IReadOnlyList<string>? ClassNames { get; }

    /// <summary>Opens a pair of IDX files (plain or gzip-compressed); rows are read from the files as cursors ask for them.</summary>
    /// <param name="imagesPath">An IDX file of unsigned bytes [N, height, width].</param>
    /// <param name="labelsPath">An IDX file of unsigned bytes [N], or null for a view without a Label column.</param>
    /// <param name="limit">The number of rows, the first ones of the files, at least 1; null (or more than N) for all.</param>
    /// <param name="classCount">
    /// The number of label classes (the key count), at least 1; when null, the length of <paramref name="classNames"/>
    /// if given, else the largest label in the file + 1.
    /// </param>
    /// <param name="classNames">The class names in label order (the KeyValues annotation), or null for none.</param>
    /// <param name="pixelsColumn">The name of the pixels column.</param>
    /// <param name="labelColumn">The name of the label column.</param>
    /// <param name="cacheDirectory">Where to cache decompressed copies of compressed files; <see cref="IdxCache.DefaultDirectory"/> when null.</param>
    /// <exception cref="ArgumentException">
    /// A path or column name is empty, the column names are the same, <paramref name="limit"/> or
    /// <paramref name="classCount"/> is not positive (<see cref="ArgumentOutOfRangeException"/>), or
    /// <paramref name="classNames"/> does not hold <paramref name="classCount"/> names.
    /// </exception>
    /// <exception cref="FileNotFoundException">A file does not exist.</exception>
    /// <exception cref="InvalidDataException">
    /// A file cannot be read or is malformed (a bad magic number, an element type other than unsigned bytes, the wrong
    /// number of dimensions, a truncated file or bytes after the data, corrupt gzip data), the two files hold different
    /// counts, or a label is not below the class count; the message names the file and says why.
    /// </exception>
    public static IdxDataView Open(
        string imagesPath,
        string? labelsPath = null,
        int? limit = null,
        int? classCount = null,
        IReadOnlyList<string>? classNames = null,
        string pixelsColumn = DefaultPixelsColumn,
        string labelColumn = DefaultLabelColumn,
        string? cacheDirectory = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(imagesPath);
        if (labelsPath is not null)
        {
            ArgumentException.ThrowIfNullOrEmpty(labelsPath);
        }

        if (limit is < 1)
        {
            throw new ArgumentOutOfRangeException(nameof(limit), limit, "Read at least one row (or pass null for all).");
        }

        if (classCount is < 1)
        {
            throw new ArgumentOutOfRangeException(nameof(classCount), classCount, "There must be at least one class (or pass null to count them).");
        }

        if (classNames is not null && classCount is not null && classNames.Count != classCount)
        {
            throw new ArgumentException($"{classNames.Count} class names were given for {classCount} classes.", nameof(classNames));
        }

        ArgumentException.ThrowIfNullOrWhiteSpace(pixelsColumn);
        ArgumentException.ThrowIfNullOrWhiteSpace(labelColumn);
        if (pixelsColumn == labelColumn)
        {
            throw new ArgumentException($"The pixels and label columns are both named '{pixelsColumn}': give each its own name.", nameof(labelColumn));
        }

        var cache = cacheDirectory ?? IdxCache.DefaultDirectory;
        var source = new Source { ImagesPath = imagesPath, LabelsPath = labelsPath, PixelsColumn = pixelsColumn, LabelColumn = labelColumn };
        try
        {
            source.ImagesDataPath = IdxCache.Decompressed(imagesPath, cache);
            source.Images = OpenData(source.ImagesDataPath, imagesPath);
            var images = ReadHeader(source.Images, imagesPath, "an image file", "[N, height, width]", rank: 3);
            (source.Height, source.Width, source.ImagesOffset) = (images.Dimensions[1], images.Dimensions[2], images.DataOffset);
            if ((long)source.Height * source.Width > Array.MaxLength)
            {
                throw IdxHeader.Invalid(imagesPath, $"its images are {source.Height}×{source.Width}, more pixels than one array can hold");
            }

            var total = images.Dimensions[0];
            source.Count = Math.Min(total, limit ?? total);
            if (labelsPath is not null)
            {
                using var labelsHandle = OpenData(IdxCache.Decompressed(labelsPath, cache), labelsPath);
                var labels = ReadHeader(labelsHandle, labelsPath, "a label file", "[N]", rank: 1);
                if (labels.Dimensions[0] != total)
                {
                    throw new InvalidDataException(
                        $"IDX files disagree: '{imagesPath}' holds {total} images but '{labelsPath}' holds {labels.Dimensions[0]} labels; give one label per image.");
                }

                // All labels are read (N bytes) so the key count does not depend on the limit; the view keeps its rows'.
                var all = new byte[total];
                ReadExactly(labelsHandle, all, labels.DataOffset, labelsPath);
                var largest = all.Length == 0 ? 0 : all.Max();
                var count = classCount ?? classNames?.Count ?? largest + 1;
                if (largest >= count)
                {
                    var index = Array.IndexOf(all, (byte)largest);
                    throw new InvalidDataException(
                        $"IDX label file '{labelsPath}' is invalid: label {largest} at index {index} is outside the {count} classes 0..{count - 1}.");
                }

                (source.Labels, source.ClassCount, source.ClassNames) = (all[..(int)source.Count], count, classNames?.ToArray());
            }

            return new IdxDataView(source);
        }
        catch
        {
            source.Images?.Dispose();
            throw;
        }
    }

    /// <summary>
    /// Fashion-MNIST's training (60,000) or test (10,000) images as 28×28 <c>Pixels</c>, with a <c>Label</c> key of
    /// <see cref="FashionMnist.ClassCount"/> values named by <see cref="FashionMnist.ClassNames"/>; see <see cref="Open"/>.
    /// </summary>
    /// <param name="train">True for the training files, false for the test files.</param>
    /// <param name="limit">The number of rows, the first ones, at least 1; null for all.</param>
    /// <param name="directory">The folder holding the four files; <see cref="FashionMnist.DefaultDirectory"/> when null.</param>
    /// <param name="pixelsColumn">The name of the pixels column.</param>
    /// <param name="labelColumn">The name of the label column.</param>
    /// <param name="cacheDirectory">Where to cache the decompressed files; <see cref="IdxCache.DefaultDirectory"/> when null.</param>
    /// <exception cref="DirectoryNotFoundException">The folder is missing; the message says how to install the data set.</exception>
    /// <exception cref="FileNotFoundException">A file is missing.</exception>
    /// <exception cref="InvalidDataException">A file is malformed, its images are not 28×28, or a label is outside 0..9.</exception>
    public static IdxDataView OpenFashionMnist(
        bool train = true,
        int? limit = null,
        string? directory = null,
        string pixelsColumn = DefaultPixelsColumn,
        string labelColumn = DefaultLabelColumn,
        string? cacheDirectory = null)
    {
        var folder = directory ?? FashionMnist.DefaultDirectory;
        if (!Directory.Exists(folder))
        {
            throw new DirectoryNotFoundException(
                $"The Fashion-MNIST folder '{folder}' does not exist: install Debian's dataset-fashion-mnist (./build.sh does), " +
                "or pass the folder that holds its four files.");
        }

        var images = Path.Combine(folder, train ? FashionMnist.TrainImagesFileName : FashionMnist.TestImagesFileName);
        var labels = Path.Combine(folder, train ? FashionMnist.TrainLabelsFileName : FashionMnist.TestLabelsFileName);
        var view = Open(images, labels, limit, FashionMnist.ClassCount, FashionMnist.ClassNames, pixelsColumn, labelColumn, cacheDirectory);
        if (view.Height != FashionMnist.ImageSize || view.Width != FashionMnist.ImageSize)
        {
            view.Dispose();
            throw new InvalidDataException(
                $"Fashion-MNIST images file '{images}' is invalid: its images are {view.Height}×{view.Width}, not {FashionMnist.ImageSize}×{FashionMnist.ImageSize}.");
        }

        return view;
    }

    /// <summary>Closes the image file; cursors read after this throw <see cref="ObjectDisposedException"/>.</summary>
    public void Dispose() => _images.Dispose();

    private static SafeFileHandle OpenData(string dataPath, string source)
    {
        try
        {
            return File.OpenHandle(dataPath, FileMode.Open, FileAccess.Read, FileShare.Read, FileOptions.RandomAccess);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw IdxHeader.Invalid(source, $"it cannot be read: {ex.Message.TrimEnd('.')}", ex);
        }
    }

    /// <summary>Reads and checks an IDX header of unsigned bytes with <paramref name="rank"/> dimensions, and the file's length.</summary>
    private static IdxHeader ReadHeader(SafeFileHandle handle, string source, string what, string shape, int rank)
    {
        long position = 0;
        var header = IdxHeader.ReadUnsignedBytes(buffer =>
        {
            var read = RandomAccess.Read(handle, buffer, position);
            position += read;
            return read;
        }, source, what, shape, rank);
        header.CheckDataLength(source, RandomAccess.GetLength(handle) - header.DataOffset);
        return header;
    }

    private static void ReadExactly(SafeFileHandle handle, Span<byte> buffer, long offset, string source)
    {
        while (!buffer.IsEmpty)
        {
            var read = RandomAccess.Read(handle, buffer, offset);
            if (read == 0)
            {
                throw IdxHeader.Invalid(source, $"it ends before byte {offset + buffer.Length} (was it truncated after it was opened?)");
            }

            buffer = buffer[read..];
            offset += read;
        }
    }

    /// <summary>What <see cref="Open"/> found, passed to the constructor (the columns' callbacks capture it, not the view).</summary>
    private sealed class Source
    {
        public required string ImagesPath { get; init; }

        public required string? LabelsPath { get; init; }

        public required string PixelsColumn { get; init; }

        public required string LabelColumn { get; init; }

        public string ImagesDataPath { get; set; } = "";

        public SafeFileHandle Images { get; set; } = null!;

        public long ImagesOffset { get; set; }

        public int Height { get; set; }

        public int Width { get; set; }

        public long Count { get; set; }

        public byte[]? Labels { get; set; }

        public int ClassCount { get; set; }

        public string[]? ClassNames { get; set; }

        public List<ColumnSource> Columns()
        {
            var (handle, offset, length, source) = (Images, ImagesOffset, Height * Width, ImagesPath);
            var columns = new List<ColumnSource>
            {
                ColumnSource.Create(PixelsColumn, new VectorDataViewType(NumberDataViewType.Single, 1, Height, Width),
                    (long row, ref VBuffer<float> value) =>
                    {
                        var bytes = ArrayPool<byte>.Shared.Rent(length);
                        try
                        {
                            ReadExactly(handle, bytes.AsSpan(0, length), offset + (row * length), source);
                            var editor = VBufferEditor.Create(ref value, length);
                            for (var i = 0; i < length; i++)
                            {
                                editor.Values[i] = PixelEncoding.ToModelSpace(bytes[i]);
                            }

                            value = editor.Commit();
                        }
                        finally
                        {
                            ArrayPool<byte>.Shared.Return(bytes);
                        }
                    }),
            };
            if (Labels is { } labels)
            {
                columns.Add(ColumnSource.Key(LabelColumn, ClassCount, ClassNames, (long row, ref uint value) => value = labels[row] + 1u));
            }

            return columns;
        }
    }
}
