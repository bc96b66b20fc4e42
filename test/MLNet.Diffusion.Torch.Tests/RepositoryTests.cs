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
    public void DocsCodeBlocks_AreAllCompiledCode()
    {
        // Every C# block of README.md and docs/*.md appears, line for line (indentation aside), in an example or a
        // test, so the docs cannot show code that does not compile or run.
        var compiled = Directory.GetFiles(Path.Combine(Root, "examples"), "*.cs", SearchOption.AllDirectories)
            .Concat(Directory.GetFiles(Path.Combine(Root, "test"), "*.cs", SearchOption.AllDirectories))
            .Where(f => !f.Contains($"{Path.DirectorySeparatorChar}obj{Path.DirectorySeparatorChar}", StringComparison.Ordinal))
            .Select(f => Normalise(File.ReadAllText(f)))
            .ToList();
        var pages = Directory.GetFiles(Path.Combine(Root, "docs"), "*.md").Append(Path.Combine(Root, "README.md"));
        var blocks = 0;
        foreach (var page in pages)
        {
            foreach (Match block in CodeBlockPattern().Matches(File.ReadAllText(page)))
            {
                blocks++;
                var code = Normalise(block.Groups[1].Value);
                Assert.IsTrue(compiled.Any(c => c.Contains(code, StringComparison.Ordinal)),
                    $"{Path.GetFileName(page)} shows code that no example or test compiles:\n{block.Groups[1].Value}");
            }
        }

        Assert.IsTrue(blocks >= 6, $"found {blocks} C# blocks");
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

    private static string Normalise(string code) =>
        string.Join('\n', code.ReplaceLineEndings("\n").Split('\n').Select(l => l.Trim()).Where(l => l.Length > 0));

    [GeneratedRegex(@"```csharp\n(.*?)```", RegexOptions.Singleline)]
    private static partial Regex CodeBlockPattern();

    [GeneratedRegex(@"MLND_API\s+[\w\s\*]+?\b(mlnd_\w+)\s*\(")]
    private static partial Regex ExportPattern();

    [GeneratedRegex(@"^MLND_(?:UNARY|BINARY|SCALAR|SHAPE_OP)\((\w+),", RegexOptions.Multiline)]
    private static partial Regex MacroExportPattern();

    [GeneratedRegex(@"internal static partial [\w\*]+ (mlnd_\w+)\(")]
    private static partial Regex DeclarationPattern();
}
