using System.IO.Compression;
using System.Text.Json.Nodes;
using Google.Protobuf;
using MLNet.Diffusion.IO;
using Onnx;

namespace MLNet.Diffusion.Cli.Tests;

/// <summary>
/// Tiny models trained once through the command line, and rewritten copies of their zips for the tests of old, damaged
/// and hostile files (the approach of test/MLNet.Diffusion.Tests/ModelFiles.cs).
/// </summary>
internal static class ModelFiles
{
    /// <summary>The metadata key of the manifest in the generator graph (MLNet.Diffusion.Onnx.OnnxModelFile.ManifestKey).</summary>
    public const string ManifestKey = "mlnet_diffusion.manifest";

    /// <summary>The metadata key of the sampler settings in the generator graph (OnnxModelFile.SamplerKey).</summary>
    public const string SamplerKey = "mlnet_diffusion.sampler";

    private static readonly Lazy<string> s_folder = new(() =>
    {
        var folder = Path.Combine(Path.GetTempPath(), "mlnet-diffusion-cli-models-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(folder);
        return folder;
    });

    private static readonly Lazy<string> s_conditional = new(() => Train("conditional", "--limit", "32", "--steps", "2", "--batch-size", "8", "--class-conditional"));

    private static readonly Lazy<string> s_unconditional = new(() => Train("unconditional", "--limit", "8", "--steps", "1", "--batch-size", "4"));

    /// <summary>A tiny class-conditional Fashion-MNIST model saved by <c>train</c> (2 steps; trained on first use).</summary>
    public static string Conditional => s_conditional.Value;

    /// <summary>A tiny unconditional Fashion-MNIST model saved by <c>train</c> (1 step; trained on first use).</summary>
    public static string Unconditional => s_unconditional.Value;

    /// <summary>Runs the command line in this process.</summary>
    public static (int Code, string Output, string Error) Run(params string[] args)
    {
        using var output = new StringWriter();
        using var error = new StringWriter();
        var code = CliApp.Run(args, output, error);
        return (code, output.ToString(), error.ToString());
    }

    /// <summary>The entries of the zip at <paramref name="path"/>, by full name.</summary>
    public static Dictionary<string, byte[]> ReadEntries(string path)
    {
        var entries = new Dictionary<string, byte[]>();
        using var zip = ZipFile.OpenRead(path);
        foreach (var entry in zip.Entries)
        {
            using var stream = entry.Open();
            using var memory = new MemoryStream();
            stream.CopyTo(memory);
            entries[entry.FullName] = memory.ToArray();
        }

        return entries;
    }

    /// <summary>Writes <paramref name="entries"/> as a new zip at <paramref name="path"/>.</summary>
    public static string WriteEntries(string path, IEnumerable<KeyValuePair<string, byte[]>> entries, CompressionLevel level = CompressionLevel.Optimal)
    {
        File.Delete(path);
        using var zip = ZipFile.Open(path, ZipArchiveMode.Create);
        foreach (var (name, bytes) in entries)
        {
            using var stream = zip.CreateEntry(name, level).Open();
            stream.Write(bytes);
        }

        return path;
    }

    /// <summary>Copies the zip at <paramref name="source"/> to <paramref name="path"/> after <paramref name="change"/> edits its entries.</summary>
    public static string RewriteEntries(string source, string path, Action<Dictionary<string, byte[]>> change)
    {
        var entries = ReadEntries(source);
        change(entries);
        return WriteEntries(path, entries);
    }

    /// <summary>The name of the zip entry that holds the generator graph (ML.NET's <c>…/OnnxModel</c>).</summary>
    public static string GraphEntry(IEnumerable<string> names) => names.Single(n => n.EndsWith("/OnnxModel", StringComparison.Ordinal) || n == "OnnxModel");

    /// <summary>The generator graph of the model zip at <paramref name="path"/>.</summary>
    public static ModelProto ReadGraph(string path)
    {
        var entries = ReadEntries(path);
        return ModelProto.Parser.ParseFrom(entries[GraphEntry(entries.Keys)].AsSpan(4).ToArray());
    }

    /// <summary>Copies the model zip at <paramref name="source"/> to <paramref name="path"/> after <paramref name="change"/> edits its generator graph.</summary>
    public static string RewriteGraph(string source, string path, Action<ModelProto> change) => RewriteEntries(source, path, entries =>
    {
        var name = GraphEntry(entries.Keys);
        var graph = ModelProto.Parser.ParseFrom(entries[name].AsSpan(4).ToArray());
        change(graph);
        var bytes = graph.ToByteArray();
        entries[name] = [.. BitConverter.GetBytes(bytes.Length), .. bytes];
    });

    /// <summary>The value of a <c>metadata_props</c> key of <paramref name="graph"/>.</summary>
    public static string Metadata(ModelProto graph, string key) => graph.MetadataProps.Single(p => p.Key == key).Value;

    /// <summary>Edits the JSON manifest in the graph's metadata.</summary>
    public static void EditManifest(ModelProto graph, Action<JsonObject> change)
    {
        var property = graph.MetadataProps.Single(p => p.Key == ManifestKey);
        var manifest = JsonNode.Parse(property.Value)!.AsObject();
        change(manifest);
        property.Value = manifest.ToJsonString();
    }

    /// <summary>
    /// The model of the version-2 zip at <paramref name="source"/> rewritten in format version 1 (manifest.json and
    /// ema.safetensors in a plain zip), as the library wrote it before: the weights are the graph's <c>unet.*</c> initializers.
    /// </summary>
    public static string WriteFormatVersion1(string source, string path)
    {
        var graph = ReadGraph(source);
        var manifest = JsonNode.Parse(Metadata(graph, ManifestKey))!.AsObject();
        manifest["FormatVersion"] = 1;
        manifest["Weights"] = "ema.safetensors";
        manifest.Remove("RawWeights");
        using var model = DiffusionModel.Load(source, "cpu");
        var weights = Safetensors.Serialize(model.Network.state_dict());
        return WriteEntries(path, [
            KeyValuePair.Create("manifest.json", System.Text.Encoding.UTF8.GetBytes(manifest.ToJsonString())),
            KeyValuePair.Create("ema.safetensors", weights),
        ]);
    }

    /// <summary>Deletes this run's folder of model files (and the outputs written beside them).</summary>
    public static void DeleteAll()
    {
        if (s_folder.IsValueCreated && Directory.Exists(s_folder.Value))
        {
            Directory.Delete(s_folder.Value, recursive: true);
        }
    }

    /// <summary>A new path in this run's folder of model files.</summary>
    public static string NewPath(string name) => Path.Combine(s_folder.Value, Guid.NewGuid().ToString("N")[..8] + "-" + name);

    private static string Train(string name, params string[] args)
    {
        var path = Path.Combine(s_folder.Value, name, "model.zip");
        var (code, _, error) = Run([.. new[] { "train", "--data", "fashion-mnist", "--model", "tiny", "--device", "cpu", "--sample-grid", "0", "--out", path }, .. args]);
        Assert.AreEqual(0, code, error);
        return path;
    }
}

/// <summary>Removes the files <see cref="ModelFiles"/> wrote once every test has run.</summary>
[TestClass]
public sealed class ModelFilesCleanup
{
    [AssemblyCleanup]
    public static void DeleteModelFiles() => ModelFiles.DeleteAll();
}
