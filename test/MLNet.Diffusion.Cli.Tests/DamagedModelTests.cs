using System.IO.Compression;
using System.Text;
using Google.Protobuf;
using static MLNet.Diffusion.Cli.Tests.ModelFiles;

namespace MLNet.Diffusion.Cli.Tests;

/// <summary>
/// Damaged and hostile model files, given to every command that reads one: each gives exactly one <c>error:</c> line and
/// exit code 1, writes nothing, and neither prints a stack trace nor crashes the process.
/// </summary>
[TestClass]
public sealed class DamagedModelTests
{
    // Every command that reads a model file, with outputs in folders that do not exist yet ({out}) and one existing file
    // ({kept}) that must be left as it was.
    private static readonly string[][] s_commands =
    [
        ["info", "--model", "{bad}"],
        ["generate", "--model", "{bad}", "--count", "2", "--steps", "2", "--device", "cpu", "--out", "{out}/grid.png"],
        ["generate", "--model", "{bad}", "--count", "2", "--steps", "2", "--out", "{out}/images"],
        ["generate", "--model", "{bad}", "--count", "2", "--steps", "2", "--engine", "onnx", "--out", "{out}/images"],
        ["eval", "--model", "{bad}", "--count", "2", "--steps", "2", "--device", "cpu", "--json", "{out}/eval.json", "--cache-dir", "{out}/cache"],
        ["export", "--model", "{bad}", "--out", "{out}/model.onnx"],
        ["export", "--model", "{bad}", "--out", "{kept}"],
    ];

    [TestMethod]
    [DataRow("empty file")]
    [DataRow("random bytes")]
    [DataRow("truncated zip")]
    [DataRow("truncated graph entry")]
    [DataRow("zip slip entry")]
    [DataRow("a zip of something else")]
    [DataRow("future format version")]
    [DataRow("future format version 1-style")]
    [DataRow("initializer missing")]
    [DataRow("initializer dim changed")]
    [DataRow("initializer reshaped")]
    [DataRow("initializer not float32")]
    [DataRow("manifest not JSON")]
    [DataRow("graph entry not protobuf")]
    [DataRow("graph length header int.MaxValue")]
    [DataRow("graph length header negative")]
    [DataRow("graph entry claiming 2 GiB")]
    [DataRow("graph entry claiming 1.75 GiB")]
    [DataRow("version-1 manifest not JSON")]
    [DataRow("version-1 weights claiming 2 GiB")]
    [DataRow("version-1 weights truncated")]
    public void DamagedModel_EveryCommand_OneErrorLineExit1NothingWritten(string damage)
    {
        var bad = Damage(damage);
        var failures = new List<string>();
        foreach (var command in s_commands)
        {
            var folder = NewPath("outputs");
            var kept = NewPath("kept.onnx");
            File.WriteAllText(kept, "an older export");
            var args = command.Select(a => a.Replace("{bad}", bad, StringComparison.Ordinal).Replace("{out}", folder, StringComparison.Ordinal)
                .Replace("{kept}", kept, StringComparison.Ordinal)).ToArray();
            var (code, output, error) = Run(args);
            var lines = error.Split('\n', StringSplitOptions.RemoveEmptyEntries);
            var problem = code != 1 ? $"exit code {code}"
                : lines.Length != 1 || !lines[0].StartsWith("error: ", StringComparison.Ordinal) ? "not exactly one error line"
                : !lines[0].Contains($"'{bad}'", StringComparison.Ordinal) ? "the error does not name the file"
                : output.Length > 0 ? $"output '{output.Trim()}'"
                : Directory.Exists(folder) ? "an output folder was created"
                : File.ReadAllText(kept) != "an older export" ? "an existing output was changed"
                : null;
            if (problem is not null)
            {
                failures.Add($"{string.Join(' ', command)}: {problem}; stderr: {error.Trim()}");
            }
        }

        Assert.AreEqual(0, failures.Count, string.Join("\n", failures));
    }

    [TestMethod]
    public void DamagedSamplerSettings_InfoAndTheOnnxEngineRefuseTheFile()
    {
        // The settings fixed in the graph are read by info and by generate --engine onnx (to decide whether the file's graph fits).
        var bad = RewriteGraph(Conditional, NewPath("sampler.zip"), graph => graph.MetadataProps.Single(p => p.Key == SamplerKey).Value = "{\"Sampler\":\"Ddpm\",\"Steps\":0}");
        foreach (var args in new[] { new[] { "info", "--model", bad }, ["generate", "--model", bad, "--engine", "onnx", "--steps", "2", "--out", NewPath("s.png")] })
        {
            var (code, output, error) = Run(args);
            Assert.AreEqual(1, code, error);
            Assert.AreEqual(1, error.Split('\n', StringSplitOptions.RemoveEmptyEntries).Length, error);
            StringAssert.StartsWith(error, $"error: '{bad}' is not a valid model: the sampler settings of its generator graph are not valid");
            Assert.AreEqual(string.Empty, output);
        }
    }

    [TestMethod]
    public void MissingModel_EveryCommand_OneErrorLineExit1NothingWritten()
    {
        var bad = NewPath("missing.zip");
        foreach (var command in s_commands)
        {
            var folder = NewPath("outputs");
            var kept = NewPath("kept.onnx");
            File.WriteAllText(kept, "an older export");
            var (code, _, error) = Run([.. command.Select(a => a.Replace("{bad}", bad, StringComparison.Ordinal).Replace("{out}", folder, StringComparison.Ordinal)
                .Replace("{kept}", kept, StringComparison.Ordinal))]);
            Assert.AreEqual(1, code, error);
            Assert.AreEqual($"error: Model file '{bad}' does not exist.", error.Trim());
            Assert.IsFalse(Directory.Exists(folder), string.Join(' ', command));
            Assert.AreEqual("an older export", File.ReadAllText(kept));
        }
    }

    // A copy of the tiny class-conditional model with the given damage.
    private static string Damage(string damage)
    {
        var good = Conditional;
        var path = NewPath(damage.Replace(' ', '-') + ".zip");
        switch (damage)
        {
            case "empty file":
                File.WriteAllBytes(path, []);
                return path;
            case "random bytes":
                var random = new byte[4096];
                new Random(7).NextBytes(random);
                File.WriteAllBytes(path, random);
                return path;
            case "truncated zip":
                var bytes = File.ReadAllBytes(good);
                File.WriteAllBytes(path, bytes[..(bytes.Length / 2)]);
                return path;
            case "truncated graph entry":
                return RewriteEntries(good, path, entries =>
                {
                    var name = GraphEntry(entries.Keys);
                    entries[name] = entries[name][..(entries[name].Length / 2)];
                });
            case "zip slip entry":
                return RewriteEntries(good, path, entries => entries["../evil"] = Encoding.UTF8.GetBytes("escaped"));
            case "a zip of something else":
                return WriteEntries(path, [KeyValuePair.Create("readme.txt", Encoding.UTF8.GetBytes("not a model"))]);
            case "future format version":
                return RewriteGraph(good, path, graph => EditManifest(graph, manifest => manifest["FormatVersion"] = 3));
            case "future format version 1-style":
                return RewriteEntries(WriteFormatVersion1(good, NewPath("v1.zip")), path, entries =>
                {
                    var manifest = System.Text.Json.Nodes.JsonNode.Parse(entries["manifest.json"])!.AsObject();
                    manifest["FormatVersion"] = 3;
                    entries["manifest.json"] = Encoding.UTF8.GetBytes(manifest.ToJsonString());
                });
            case "initializer missing":
                return RewriteGraph(good, path, graph => Weights(graph).Remove(Weights(graph).First(i => i.Name.StartsWith("unet.", StringComparison.Ordinal))));
            case "initializer dim changed":
                return RewriteGraph(good, path, graph =>
                {
                    var weight = Weights(graph).First(i => i.Name.StartsWith("unet.", StringComparison.Ordinal) && i.Dims.Count >= 2);
                    weight.Dims[0] += 1;
                });
            case "initializer reshaped":
                // The same number of values in another shape: only the network's shapes can tell.
                return RewriteGraph(good, path, graph =>
                {
                    var weight = Weights(graph).First(i => i.Name.StartsWith("unet.", StringComparison.Ordinal) && i.Dims.Count >= 2 && i.Dims[0] != i.Dims[^1]);
                    var dims = weight.Dims.Reverse().ToArray();
                    weight.Dims.Clear();
                    weight.Dims.AddRange(dims);
                });
            case "initializer not float32":
                return RewriteGraph(good, path, graph =>
                    Weights(graph).First(i => i.Name.StartsWith("unet.", StringComparison.Ordinal)).DataType = (int)global::Onnx.TensorProto.Types.DataType.Double);
            case "manifest not JSON":
                return RewriteGraph(good, path, graph => graph.MetadataProps.Single(p => p.Key == ManifestKey).Value = "{\"Format\": \"mlnet-diffusion-model\", ");
            case "graph entry not protobuf":
                return RewriteEntries(good, path, entries =>
                {
                    var name = GraphEntry(entries.Keys);
                    var garbage = Enumerable.Repeat((byte)0xFF, 64).ToArray();
                    entries[name] = [.. BitConverter.GetBytes(garbage.Length), .. garbage];
                });
            case "graph length header int.MaxValue":
                return WithLengthHeader(good, path, int.MaxValue);
            case "graph length header negative":
                return WithLengthHeader(good, path, -4);
            case "graph entry claiming 2 GiB":
                // The zip's own sizes agree with the length header, so the entry looks whole until it is read.
                return ClaimingSize(ReadEntries(good), GraphEntry, path, int.MaxValue);
            case "graph entry claiming 1.75 GiB":
                return ClaimingSize(ReadEntries(good), GraphEntry, path, 0x7000_0000);
            case "version-1 manifest not JSON":
                return RewriteEntries(WriteFormatVersion1(good, NewPath("v1.zip")), path, entries => entries["manifest.json"] = Encoding.UTF8.GetBytes("{\"Format\": "));
            case "version-1 weights claiming 2 GiB":
                return ClaimingSize(ReadEntries(WriteFormatVersion1(good, NewPath("v1.zip"))), _ => "ema.safetensors", path, int.MaxValue);
            case "version-1 weights truncated":
                return RewriteEntries(WriteFormatVersion1(good, NewPath("v1.zip")), path, entries => entries["ema.safetensors"] = entries["ema.safetensors"][..1000]);
            default:
                throw new ArgumentOutOfRangeException(nameof(damage), damage, "unknown damage");
        }
    }

    // The graph entry with a length header of `length` bytes and zip headers (local and central) claiming length + 4 bytes
    // uncompressed, over data that holds far fewer (the weights of a version-1 file: no length header, the same claim).
    private static string ClaimingSize(Dictionary<string, byte[]> entries, Func<IEnumerable<string>, string> entry, string path, int length)
    {
        var name = entry(entries.Keys);
        if (name != "ema.safetensors")
        {
            BitConverter.GetBytes(length).CopyTo(entries[name], 0);
        }

        WriteEntries(path, entries);
        var zip = File.ReadAllBytes(path);
        var nameBytes = Encoding.UTF8.GetBytes(name);
        var claimed = BitConverter.GetBytes((uint)length + 4u);
        var patched = 0;
        for (var i = 0; i + 46 + nameBytes.Length <= zip.Length; i++)
        {
            var signature = BitConverter.ToUInt32(zip, i);
            if (signature == 0x04034b50 && zip.AsSpan(i + 30, nameBytes.Length).SequenceEqual(nameBytes))
            {
                claimed.CopyTo(zip, i + 22);
                patched++;
            }
            else if (signature == 0x02014b50 && zip.AsSpan(i + 46, nameBytes.Length).SequenceEqual(nameBytes))
            {
                claimed.CopyTo(zip, i + 24);
                patched++;
            }
        }

        Assert.AreEqual(2, patched, "the local and the central header of the graph entry");
        File.WriteAllBytes(path, zip);
        using (var check = ZipFile.OpenRead(path))
        {
            Assert.AreEqual((long)length + 4, check.GetEntry(name)!.Length);
        }

        return path;
    }

    private static string WithLengthHeader(string good, string path, int length) => RewriteEntries(good, path, entries =>
    {
        var name = GraphEntry(entries.Keys);
        BitConverter.GetBytes(length).CopyTo(entries[name], 0);
    });

    // The network's weights live in the sampling loop's body (GeneratorGraph keeps them there).
    private static Google.Protobuf.Collections.RepeatedField<global::Onnx.TensorProto> Weights(global::Onnx.ModelProto graph) =>
        graph.Graph.Node.Single(n => n.OpType == "Loop").Attribute.Single(a => a.Name == "body").G.Initializer;
}
