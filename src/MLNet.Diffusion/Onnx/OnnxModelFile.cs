using System.IO.Compression;
using System.Runtime.InteropServices;
using System.Text.Json;
using Google.Protobuf;
using Onnx;
using TorchSharp;
using static TorchSharp.torch;
using MLNet.Diffusion.Sampling;
using MLNet.Diffusion.IO;

namespace MLNet.Diffusion.Onnx;

/// <summary>The sampler settings a generator graph fixes, stored as JSON under <see cref="OnnxModelFile.SamplerKey"/>.</summary>
/// <param name="Sampler">The deterministic sampler's name.</param>
/// <param name="Steps">The grid's steps.</param>
/// <param name="Guidance">Classifier-free guidance's scale.</param>
/// <param name="Timesteps">
/// The whole grid, noisiest first, one entry per network evaluation (Heun's 2·Steps − 1; an image-to-image graph runs its last ⌊Steps × Strength⌋).
/// </param>
/// <param name="Task">"edit" or "inpaint" for an editing graph (image and mask inputs); null for a generator.</param>
/// <param name="Strength">An image-to-image graph's strength; null otherwise.</param>
internal sealed record GeneratorSettings(string Sampler, int Steps, double Guidance, int[] Timesteps, string? Task = null, double? Strength = null);

/// <summary>
/// Reads a generator graph back: finds it inside ML.NET's model zip, parses it with limits, and turns its
/// <c>unet.*</c> initializers into a state dict. Every failure is an <see cref="InvalidDataException"/> naming the file.
/// </summary>
internal static class OnnxModelFile
{
    /// <summary>The <c>metadata_props</c> key of the model manifest (JSON).</summary>
    public const string ManifestKey = "mlnet_diffusion.manifest";

    /// <summary>The <c>metadata_props</c> key of the settings fixed at export (JSON).</summary>
    public const string SamplerKey = "mlnet_diffusion.sampler";

    /// <summary>
    /// The name ML.NET 5.0's OnnxTransformer gives the zip entry that holds the graph (inside the transformer's folder:
    /// <c>…/OnnxModel</c>). Its content is ML.NET's byte-array encoding: an int32 length, then the bytes.
    /// </summary>
    public const string OnnxEntryName = "OnnxModel";

    /// <summary>
    /// The generator graph of an ML.NET model zip: the first <c>…/OnnxModel</c> entry whose graph carries our manifest and
    /// takes no images; null when the zip has no such entry.
    /// </summary>
    /// <exception cref="InvalidDataException">The zip holds only an editing graph (a saved Edit or Inpaint chain): the message says so.</exception>
    public static ModelProto? Find(ZipArchive zip, string path)
    {
        var editing = false;
        foreach (var entry in zip.Entries.Where(e => e.Name == OnnxEntryName))
        {
            var model = Parse(ReadByteArray(entry, path), $"{path}:{entry.FullName}");
            if (model.MetadataProps.Any(p => p.Key == ManifestKey))
            {
                // An editing graph (GeneratorGraph with EditingGraph) also takes the images it edits.
                if (model.Graph.Input.Any(i => i.Name == "image"))
                {
                    editing = true;
                    continue;
                }

                return model;
            }
        }

        return editing
            ? throw new InvalidDataException(
                $"'{path}' is a saved image-editing chain (mlContext.Diffusion().Edit or Inpaint): its graph edits the images it is given and generates none. " +
                "Load it with mlContext.Model.Load and apply it to a view of images, or give the model file the chain was made from.")
            : null;
    }

    /// <summary>Parses ONNX bytes (nesting limited to 100, as ML.NET's own reader does).</summary>
    public static ModelProto Parse(byte[] bytes, string where)
    {
        try
        {
            var input = CodedInputStream.CreateWithLimits(new MemoryStream(bytes, writable: false), bytes.Length, 100);
            return ModelProto.Parser.ParseFrom(input);
        }
        catch (InvalidProtocolBufferException ex)
        {
            throw new InvalidDataException($"'{where}' is not a valid ONNX model ({ex.Message}).", ex);
        }
    }

    /// <summary>
    /// The settings fixed in <paramref name="model"/> (null when it records none), checked: a deterministic sampler, at
    /// least one step with its timesteps, a finite guidance ≥ 0. Anything else is an <see cref="InvalidDataException"/>
    /// naming <paramref name="path"/>.
    /// </summary>
    public static GeneratorSettings? Settings(ModelProto model, string path)
    {
        if (Metadata(model, SamplerKey) is not { } json)
        {
            return null;
        }

        GeneratorSettings? settings;
        try
        {
            settings = JsonSerializer.Deserialize<GeneratorSettings>(json, JsonSettings.Options);
        }
        catch (JsonException ex)
        {
            throw new InvalidDataException($"'{path}' is not a valid model: its sampler settings are not valid JSON ({ex.Message}).", ex);
        }

        if (settings is null || !Samplers.IsDeterministic(settings.Sampler) || settings.Steps < 1 ||
            !ClassifierFreeGuidance.IsValidScale(settings.Guidance) || settings.Timesteps?.Length != Samplers.Evaluations(settings.Sampler, settings.Steps))
        {
            throw new InvalidDataException($"'{path}' is not a valid model: the sampler settings of its generator graph are not valid ({json}).");
        }

        return settings;
    }

    /// <summary>The value of a <c>metadata_props</c> key, or null.</summary>
    public static string? Metadata(ModelProto model, string key) => model.MetadataProps.FirstOrDefault(p => p.Key == key)?.Value;

    /// <summary>
    /// The network's weights: every initializer named <see cref="UNetGraph.Prefix"/> + a state-dict name, as float32 CPU
    /// tensors keyed by the state-dict name. The caller owns (disposes) the tensors.
    /// </summary>
    public static Dictionary<string, Tensor> Weights(ModelProto model, string where)
    {
        var weights = new Dictionary<string, Tensor>();
        try
        {
            foreach (var initializer in AllInitializers(model.Graph).Where(i => i.Name.StartsWith(UNetGraph.Prefix, StringComparison.Ordinal)))
            {
                var name = initializer.Name[UNetGraph.Prefix.Length..];
                if (weights.ContainsKey(name))
                {
                    throw new InvalidDataException($"'{where}': weight '{name}' appears twice in the graph.");
                }

                if (initializer.DataType != (int)TensorProto.Types.DataType.Float)
                {
                    throw new InvalidDataException($"'{where}': weight '{name}' is not float32 (ONNX data type {initializer.DataType}).");
                }

                var dims = initializer.Dims.ToArray();
                if (dims.Any(d => d < 0 || d > int.MaxValue))
                {
                    throw new InvalidDataException($"'{where}': weight '{name}' has an impossible shape [{string.Join(", ", dims)}].");
                }

                var count = dims.Aggregate(1L, (a, b) => a * b);
                float[] values;
                if (initializer.RawData.Length > 0)
                {
                    if (initializer.RawData.Length != count * sizeof(float))
                    {
                        throw new InvalidDataException(
                            $"'{where}': weight '{name}' [{string.Join(", ", dims)}] needs {count * sizeof(float)} bytes but holds {initializer.RawData.Length}.");
                    }

                    values = MemoryMarshal.Cast<byte, float>(initializer.RawData.Span).ToArray();
                }
                else if (initializer.FloatData.Count == count)
                {
                    values = [.. initializer.FloatData];
                }
                else
                {
                    throw new InvalidDataException(
                        $"'{where}': weight '{name}' [{string.Join(", ", dims)}] holds {initializer.FloatData.Count} values, not {count}.");
                }

                weights[name] = torch.tensor(values, dims);
            }

            return weights;
        }
        catch
        {
            foreach (var tensor in weights.Values)
            {
                tensor.Dispose();
            }

            throw;
        }
    }

    // The initializers of a graph and of every subgraph in its nodes' attributes (the sampling loop's body keeps the
    // network's weights), depth first. The parser's nesting limit bounds the recursion.
    private static IEnumerable<TensorProto> AllInitializers(GraphProto graph)
    {
        foreach (var initializer in graph.Initializer)
        {
            yield return initializer;
        }

        foreach (var inner in graph.Node.SelectMany(n => n.Attribute).SelectMany(a => a.G is null ? a.Graphs : a.Graphs.Prepend(a.G)))
        {
            foreach (var initializer in AllInitializers(inner))
            {
                yield return initializer;
            }
        }
    }

    // ML.NET writes a byte array as an int32 count and the bytes (BinaryWriter extension WriteByteArray).
    private static byte[] ReadByteArray(ZipArchiveEntry entry, string path)
    {
        using var stream = entry.Open();
        var header = new byte[4];
        var got = stream.ReadAtLeast(header, 4, throwOnEndOfStream: false);
        var length = got == 4 ? BitConverter.ToInt32(header) : -1;
        if (length < 0 || length != entry.Length - 4)
        {
            throw new InvalidDataException($"'{path}': entry '{entry.FullName}' declares {length} bytes of ONNX, but its size says {entry.Length - 4}.");
        }

        return IO.BoundedRead.Exactly(stream, length, $"'{path}': entry '{entry.FullName}'");
    }
}
