namespace MLNet.Diffusion.Images;

/// <summary>
/// The images of a folder in a fixed order, labelled by class sub-folder when it has them (see
/// <see cref="DiffusionCatalog.LoadImageFolder"/> for the rules); used by the image-folder data view.
/// </summary>
internal sealed class ImageFolderListing
{
    public static readonly IReadOnlyList<string> Extensions = [".png", ".jpg", ".jpeg"];

    private ImageFolderListing(string[] files, long[]? labels, string[] classNames)
    {
        (Files, Labels, ClassNames) = (files, labels, classNames);
    }

    /// <summary>Full paths, in example order.</summary>
    public string[] Files { get; }

    /// <summary>Each file's class, or null when the folder is unlabelled.</summary>
    public long[]? Labels { get; }

    /// <summary>The class sub-folder names in label order; empty when unlabelled.</summary>
    public string[] ClassNames { get; }

    /// <summary>The path of <paramref name="file"/> relative to <paramref name="folder"/> with '/' separators: how exclusions name files.</summary>
    public static string RelativeName(string folder, string file) => Path.GetRelativePath(folder, file).Replace(Path.DirectorySeparatorChar, '/');

    /// <param name="folder">The folder.</param>
    /// <param name="excluded">
    /// Files to leave out, each as its path relative to <paramref name="folder"/> ('/' or the system's separator); a name
    /// that is not one of the folder's images changes nothing. The remaining files keep their order.
    /// </param>
    /// <exception cref="DirectoryNotFoundException">The folder does not exist.</exception>
    /// <exception cref="InvalidDataException">No images, an empty class folder, or class folders mixed with loose images.</exception>
    public static ImageFolderListing Read(string folder, IEnumerable<string>? excluded = null)
    {
        if (!Directory.Exists(folder))
        {
            throw new DirectoryNotFoundException($"Image folder '{folder}' does not exist.");
        }

        var leftOut = new HashSet<string>((excluded ?? []).Select(f => f.Replace(Path.DirectorySeparatorChar, '/')), StringComparer.Ordinal);
        var besides = leftOut.Count == 0 ? string.Empty : " besides the files left out";
        var accepted = string.Join(", ", Extensions);
        var classes = Directory.GetDirectories(folder).Where(d => !Path.GetFileName(d).StartsWith('.')).Order(StringComparer.Ordinal).ToArray();
        string[] Images(string under, SearchOption option) =>
            leftOut.Count == 0 ? ImagesUnder(under, option) : ImagesUnder(under, option).Where(f => !leftOut.Contains(RelativeName(folder, f))).ToArray();

        ImageFolderListing listing;
        if (classes.Length == 0)
        {
            listing = new ImageFolderListing(Images(folder, SearchOption.TopDirectoryOnly), null, []);
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
                var inClass = Images(classes[label], SearchOption.AllDirectories);
                if (inClass.Length == 0)
                {
                    throw new InvalidDataException($"Class folder '{classes[label]}' holds no images{besides} (accepted extensions: {accepted}).");
                }

                files.AddRange(inClass);
                labels.AddRange(Enumerable.Repeat((long)label, inClass.Length));
            }

            listing = new ImageFolderListing(files.ToArray(), labels.ToArray(), classes.Select(c => Path.GetFileName(c)).ToArray());
        }

        if (listing.Files.Length == 0)
        {
            throw new InvalidDataException($"Image folder '{folder}' holds no images{besides}: the accepted extensions are {accepted} (in any case).");
        }

        return listing;
    }

    private static string[] ImagesUnder(string folder, SearchOption option) =>
        Directory.EnumerateFiles(folder, "*", option)
            .Where(f => Extensions.Contains(Path.GetExtension(f), StringComparer.OrdinalIgnoreCase))
            .Where(f => option == SearchOption.TopDirectoryOnly || !Path.GetRelativePath(folder, f).Split(Path.DirectorySeparatorChar).Any(p => p.StartsWith('.')))
            .Order(StringComparer.Ordinal)
            .ToArray();
}
