using MLNet.Diffusion.Data;

namespace MLNet.Diffusion.Pipelines;

/// <summary>Data views: loading them from folders, IDX files and sequences; caching, shuffling and taking their rows.</summary>
[System.Diagnostics.CodeAnalysis.SuppressMessage("Performance", "CA1822:Mark members as static", Justification = "Catalog methods are instance methods, as in ML.NET: context.Transforms.LoadImages(...).")]
public sealed class DataOperationsCatalog
{
    private readonly DiffusionContext _context;

    internal DataOperationsCatalog(DiffusionContext context) => _context = context;

    /// <summary>
    /// The image files under <paramref name="folder"/> (.png, .jpg, .jpeg), one row each: a text column of paths relative to the
    /// folder and, when the folder has one sub-folder per class, a key column of labels (classes numbered in the ordinal order
    /// of the sub-folder names). Nothing is decoded here: append <see cref="TransformsCatalog.LoadImages"/> with the same folder.
    /// Rows are in the ordinal order of the paths and can be read by position, so a folder larger than memory trains.
    /// </summary>
    /// <exception cref="DirectoryNotFoundException">The folder does not exist.</exception>
    /// <exception cref="InvalidDataException">No images, an empty class folder, or class folders mixed with loose images.</exception>
    public IDataView LoadFromImageFolder(string folder, string pathColumnName = "Path", string labelColumnName = "Label")
    {
        ArgumentException.ThrowIfNullOrEmpty(folder);
        ArgumentException.ThrowIfNullOrEmpty(pathColumnName);
        ArgumentException.ThrowIfNullOrEmpty(labelColumnName);
        return DataViews.FromImageFolder(folder, pathColumnName, labelColumnName);
    }

    /// <summary>
    /// Images from an IDX file (uint8 [N, H, W] or [N, H, W, C], plain or gzip), one row each, and optionally their labels from a
    /// second IDX file (uint8 [N]) as a key column with max + 1 classes. Fashion-MNIST's files are of this kind.
    /// </summary>
    /// <exception cref="InvalidDataException">A file is missing, malformed, or of another type or shape; the message names it.</exception>
    public IDataView LoadFromIdx(string imagesPath, string? labelsPath = null, string imageColumnName = "Image", string labelColumnName = "Label")
    {
        ArgumentException.ThrowIfNullOrEmpty(imagesPath);
        ArgumentException.ThrowIfNullOrEmpty(imageColumnName);
        ArgumentException.ThrowIfNullOrEmpty(labelColumnName);
        return DataViews.FromIdx(imagesPath, labelsPath, imageColumnName, labelColumnName);
    }

    /// <summary>
    /// A view of <paramref name="data"/>, one row per item, one column per public property (string → Text; int, long →
    /// WholeNumber; float, double → RealNumber; <see cref="Image"/> → Image; float[] → Vector), or the columns of
    /// <paramref name="schema"/> when given (to declare sizes, keys and pixel encodings). A list gives access by position;
    /// any other sequence is read from the start each time (cache it to train on it).
    /// </summary>
    /// <exception cref="ArgumentException">A property has an unsupported type, or a schema column has no property.</exception>
    public IDataView LoadFromEnumerable<T>(IEnumerable<T> data, DataViewSchema? schema = null)
        where T : class
    {
        ArgumentNullException.ThrowIfNull(data);
        return DataViews.FromEnumerable(data, schema);
    }

    /// <summary>
    /// Reads every row of <paramref name="input"/> once and keeps them in memory: later reads decode and transform nothing.
    /// Caching is explicit because it takes memory in proportion to the data.
    /// </summary>
    public IDataView Cache(IDataView input)
    {
        ArgumentNullException.ThrowIfNull(input);
        return DataViews.Cache(input);
    }

    /// <summary>The rows of <paramref name="input"/> in an order drawn from <paramref name="seed"/> (else the context's, else a random one).</summary>
    /// <exception cref="ArgumentException">The view has no access by position (cache it first).</exception>
    public IDataView ShuffleRows(IDataView input, ulong? seed = null)
    {
        ArgumentNullException.ThrowIfNull(input);
        return DataViews.Shuffle(input, seed ?? _context.Seed ?? (ulong)Random.Shared.NextInt64());
    }

    /// <summary>The first <paramref name="count"/> rows of <paramref name="input"/> (all of them when it has fewer).</summary>
    public IDataView TakeRows(IDataView input, long count)
    {
        ArgumentNullException.ThrowIfNull(input);
        return DataViews.Take(input, count);
    }
}
