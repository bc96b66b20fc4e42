using System.IO.Compression;
using System.Text.Json;
using MLNet.Diffusion.Engine;
using MLNet.Diffusion.Images;
using MLNet.Diffusion.IO;
using MLNet.Diffusion.Models;
using MLNet.Diffusion.Onnx;
using MLNet.Diffusion.Training;
using TorchSharp;
using static TorchSharp.torch;

namespace MLNet.Diffusion.ModelFormat;

/// <summary>What a model file holds, read and checked: the network (on the device asked for), the manifest, the pixel encoding and the sampler settings its graph fixes.</summary>
/// <param name="Network">The network with the file's weights; the caller owns it.</param>
/// <param name="Manifest">The manifest.</param>
/// <param name="Preprocessing">The manifest's pixel encoding, checked against the network.</param>
/// <param name="FixedIn">The sampler settings fixed in the generator graph; null for a format-1 file or a graph that records none.</param>
internal sealed record ModelFileContent(UNet2D Network, ModelManifest Manifest, PixelEncoding Preprocessing, GeneratorSettings? FixedIn);

/// <summary>
/// Reads a model zip, checking everything before any weight is used: the format and its version, entry names (none may
/// leave the archive), entry sizes, the configuration, and every tensor's name, shape and type. Reads ML.NET's model zip
/// with a generator graph in it (format 2) and the previous format 1 (manifest.json and safetensors). Parses only: no
/// code from the file runs, no file is written. Every failure is an <see cref="InvalidDataException"/> naming the file.
/// </summary>
internal static class ModelFileReader
{
    /// <summary>Reads the model file at <paramref name="path"/> onto <paramref name="device"/> (cpu, cuda, cuda:N or auto).</summary>
    /// <exception cref="FileNotFoundException">The file does not exist.</exception>
    /// <exception cref="InvalidDataException">The file is not a valid model; the message names the file and the reason.</exception>
    public static ModelFileContent Read(string path, string device, long maxEntryBytes)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        if (!File.Exists(path))
        {
            throw new FileNotFoundException(Directory.Exists(path)
                ? $"'{path}' is a folder; a model is one .zip file{ZipsIn(path)}."
                : $"Model file '{path}' does not exist.", path);
        }

        var target = Devices.Parse(device);
        target.EnsureAvailable();
        try
        {
            using var zip = ZipFile.OpenRead(path);
            foreach (var entry in zip.Entries)
            {
                CheckEntry(entry, maxEntryBytes, path);
            }

            UNet2D network;
            ModelManifest manifest;
            GeneratorSettings? graphSettings = null;
            if (zip.GetEntry(ModelFile.ManifestEntry) is { } manifestEntry)
            {
                // Format version 1: our own zip (manifest.json + safetensors).
                manifest = ReadManifest(ReadAll(manifestEntry, 1 << 20), path);
                network = ReadNetwork(zip, manifest.Weights, manifest.Model.Validated(), path, target)
                    ?? throw ModelFile.Invalid(path, $"the manifest names weights '{manifest.Weights}' but the archive has no such entry");
            }
            else
            {
                // Format version 2: ML.NET's model zip with the generator graph; the weights are its initializers.
                var graph = OnnxModelFile.Find(zip, path)
                    ?? throw ModelFile.Invalid(path, "it holds neither an MLNet.Diffusion generator graph nor a manifest.json (is it a model saved by MLNet.Diffusion?)");
                var json = OnnxModelFile.Metadata(graph, OnnxModelFile.ManifestKey)!;
                manifest = ReadManifest(System.Text.Encoding.UTF8.GetBytes(json), path);
                graphSettings = OnnxModelFile.Settings(graph, path);
                var weights = OnnxModelFile.Weights(graph, path);
                try
                {
                    network = LoadNetwork(weights, manifest.Model.Validated(), path, "the graph's initializers", target);
                }
                finally
                {
                    foreach (var tensor in weights.Values)
                    {
                        tensor.Dispose();
                    }
                }
            }

            try
            {
                return new ModelFileContent(network, manifest, manifest.Preprocessing.ToEncoding(path, manifest.Model), graphSettings);
            }
            catch
            {
                network.Dispose();
                throw;
            }
        }
        catch (InvalidDataException ex) when (!ex.Message.StartsWith($"'{path}'", StringComparison.Ordinal))
        {
            if (TrainingCheckpoint.IsCheckpointFile(path))
            {
                throw ModelFile.Invalid(path, "it is a training checkpoint (TrainingCheckpoint), not a model file: DiffusionModel.FromCheckpoint makes a model " +
                    "of its moving-average weights, and DdpmTrainer.Resume continues its run", ex);
            }

            if (string.Equals(Path.GetExtension(path), ".onnx", StringComparison.OrdinalIgnoreCase))
            {
                throw ModelFile.Invalid(path, "it is not a zip: an .onnx file holds a generator graph alone (what export writes), and models are read from " +
                    "the model .zip that holds it", ex);
            }

            throw ModelFile.Invalid(path, StartsLikeAZip(path)
                ? $"the archive is damaged or truncated ({ex.Message})"
                : "it is not a zip archive: a model file is the .zip that training saves (DiffusionModel.Save, mlContext.Model.Save)", ex);
        }
        catch (ArgumentException ex)
        {
            throw ModelFile.Invalid(path, ex.Message, ex);
        }
    }

    // " (it holds a.zip, b.zip)" for a folder with zips in it, to point at the file probably meant.
    private static string ZipsIn(string folder)
    {
        var zips = Directory.GetFiles(folder, "*.zip").Select(Path.GetFileName).Order(StringComparer.Ordinal).Take(5).ToList();
        return zips.Count == 0 ? string.Empty : $" (it holds {string.Join(", ", zips)})";
    }

    // Whether the file begins with a zip's local-header signature, PK\x03\x04.
    private static bool StartsLikeAZip(string path)
    {
        Span<byte> head = stackalloc byte[4];
        using var stream = File.OpenRead(path);
        return stream.ReadAtLeast(head, 4, throwOnEndOfStream: false) == 4 && head.SequenceEqual("PK\u0003\u0004"u8);
    }

    private static void CheckEntry(ZipArchiveEntry entry, long maxEntryBytes, string path)
    {
        var name = entry.FullName;
        var segments = name.Split('/', '\\');
        if (name.Length == 0 || Path.IsPathRooted(name) || name.Contains('\\', StringComparison.Ordinal) || segments.Any(s => s is ".." || s.Contains(':', StringComparison.Ordinal)))
        {
            throw ModelFile.Invalid(path, $"entry '{name}' would escape the archive");
        }

        if (entry.Length > maxEntryBytes || entry.Length < 0)
        {
            throw ModelFile.Invalid(path, $"entry '{name}' claims {entry.Length} bytes, over the limit of {maxEntryBytes}");
        }
    }

    private static ModelManifest ReadManifest(byte[] json, string path)
    {
        if (json.Length > 1 << 20)
        {
            throw ModelFile.Invalid(path, $"its manifest is {json.Length} bytes, over the 1 MiB limit");
        }

        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(json);
        }
        catch (JsonException ex)
        {
            throw ModelFile.Invalid(path, $"its manifest is not JSON ({ex.Message})", ex);
        }

        using var parsed = document;
        var root = document.RootElement;
        if (root.ValueKind != JsonValueKind.Object || !root.TryGetProperty(nameof(ModelManifest.Format), out var format) || format.GetString() != ModelFile.FormatName)
        {
            throw ModelFile.Invalid(path, $"its {ModelFile.ManifestEntry} is not an {ModelFile.FormatName} manifest");
        }

        var version = root.TryGetProperty(nameof(ModelManifest.FormatVersion), out var v) && v.TryGetInt32(out var n) ? n : -1;
        if (version > ModelFile.FormatVersion)
        {
            throw ModelFile.Invalid(path, $"it has format version {version}, newer than this library reads ({ModelFile.FormatVersion}); upgrade MLNet.Diffusion");
        }

        if (version < 1)
        {
            throw ModelFile.Invalid(path, $"its format version is missing or invalid");
        }

        try
        {
            return root.Deserialize<ModelManifest>(JsonSettings.Options) ?? throw ModelFile.Invalid(path, "its manifest is empty");
        }
        catch (JsonException ex)
        {
            throw ModelFile.Invalid(path, $"its manifest does not describe a model ({ex.Message})", ex);
        }
    }

    private static UNet2D? ReadNetwork(ZipArchive zip, string entryName, UNetConfig config, string path, Device device)
    {
        var entry = zip.GetEntry(entryName);
        if (entry is null)
        {
            return null;
        }

        using var content = Safetensors.Deserialize(ReadAll(entry), $"{path}:{entryName}");
        return LoadNetwork(content.Tensors, config, path, entryName, device);
    }

    private static UNet2D LoadNetwork(IReadOnlyDictionary<string, Tensor> weights, UNetConfig config, string path, string source, Device device)
    {
        var network = new UNet2D(config);
        try
        {
            var wrongType = weights.Where(p => p.Value.dtype != ScalarType.Float32).Select(p => $"{p.Key} is {p.Value.dtype.Name()}").ToList();
            if (wrongType.Count > 0)
            {
                throw ModelFile.Invalid(path, $"{source} holds tensors that are not float32: {string.Join(", ", wrongType)}");
            }

            network.LoadStateDict(weights);
            network.to(device);
            network.eval();
            return network;
        }
        catch
        {
            network.Dispose();
            throw;
        }
    }

    private static byte[] ReadAll(ZipArchiveEntry entry, long limit)
    {
        if (entry.Length > limit)
        {
            throw new InvalidDataException($"entry '{entry.FullName}' is {entry.Length} bytes, over the {limit}-byte limit");
        }

        return ReadAll(entry);
    }

    private static byte[] ReadAll(ZipArchiveEntry entry)
    {
        using var stream = entry.Open();
        return BoundedRead.Exactly(stream, entry.Length, $"entry '{entry.FullName}'");
    }
}
