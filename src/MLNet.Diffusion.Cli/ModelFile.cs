using System.IO.Compression;
using System.Text.Json;
using Google.Protobuf;
using MLNet.Diffusion.Data;
using MLNet.Diffusion.Onnx;

namespace MLNet.Diffusion.Cli;

/// <summary>
/// What a model file is beyond what <see cref="DiffusionModel.Load"/> returns: its size, its format version and, from
/// version 2 on, the generator graph with the sampler settings fixed in it. Read after <see cref="DiffusionModel.Load"/>
/// has accepted the file; anything unreadable is an <see cref="InvalidDataException"/> naming the file.
/// </summary>
internal sealed record ModelFile(string Path, long Bytes, int FormatVersion, global::Onnx.ModelProto? Graph, GeneratorSettings? Sampler)
{
    private const string ManifestEntry = "manifest.json";

    /// <summary>The graph's ONNX bytes (null for a version-1 file, which holds none).</summary>
    public byte[]? GraphBytes => Graph?.ToByteArray();

    /// <summary>Reads the file at <paramref name="path"/>.</summary>
    /// <exception cref="InvalidDataException">The file is not a model this library reads.</exception>
    public static ModelFile Read(string path)
    {
        try
        {
            var bytes = new FileInfo(path).Length;
            using var zip = ZipFile.OpenRead(path);
            if (zip.GetEntry(ManifestEntry) is { } manifest)
            {
                if (manifest.Length > 1 << 20)
                {
                    throw Invalid(path, $"its {ManifestEntry} is over the 1 MiB limit");
                }

                using var stream = manifest.Open();
                using var document = JsonDocument.Parse(stream);
                return new ModelFile(path, bytes, Version(document, path), null, null);
            }

            var graph = OnnxModelFile.Find(zip, path) ?? throw Invalid(path, "it holds no MLNet.Diffusion generator graph");
            int version;
            using (var document = JsonDocument.Parse(OnnxModelFile.Metadata(graph, OnnxModelFile.ManifestKey)!))
            {
                version = Version(document, path);
            }

            var sampler = OnnxModelFile.Settings(graph, path)
                ?? throw Invalid(path, $"its generator graph has no sampler settings (metadata '{OnnxModelFile.SamplerKey}')");
            return new ModelFile(path, bytes, version, graph, sampler);
        }
        catch (JsonException ex)
        {
            throw Invalid(path, $"its metadata is not valid JSON ({ex.Message})", ex);
        }
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

    private static int Version(JsonDocument manifest, string path) =>
        manifest.RootElement.ValueKind == JsonValueKind.Object && manifest.RootElement.TryGetProperty(nameof(FormatVersion), out var v) && v.TryGetInt32(out var n)
            ? n
            : throw Invalid(path, "its manifest has no format version");

    private static InvalidDataException Invalid(string path, string reason, Exception? inner = null) =>
        new($"'{path}' is not a valid model: {reason}.", inner);
}
