using System.Text.RegularExpressions;

namespace MLNet.Diffusion.Tests;

/// <summary>Keeps the README and the docs in step with the code they describe.</summary>
[TestClass]
public sealed partial class RepositoryTests
{
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
    public void GettingStarted_ShowsItsAppsWhole()
    {
        // The page shows examples/GettingStarted's project files and programs in full, as PackageTests builds and runs them.
        var page = File.ReadAllText(Path.Combine(Root, "docs", "getting-started.md")).ReplaceLineEndings("\n");
        var files = Directory.GetFiles(Path.Combine(Root, "examples", "GettingStarted"), "*.*", SearchOption.AllDirectories)
            .Where(f => Path.GetExtension(f) is ".cs" or ".csproj" && !f.Contains($"{Path.DirectorySeparatorChar}obj{Path.DirectorySeparatorChar}", StringComparison.Ordinal))
            .ToList();
        Assert.HasCount(4, files, "two apps, each a project file and a program");
        foreach (var file in files)
        {
            var language = Path.GetExtension(file) == ".cs" ? "csharp" : "xml";
            StringAssert.Contains(page, $"```{language}\n{File.ReadAllText(file).ReplaceLineEndings("\n").TrimEnd('\n')}\n```", $"{Path.GetRelativePath(Root, file)} is not shown whole");
        }
    }

    [TestMethod]
    public void Repository_HasNoTraceOfTheRetiredBinding()
    {
        // The engine is TorchSharp: no project, doc or build step may still point at the deleted libtorch binding.
        Assert.IsFalse(Directory.Exists(Path.Combine(Root, "src", "Native")));
        Assert.IsFalse(Directory.Exists(Path.Combine(Root, "src", "MLNet.Diffusion.Torch")));
        var files = Directory.GetFiles(Root, "*.csproj", SearchOption.AllDirectories)
            .Concat(Directory.GetFiles(Path.Combine(Root, "src"), "*.cs", SearchOption.AllDirectories))
            .Append(Path.Combine(Root, "build.sh")).Append(Path.Combine(Root, "README.md"))
            .Where(f => !f.Contains($"{Path.DirectorySeparatorChar}obj{Path.DirectorySeparatorChar}", StringComparison.Ordinal));
        foreach (var file in files)
        {
            var text = File.ReadAllText(file);
            foreach (var word in new[] { "MLNet.Diffusion.Torch", "libtorch-dev", "LibTorch.", "mlnd_" })
            {
                Assert.IsFalse(text.Contains(word, StringComparison.Ordinal), $"{Path.GetRelativePath(Root, file)} mentions {word}");
            }
        }
    }

    [TestMethod]
    public void Repository_HasNoTraceOfTheDeletedImageBindings()
    {
        // Images go through SkiaSharp (from NuGet): no build step, doc or source may still need libpng or TurboJPEG.
        var files = Directory.GetFiles(Path.Combine(Root, "src"), "*.cs", SearchOption.AllDirectories)
            .Concat(Directory.GetFiles(Path.Combine(Root, "docs"), "*.md"))
            .Append(Path.Combine(Root, "build.sh")).Append(Path.Combine(Root, "README.md"))
            .Where(f => !f.Contains($"{Path.DirectorySeparatorChar}obj{Path.DirectorySeparatorChar}", StringComparison.Ordinal));
        foreach (var file in files)
        {
            var text = File.ReadAllText(file);
            foreach (var word in new[] { "libpng-dev", "libturbojpeg", "PngCodec", "JpegCodec", "TurboJpeg" })
            {
                Assert.IsFalse(text.Contains(word, StringComparison.Ordinal), $"{Path.GetRelativePath(Root, file)} mentions {word}");
            }
        }
    }

    internal static string Root
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
}
