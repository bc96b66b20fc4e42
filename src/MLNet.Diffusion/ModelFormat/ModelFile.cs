namespace MLNet.Diffusion.ModelFormat;

/// <summary>The model file's constants (docs/model-format.md) and its one kind of error.</summary>
internal static class ModelFile
{
    /// <summary>The format this library writes (and the newest it reads).</summary>
    public const int FormatVersion = 2;

    /// <summary>The manifest's <c>Format</c>.</summary>
    public const string FormatName = "mlnet-diffusion-model";

    /// <summary>The manifest's entry in a format-1 zip.</summary>
    public const string ManifestEntry = "manifest.json";

    /// <summary>The error for a file that is not a valid model: names the file and the reason.</summary>
    public static InvalidDataException Invalid(string path, string reason, Exception? inner = null) =>
        new($"'{path}' is not a valid model: {reason}.", inner);
}
