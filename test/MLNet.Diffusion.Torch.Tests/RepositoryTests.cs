using System.Text.RegularExpressions;

namespace MLNet.Diffusion.Torch.Tests;

/// <summary>Keeps the README, the docs and the interop declarations in step with the code they describe.</summary>
[TestClass]
public sealed partial class RepositoryTests
{
    [TestMethod]
    public void Quickstart_LossFallsByMoreThanFiveTimes()
    {
        var (first, last) = Quickstart.Program.Run(steps: 200);
        Assert.IsTrue(last < first / 5, $"loss {first} -> {last}");
    }

    [TestMethod]
    public void Readme_FirstExample_IsTheCompiledQuickstart()
    {
        var source = File.ReadAllText(Path.Combine(Root, "examples", "Quickstart", "Program.cs"));
        var begin = source.IndexOf("// README example: begin", StringComparison.Ordinal);
        var end = source.IndexOf("// README example: end", StringComparison.Ordinal);
        var snippet = Dedent(source[source.IndexOf('\n', begin)..end]);
        var readme = File.ReadAllText(Path.Combine(Root, "README.md"));
        Assert.IsTrue(readme.Contains(snippet.Trim(), StringComparison.Ordinal),
            "README.md's first example differs from examples/Quickstart/Program.cs; paste the region between the markers.");
    }

    [TestMethod]
    public void ShimExports_AreAllDeclaredInCSharpAndListedInTheDocs()
    {
        var exports = Directory.GetFiles(Path.Combine(Root, "src", "Native", "src"), "*.cpp")
            .SelectMany(f => ExportPattern().Matches(File.ReadAllText(f)).Select(m => m.Groups[1].Value))
            .Concat(Directory.GetFiles(Path.Combine(Root, "src", "Native", "src"), "*.cpp")
                .SelectMany(f => MacroExportPattern().Matches(File.ReadAllText(f)).Select(m => "mlnd_" + m.Groups[1].Value)))
            .ToHashSet();
        var declared = Directory.GetFiles(Path.Combine(Root, "src", "MLNet.Diffusion.Torch", "Interop"), "*.cs")
            .SelectMany(f => DeclarationPattern().Matches(File.ReadAllText(f)).Select(m => m.Groups[1].Value))
            .ToHashSet();
        var docs = File.ReadAllText(Path.Combine(Root, "docs", "native-shim.md"));
        Assert.IsTrue(exports.Count > 150, $"found {exports.Count} exports");
        CollectionAssert.AreEquivalent(exports.Order().ToArray(), declared.Order().ToArray(), "every export has exactly one C# declaration");
        var undocumented = exports.Where(e => !docs.Contains($"`{e}`", StringComparison.Ordinal)).ToList();
        Assert.AreEqual(0, undocumented.Count, "not in docs/native-shim.md: " + string.Join(", ", undocumented));
    }

    private static string Root
    {
        get
        {
            var dir = new DirectoryInfo(AppContext.BaseDirectory);
            while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "MLNet.Diffusion.sln")))
            {
                dir = dir.Parent;
            }

            return dir?.FullName ?? throw new InvalidOperationException("The repository root (MLNet.Diffusion.sln) is not above the test binaries.");
        }
    }

    private static string Dedent(string text)
    {
        var lines = text.Split('\n').Where(l => l.Trim().Length > 0).ToArray();
        var indent = lines.Min(l => l.Length - l.TrimStart().Length);
        return string.Join('\n', text.Split('\n').Select(l => l.Length >= indent ? l[indent..] : l.TrimStart()));
    }

    [GeneratedRegex(@"MLND_API\s+[\w\s\*]+?\b(mlnd_\w+)\s*\(")]
    private static partial Regex ExportPattern();

    [GeneratedRegex(@"^MLND_(?:UNARY|BINARY|SCALAR|SHAPE_OP)\((\w+),", RegexOptions.Multiline)]
    private static partial Regex MacroExportPattern();

    [GeneratedRegex(@"internal static partial [\w\*]+ (mlnd_\w+)\(")]
    private static partial Regex DeclarationPattern();
}
