using System.IO.Compression;
using Google.Protobuf;
using Onnx;

namespace MLNet.Diffusion.Tests;

/// <summary>Rewrites saved model zips, for tests of damaged and hostile files.</summary>
internal static class ModelFiles
{
    /// <summary>Copies the zip at <paramref name="source"/> to <paramref name="path"/> after <paramref name="change"/> edits its entries.</summary>
    public static string RewriteEntries(string source, string path, Action<Dictionary<string, byte[]>> change)
    {
        var entries = new Dictionary<string, byte[]>();
        using (var zip = ZipFile.OpenRead(source))
        {
            foreach (var entry in zip.Entries)
            {
                using var stream = entry.Open();
                using var memory = new MemoryStream();
                stream.CopyTo(memory);
                entries[entry.FullName] = memory.ToArray();
            }
        }

        change(entries);
        using (var zip = ZipFile.Open(path, ZipArchiveMode.Create))
        {
            foreach (var (entryName, bytes) in entries)
            {
                using var stream = zip.CreateEntry(entryName).Open();
                stream.Write(bytes);
            }
        }

        return path;
    }

    /// <summary>The name of the zip entry that holds the generator graph (ML.NET's <c>…/OnnxModel</c>).</summary>
    public static string GraphEntry(IEnumerable<string> names) => names.Single(n => n.EndsWith("/OnnxModel", StringComparison.Ordinal) || n == "OnnxModel");

    /// <summary>Saves <paramref name="model"/>, edits its generator graph with <paramref name="change"/> and writes the zip to <paramref name="path"/>.</summary>
    public static string RewriteGraph(DiffusionModel model, string path, Action<ModelProto> change)
    {
        var source = path + ".source.zip";
        model.Save(source);
        return RewriteEntries(source, path, entries =>
        {
            var name = GraphEntry(entries.Keys);
            var graph = ModelProto.Parser.ParseFrom(entries[name].AsSpan(4).ToArray());
            change(graph);
            var bytes = graph.ToByteArray();
            entries[name] = [.. BitConverter.GetBytes(bytes.Length), .. bytes];
        });
    }
}
