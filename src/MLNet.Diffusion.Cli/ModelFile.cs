using System.IO.Compression;
using System.Text.Json;
using System.Text.Json.Serialization;
using Google.Protobuf;
using MLNet.Diffusion.Data;
using MLNet.Diffusion.Onnx;

namespace MLNet.Diffusion.Cli;

/// <summary>The sampler settings a generator graph fixes (the JSON under <see cref="OnnxModelFile.SamplerKey"/>).</summary>
internal sealed record GraphSampler(SamplerKind Sampler, int Steps, double Guidance, int[] Timesteps);

/// <summary>
/// What a model file is beyond what <see cref="DiffusionModel.Load"/> returns: its size, its format version and, from
/// version 2 on, the generator graph with the sampler settings fixed in it. Read after <see cref="DiffusionModel.Load"/>
/// has accepted the file; anything unreadable is an <see cref="InvalidDataException"/> naming the file.
/// </summary>
internal sealed record ModelFile(string Path, long Bytes, int FormatVersion, global::Onnx.ModelProto? Graph, GraphSampler? Sampler)
{
    private const string ManifestEntry = "manifest.json";

    private static readonly JsonSerializerOptions s_json = new() { Converters = { new JsonStringEnumConverter() } };

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

            var json = OnnxModelFile.Metadata(graph, OnnxModelFile.SamplerKey)
                ?? throw Invalid(path, $"its generator graph has no sampler settings (metadata '{OnnxModelFile.SamplerKey}')");
            var sampler = JsonSerializer.Deserialize<GraphSampler>(json, s_json);
            if (sampler is null || sampler.Sampler is not (SamplerKind.Ddim or SamplerKind.DpmSolverPlusPlus) || sampler.Steps < 1 ||
                !double.IsFinite(sampler.Guidance) || sampler.Guidance < 0 || sampler.Timesteps?.Length != sampler.Steps)
            {
                throw Invalid(path, $"the sampler settings of its generator graph are not valid ({json})");
            }

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
        var plane = size * size;
        var images = new Image[count];
        for (var n = 0; n < count; n++)
        {
            var image = new Image(size, size, channels);
            var target = image.Pixels;
            var start = n * channels * plane;
            for (var c = 0; c < channels; c++)
            {
                for (var i = 0; i < plane; i++)
                {
                    var value = pixels[start + (c * plane) + i];
                    if (float.IsNaN(value))
                    {
                        throw new InvalidOperationException("The images hold NaN values (did sampling diverge?).");
                    }

                    target[(i * channels) + c] = (byte)Math.Clamp(MathF.Round(value), 0, 255);
                }
            }

            images[n] = image;
        }

        return images;
    }

    private static int Version(JsonDocument manifest, string path) =>
        manifest.RootElement.ValueKind == JsonValueKind.Object && manifest.RootElement.TryGetProperty(nameof(FormatVersion), out var v) && v.TryGetInt32(out var n)
            ? n
            : throw Invalid(path, "its manifest has no format version");

    private static InvalidDataException Invalid(string path, string reason, Exception? inner = null) =>
        new($"'{path}' is not a valid model: {reason}.", inner);
}
