using System.IO.Compression;
using Google.Protobuf;
using MLNet.Diffusion.Onnx;
using MLNet.Diffusion.Images;

namespace MLNet.Diffusion.Cli;

/// <summary>
/// What the commands need of a model file beyond the model <see cref="DiffusionModel.Load"/> returns, which already
/// records the file's format version and the sampler settings fixed in its graph: the graph itself, read again only
/// when it is run, and the images of ONNX Runtime's pixels. Anything unreadable is an <see cref="InvalidDataException"/>
/// naming the file.
/// </summary>
internal static class ModelFile
{
    /// <summary>
    /// The sampler settings fixed in the graph of the file <paramref name="model"/> was loaded from (null for a
    /// format-1 file, which holds no graph).
    /// </summary>
    /// <exception cref="InvalidDataException">The file holds a graph that records no sampler settings.</exception>
    public static (SamplerKind Sampler, int Steps, double Guidance)? FixedSampler(DiffusionModel model, string path) =>
        model.LoadedFormatVersion is null or < 2
            ? null
            : model.LoadedSampler is { } s
                ? (Enum.Parse<SamplerKind>(s.Sampler), s.Steps, s.Guidance)
                : throw Invalid(path, $"its generator graph has no sampler settings (metadata '{OnnxModelFile.SamplerKey}')");

    /// <summary>The ONNX bytes of the generator graph in the model file at <paramref name="path"/> (format 2).</summary>
    /// <exception cref="InvalidDataException">The file holds no generator graph.</exception>
    public static byte[] GraphBytes(string path)
    {
        using var zip = ZipFile.OpenRead(path);
        return (OnnxModelFile.Find(zip, path) ?? throw Invalid(path, "it holds no MLNet.Diffusion generator graph")).ToByteArray();
    }

    /// <summary>
    /// The images of <paramref name="count"/> planar 0–255 pixel vectors (<see cref="OnnxGenerator.Generate"/>'s output).
    /// </summary>
    /// <exception cref="InvalidOperationException">A value is not a number (sampling diverged).</exception>
    public static Image[] ToImages(float[] pixels, int count, int channels, int size)
    {
        var length = channels * size * size;
        return [.. Enumerable.Range(0, count).Select(n => ImagePixels.ToImage(pixels.AsSpan(n * length, length), size, size, channels, ToByte))];
    }

    private static byte ToByte(float value) => float.IsNaN(value)
        ? throw new InvalidOperationException("The images hold NaN values (did sampling diverge?).")
        : (byte)Math.Clamp(MathF.Round(value), 0, 255);

    private static InvalidDataException Invalid(string path, string reason) => new($"'{path}' is not a valid model: {reason}.");
}
