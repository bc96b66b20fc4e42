using System.Buffers.Binary;
using System.Diagnostics;
using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
using Microsoft.ML.Data;
using MLNet.Diffusion.Engine;

namespace MLNet.Diffusion.Cli.Tests;

/// <summary>
/// The two packages as someone outside the repository gets them: examples/PackageConsumer, copied out of the repository
/// and built against the MLNet.Diffusion package (no project reference, no build-time fix of TorchSharp's native
/// library), trains and then, in another process, generates; and the mlnet-diffusion tool, installed with
/// <c>dotnet tool install</c>, trains, generates and describes a model.
/// </summary>
/// <remarks>
/// The packages come from MLNET_DIFFUSION_PACKAGES (a folder) at MLNET_DIFFUSION_PACKAGE_VERSION, which
/// <c>./build.sh test</c> sets after packing them; without them the test packs both projects itself into a temporary
/// folder. Either way the version is one no NuGet cache has seen, so a stale cached package cannot stand in for the one
/// under test. Each stage's time goes to the test output.
/// </remarks>
[TestClass]
public sealed partial class PackageTests
{
    private const string PackagesVariable = "MLNET_DIFFUSION_PACKAGES";
    private const string VersionVariable = "MLNET_DIFFUSION_PACKAGE_VERSION";

    private static readonly Lazy<Packages> s_packages = new(GetPackages);
    private static readonly List<string> s_cleanUp = [];  // deleted after the class's tests

    [ClassCleanup]
    public static void Cleanup()
    {
        foreach (var path in s_cleanUp)
        {
            DeleteFolder(path);
        }
    }

    [TestMethod]
    public void Consumer_BuiltAgainstThePackage_TrainsThenGeneratesInAnotherProcess()
    {
        var packages = s_packages.Value;
        var root = NewFolder("mlnet-diffusion-consumer-");
        try
        {
            // The example, out of the repository: nothing of the repository's Directory.Build.* can reach it.
            var app = Path.Combine(root, "app");
            CopyFolder(Path.Combine(RepositoryRoot, "examples", "PackageConsumer"), app);
            var clock = Stopwatch.StartNew();
            var (code, output, error) = Run("dotnet", app, TimeSpan.FromMinutes(5), "build", "-c", "Release", "-nologo", "-v", "minimal", "--disable-build-servers",
                $"-p:MLNetDiffusionVersion={packages.Version}", $"-p:MLNetDiffusionPackages={packages.Folder}");
            Assert.AreEqual(0, code, $"the consumer did not build:\n{output}\n{error}");
            Log($"consumer: restore and build {clock.Elapsed.TotalSeconds:F1} s");
            // The unique version's copy in NuGet's global packages folder is of no use after this run.
            s_cleanUp.Add(Path.Combine(GlobalPackagesFolder, "mlnet.diffusion", packages.Version.ToLowerInvariant()));
            s_cleanUp.Add(Path.Combine(GlobalPackagesFolder, "mlnet.diffusion.evaluation", packages.Version.ToLowerInvariant()));

            var restored = RestoredPackages(Path.Combine(app, "obj", "project.assets.json"));
            Log($"consumer: restored {restored.Count} packages: {string.Join(", ", restored)}");
            CollectionAssert.Contains(restored, $"MLNet.Diffusion/{packages.Version}");
            CollectionAssert.Contains(restored, $"MLNet.Diffusion.Evaluation/{packages.Version}");
            CollectionAssert.Contains(restored, "Microsoft.ML.DnnImageFeaturizer.ResNet18/0.23.1");
            CollectionAssert.Contains(restored, "TorchSharp-cpu/0.107.0");

            // What the build put beside the app: TorchSharp's native library as the package ships it (no build step
            // patched it), the library's shim beside it, SkiaSharp's and ONNX Runtime's native libraries.
            var bin = Path.Combine(app, "bin", "Release", "net10.0");
            var native = Path.Combine(bin, "runtimes", "linux-x64", "native");
            foreach (var file in new[] { "libLibTorchSharp.so", LibTorchSharpFix.ShimName, "libSkiaSharp.so", "libonnxruntime.so" })
            {
                Assert.IsTrue(File.Exists(Path.Combine(native, file)), $"{file} is not in {native}");
            }

            var torchSharpLibrary = Path.Combine(native, "libLibTorchSharp.so");
            var before = Sha256(torchSharpLibrary);
            Assert.AreEqual(LibTorchSharpFix.TorchSharp0107Sha256, before, "the consumer's libLibTorchSharp.so is not TorchSharp 0.107.0's file as shipped");

            var dll = Path.Combine(bin, "PackageConsumer.dll");
            var model = Path.Combine(root, "run", "model.zip");
            clock.Restart();
            (code, output, error) = Run("dotnet", root, TimeSpan.FromMinutes(3), dll, "train", model);
            Log($"consumer: train {clock.Elapsed.TotalSeconds:F1} s: {output.Trim()}");
            Assert.AreEqual(0, code, $"train failed (the run-time fix of TorchSharp's native library is the first suspect):\n{output}\n{error}");
            using (var train = JsonDocument.Parse(SingleLine(output)))
            {
                var report = train.RootElement;
                Assert.AreEqual(8, report.GetProperty("images").GetInt32());
                Assert.IsTrue(report.GetProperty("libtorchMapped").GetBoolean(), "training ran without libtorch?");
                var fix = report.GetProperty("nativeFix").GetString() ?? "";
                if (fix.StartsWith("applied to ", StringComparison.Ordinal))
                {
                    Assert.AreEqual($"applied to {torchSharpLibrary}", fix);
                    Assert.AreNotEqual(before, Sha256(torchSharpLibrary), "the fix says it was applied but the file is unchanged");
                }
                else
                {
                    StringAssert.StartsWith(fix, "not needed: this system's libstdc++ defines", StringComparison.Ordinal);
                }
            }

            Assert.IsTrue(new FileInfo(model).Length > 100_000, "the model zip is too small");

            var images = Path.Combine(root, "run", "generated");
            clock.Restart();
            (code, output, error) = Run("dotnet", root, TimeSpan.FromMinutes(3), dll, "generate", model, images);
            Log($"consumer: generate {clock.Elapsed.TotalSeconds:F1} s: {output.Trim()}");
            Assert.AreEqual(0, code, $"generate failed:\n{output}\n{error}");
            using (var generate = JsonDocument.Parse(SingleLine(output)))
            {
                var report = generate.RootElement;
                Assert.AreEqual(4, report.GetProperty("rows").GetInt32());
                Assert.AreEqual((8, 8), (report.GetProperty("width").GetInt32(), report.GetProperty("height").GetInt32()));
                Assert.IsFalse(report.GetProperty("libtorchMapped").GetBoolean(), "generating from the saved zip mapped libtorch");
            }

            var files = Directory.GetFiles(images, "*.png").Order(StringComparer.Ordinal).Select(Path.GetFileName).ToArray();
            CollectionAssert.AreEqual(new[] { "0000.png", "0001.png", "0002.png", "0003.png" }, files);
            foreach (var file in files)
            {
                Assert.AreEqual((8, 8), PngSize(Path.Combine(images, file!)), file);
            }

            // Evaluation with ResNet-18: the MLNet.Diffusion.Evaluation package's build files put the network beside the app.
            clock.Restart();
            (code, output, error) = Run("dotnet", root, TimeSpan.FromMinutes(3), dll, "evaluate", model);
            Log($"consumer: evaluate {clock.Elapsed.TotalSeconds:F1} s: {output.Trim()}");
            Assert.AreEqual(0, code, $"evaluate failed:\n{output}\n{error}");
            using (var evaluate = JsonDocument.Parse(SingleLine(output)))
            {
                var report = evaluate.RootElement;
                StringAssert.StartsWith(report.GetProperty("featureNetwork").GetString(), "ResNet-18");
                Assert.AreEqual(8, report.GetProperty("referenceCount").GetInt32());
                Assert.IsTrue(double.IsFinite(report.GetProperty("kid").GetDouble()));
                CollectionAssert.AreEqual(new[] { "ResNet18.onnx", "ResNetPreprocess.onnx" },
                    report.GetProperty("models").EnumerateArray().Select(e => e.GetString()).ToArray());
            }

            Assert.IsTrue(File.Exists(Path.Combine(root, "run", "closest-pairs.png")));
        }
        finally
        {
            DeleteFolder(root);
        }
    }

    [TestMethod]
    public void Tool_InstalledFromThePackage_TrainsGeneratesAndDescribes()
    {
        var packages = s_packages.Value;
        var root = NewFolder("mlnet-diffusion-tool-");
        try
        {
            var data = Path.Combine(root, "data");
            WriteTrainingImages(data);
            var tools = Path.Combine(root, "tools");
            var total = Stopwatch.StartNew();
            var clock = Stopwatch.StartNew();
            var (code, output, error) = Run("dotnet", root, TimeSpan.FromMinutes(5), "tool", "install", "--tool-path", tools, "--add-source", packages.Folder,
                "mlnet-diffusion", "--version", packages.Version);
            Assert.AreEqual(0, code, $"the tool did not install:\n{output}\n{error}");
            Log($"tool: install {clock.Elapsed.TotalSeconds:F1} s");
            var tool = Path.Combine(tools, "mlnet-diffusion");
            Assert.IsTrue(File.Exists(tool), $"no {tool}");

            clock.Restart();
            (code, output, error) = Run(tool, root, TimeSpan.FromMinutes(3), "train", "--data", data, "--image-size", "8", "--model", "tiny", "--steps", "2",
                "--batch-size", "4", "--class-conditional", "--out", "m.zip");
            Log($"tool: train {clock.Elapsed.TotalSeconds:F1} s");
            Assert.AreEqual(0, code, $"train failed:\n{output}\n{error}");
            StringAssert.Contains(output, "training on 8 images (3×8×8, 2 classes)");
            StringAssert.Contains(output, "trained 2 steps");
            Assert.IsTrue(File.Exists(Path.Combine(root, "m.zip")));

            clock.Restart();
            (code, output, error) = Run(tool, root, TimeSpan.FromMinutes(3), "generate", "--model", "m.zip", "--count", "2", "--label", "1", "--out", "g.png");
            Log($"tool: generate {clock.Elapsed.TotalSeconds:F1} s");
            Assert.AreEqual(0, code, $"generate failed:\n{output}\n{error}");
            var grid = PngSize(Path.Combine(root, "g.png"));
            Log($"tool: from the start of the install to the first generated image {total.Elapsed.TotalSeconds:F1} s (a {grid.Width}×{grid.Height} grid)");
            Assert.IsTrue(grid.Width >= 8 && grid.Height >= 8, $"a {grid.Width}×{grid.Height} grid");

            clock.Restart();
            (code, output, error) = Run(tool, root, TimeSpan.FromMinutes(3), "info", "--model", "m.zip");
            Log($"tool: info {clock.Elapsed.TotalSeconds:F1} s");
            Assert.AreEqual(0, code, $"info failed:\n{output}\n{error}");
            StringAssert.Contains(output, "format version 2, ML.NET's model zip with the generator as an ONNX graph");
            StringAssert.Contains(output, "2 classes");
            StringAssert.Contains(output, "training:   2 steps of 4");
        }
        finally
        {
            DeleteFolder(root);
        }
    }

    /// <summary>
    /// The case the evaluation package's buildTransitive/ files exist for: an app that references a class library that references
    /// MLNet.Diffusion.Evaluation. ResNet18's own package copies its network only into direct references' outputs; ours must
    /// put it beside the app, where <c>new ResNet18FeatureExtractor()</c> looks.
    /// </summary>
    [TestMethod]
    public void AppThroughALibrary_GetsResNet18BesideIt_AndLoadsIt()
    {
        var packages = s_packages.Value;
        var root = NewFolder("mlnet-diffusion-transitive-");
        try
        {
            var library = Path.Combine(root, "Lib");
            var app = Path.Combine(root, "App");
            Directory.CreateDirectory(library);
            Directory.CreateDirectory(app);
            var sources = $"<RestoreAdditionalProjectSources>{packages.Folder}</RestoreAdditionalProjectSources>";
            File.WriteAllText(Path.Combine(root, "Directory.Build.props"), "<Project />");
            File.WriteAllText(Path.Combine(root, "Directory.Build.targets"), "<Project />");
            File.WriteAllText(Path.Combine(root, "Directory.Packages.props"), "<Project />");
            File.WriteAllText(Path.Combine(library, "Lib.csproj"), $"""
                <Project Sdk="Microsoft.NET.Sdk">
                  <PropertyGroup><TargetFramework>net10.0</TargetFramework>{sources}</PropertyGroup>
                  <ItemGroup><PackageReference Include="MLNet.Diffusion.Evaluation" Version="{packages.Version}" /></ItemGroup>
                </Project>
                """);
            File.WriteAllText(Path.Combine(library, "Features.cs"), """
                namespace Lib;
                public static class Features
                {
                    public static int Count()
                    {
                        using var network = new MLNet.Diffusion.Evaluation.ResNet18FeatureExtractor();
                        using var features = network.Extract(TorchSharp.torch.zeros(1, 3, 8, 8));
                        return (int)features.size(1);
                    }
                }
                """);
            File.WriteAllText(Path.Combine(app, "App.csproj"), $"""
                <Project Sdk="Microsoft.NET.Sdk">
                  <PropertyGroup><OutputType>Exe</OutputType><TargetFramework>net10.0</TargetFramework>{sources}</PropertyGroup>
                  <ItemGroup>
                    <ProjectReference Include="../Lib/Lib.csproj" />
                    <PackageReference Include="TorchSharp-cpu" Version="0.107.0" />
                  </ItemGroup>
                </Project>
                """);
            File.WriteAllText(Path.Combine(app, "Program.cs"), "System.Console.WriteLine(Lib.Features.Count());\n");
            var clock = Stopwatch.StartNew();
            var (code, output, error) = Run("dotnet", app, TimeSpan.FromMinutes(5), "build", "-c", "Release", "-nologo", "-v", "minimal", "--disable-build-servers");
            Assert.AreEqual(0, code, $"the app did not build:\n{output}\n{error}");
            s_cleanUp.Add(Path.Combine(GlobalPackagesFolder, "mlnet.diffusion", packages.Version.ToLowerInvariant()));
            s_cleanUp.Add(Path.Combine(GlobalPackagesFolder, "mlnet.diffusion.evaluation", packages.Version.ToLowerInvariant()));
            Log($"transitive: restore and build {clock.Elapsed.TotalSeconds:F1} s");
            var bin = Path.Combine(app, "bin", "Release", "net10.0");
            Assert.IsTrue(File.Exists(Path.Combine(bin, "DnnImageModels", "ResNet18Onnx", "ResNet18.onnx")), $"no ResNet18.onnx under {bin}");
            Assert.IsTrue(File.Exists(Path.Combine(bin, "DnnImageModels", "ResNetPrepOnnx", "ResNetPreprocess.onnx")));
            (code, output, error) = Run("dotnet", root, TimeSpan.FromMinutes(2), Path.Combine(bin, "App.dll"));
            Assert.AreEqual(0, code, $"the app failed:\n{output}\n{error}");
            Assert.AreEqual("512", output.Trim());
        }
        finally
        {
            DeleteFolder(root);
        }
    }

    /// <summary>
    /// docs/getting-started.md's two apps as whole files (examples/GettingStarted), copied out of the repository and built from
    /// exactly their project files' package lists: Train (MLNet.Diffusion and TorchSharp-cpu) trains on a folder of class
    /// sub-folders and saves the model; Generate (ML.NET and ONNX Runtime only) reads the class names from the loaded model,
    /// takes a class by name and writes PNGs. Each sets <c>RuntimeIdentifier</c>, so its output carries one platform's native
    /// libraries; the sizes go to the test output.
    /// </summary>
    [TestMethod]
    public void GettingStartedApps_BuiltFromTheirPackageLists_TrainThenGenerateByClassName()
    {
        var packages = s_packages.Value;
        var root = NewFolder("mlnet-diffusion-getting-started-");
        try
        {
            var apps = Path.Combine(root, "apps");
            CopyFolder(Path.Combine(RepositoryRoot, "examples", "GettingStarted"), apps);
            var train = Path.Combine(apps, "Train");
            var project = Path.Combine(train, "Train.csproj");
            var text = File.ReadAllText(project);
            StringAssert.Contains(text, "<PackageReference Include=\"MLNet.Diffusion\" Version=\"0.1.0\" />");
            File.WriteAllText(project, text.Replace("Include=\"MLNet.Diffusion\" Version=\"0.1.0\"", $"Include=\"MLNet.Diffusion\" Version=\"{packages.Version}\"", StringComparison.Ordinal));
            s_cleanUp.Add(Path.Combine(GlobalPackagesFolder, "mlnet.diffusion", packages.Version.ToLowerInvariant()));
            s_cleanUp.Add(Path.Combine(GlobalPackagesFolder, "mlnet.diffusion.evaluation", packages.Version.ToLowerInvariant()));
            var total = Stopwatch.StartNew();
            foreach (var app in new[] { train, Path.Combine(apps, "Generate") })
            {
                var clock = Stopwatch.StartNew();
                var (built, buildOutput, buildError) = Run("dotnet", app, TimeSpan.FromMinutes(5), "build", "-c", "Release", "-nologo", "-v", "minimal", "--disable-build-servers",
                    $"-p:RestoreAdditionalProjectSources={packages.Folder}");
                Assert.AreEqual(0, built, $"{Path.GetFileName(app)} did not build:\n{buildOutput}\n{buildError}");
                var bin = Path.Combine(app, "bin", "Release", "net10.0", "linux-x64");
                var bytes = Directory.GetFiles(bin, "*", SearchOption.AllDirectories).Sum(f => new FileInfo(f).Length);
                Log($"getting started: {Path.GetFileName(app)} restored and built in {clock.Elapsed.TotalSeconds:F1} s, output {bytes / 1e6:F0} MB");
            }

            var generateRestored = RestoredPackages(Path.Combine(apps, "Generate", "obj", "project.assets.json"));
            Assert.IsFalse(generateRestored.Any(p => p.StartsWith("MLNet.Diffusion/", StringComparison.Ordinal) || p.StartsWith("TorchSharp", StringComparison.Ordinal)),
                "the generating app has no MLNet.Diffusion and no TorchSharp: " + string.Join(", ", generateRestored));

            var images = Path.Combine(root, "images");
            WriteTrainingImages(images);
            var model = Path.Combine(root, "run", "model.zip");
            var (code, output, error) = Run("dotnet", root, TimeSpan.FromMinutes(3), Path.Combine(train, "bin", "Release", "net10.0", "linux-x64", "Train.dll"),
                images, model, "2", "8", "tiny");
            Log($"getting started: train: {output.Trim().Split('\n')[^1]}");
            Assert.AreEqual(0, code, $"Train failed:\n{output}\n{error}");
            StringAssert.Contains(output, $"saved {model}: classes blue, red");
            Assert.IsTrue(File.Exists(Path.ChangeExtension(model, ".html")), "the training report");

            var generated = Path.Combine(root, "run", "generated");
            var generate = Path.Combine(apps, "Generate", "bin", "Release", "net10.0", "linux-x64", "Generate.dll");
            (code, output, error) = Run("dotnet", root, TimeSpan.FromMinutes(3), generate, model, generated, "3", "red");
            Assert.AreEqual(0, code, $"Generate failed:\n{output}\n{error}");
            StringAssert.Contains(output, "classes: blue, red");
            StringAssert.Contains(output, $"wrote 3 images to {generated}");
            CollectionAssert.AreEqual(new[] { "0000.png", "0001.png", "0002.png" }, Directory.GetFiles(generated).Select(Path.GetFileName).Order(StringComparer.Ordinal).ToArray());
            Assert.AreEqual((8, 8), PngSize(Path.Combine(generated, "0000.png")));
            (code, _, error) = Run("dotnet", root, TimeSpan.FromMinutes(3), generate, model, generated, "1", "zebra");
            Assert.AreEqual(1, code);
            StringAssert.Contains(error, "'zebra' is not a class of this model");
            Log($"getting started: both apps built and run in {total.Elapsed.TotalSeconds:F1} s");
        }
        finally
        {
            DeleteFolder(root);
        }
    }

    /// <summary>The folder and version of the packages under test.</summary>
    private sealed record Packages(string Folder, string Version);

    private static Packages GetPackages()
    {
        var folder = Environment.GetEnvironmentVariable(PackagesVariable);
        var version = Environment.GetEnvironmentVariable(VersionVariable);
        Packages packages;
        if (!string.IsNullOrEmpty(folder) || !string.IsNullOrEmpty(version))
        {
            Assert.IsFalse(string.IsNullOrEmpty(folder) || string.IsNullOrEmpty(version), $"set both {PackagesVariable} and {VersionVariable}, or neither");
            packages = new Packages(Path.GetFullPath(folder!), version!);
            Log($"packages: {packages.Version} from {packages.Folder} ({PackagesVariable})");
        }
        else
        {
            packages = Pack();
        }

        foreach (var id in new[] { "MLNet.Diffusion", "MLNet.Diffusion.Evaluation", "mlnet-diffusion", "mlnet-diffusion.linux-x64" })
        {
            var file = Path.Combine(packages.Folder, $"{id}.{packages.Version}.nupkg");
            Assert.IsTrue(File.Exists(file), $"no {file}");
            Log($"packages: {Path.GetFileName(file)} {new FileInfo(file).Length:N0} bytes");
        }

        return packages;
    }

    /// <summary>Packs both projects at a version of their own into a temporary folder.</summary>
    private static Packages Pack()
    {
        var props = File.ReadAllText(Path.Combine(RepositoryRoot, "Directory.Build.props"));
        var baseVersion = VersionPattern().Match(props) is { Success: true } match ? match.Groups[1].Value : "0.1.0";
        // "r" + hex: a numeric pre-release identifier may not start with 0.
        var version = string.Create(CultureInfo.InvariantCulture, $"{baseVersion}-test.{DateTime.UtcNow:yyyyMMddHHmmss}.r{Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(4))}");
        var folder = NewFolder("mlnet-diffusion-packages-");
        s_cleanUp.Add(folder);
#if DEBUG
        const string configuration = "Debug";
#else
        const string configuration = "Release";
#endif
        // The tool's pack builds and publishes it for linux-x64 (its RID output is not part of the solution's build, so
        // it cannot be packed with --no-build); the library's pack reuses the build that the tool's pack just checked.
        // PackageVersion, not Version: the assemblies keep theirs, so nothing is recompiled.
        var clock = Stopwatch.StartNew();
        var (code, output, error) = Run("dotnet", RepositoryRoot, TimeSpan.FromMinutes(8), "pack", "src/MLNet.Diffusion.Cli/MLNet.Diffusion.Cli.csproj", "-c", configuration,
            "-nologo", "-v", "minimal", "--disable-build-servers", $"-p:PackageVersion={version}", "-o", folder);
        Assert.AreEqual(0, code, $"packing the tool failed:\n{output}\n{error}");
        Log($"packages: packed the tool in {clock.Elapsed.TotalSeconds:F1} s");
        clock.Restart();
        (code, output, error) = Run("dotnet", RepositoryRoot, TimeSpan.FromMinutes(3), "pack", "src/MLNet.Diffusion/MLNet.Diffusion.csproj", "-c", configuration,
            "--no-build", "-nologo", "-v", "minimal", "--disable-build-servers", $"-p:PackageVersion={version}", "-o", folder);
        Assert.AreEqual(0, code, $"packing the library failed:\n{output}\n{error}");
        (code, output, error) = Run("dotnet", RepositoryRoot, TimeSpan.FromMinutes(3), "pack", "src/MLNet.Diffusion.Evaluation/MLNet.Diffusion.Evaluation.csproj", "-c", configuration,
            "--no-build", "-nologo", "-v", "minimal", "--disable-build-servers", $"-p:PackageVersion={version}", "-o", folder);
        Assert.AreEqual(0, code, $"packing the evaluation package failed:\n{output}\n{error}");
        Log($"packages: packed the library and the evaluation package in {clock.Elapsed.TotalSeconds:F1} s; version {version} in {folder}");
        return new Packages(folder, version);
    }

    /// <summary>Two classes (sub-folders) of four solid 12×12 PNGs each.</summary>
    private static void WriteTrainingImages(string folder)
    {
        foreach (var (label, colour) in new[] { ("red", (R: 220, G: 40, B: 30)), ("blue", (R: 30, G: 60, B: 210)) })
        {
            Directory.CreateDirectory(Path.Combine(folder, label));
            for (var i = 0; i < 4; i++)
            {
                var rgba = new byte[12 * 12 * 4];
                for (var p = 0; p < 12 * 12; p++)
                {
                    rgba[4 * p] = (byte)(colour.R - (8 * i));
                    rgba[(4 * p) + 1] = (byte)(colour.G + (8 * i));
                    rgba[(4 * p) + 2] = (byte)(colour.B - (4 * i));
                    rgba[(4 * p) + 3] = 255;
                }

                using var image = MLImage.CreateFromPixels(12, 12, MLPixelFormat.Rgba32, rgba);
                image.Save(Path.Combine(folder, label, $"{i}.png"));
            }
        }
    }

    /// <summary>Runs a program to its end (killing it, and failing, past <paramref name="timeout"/>).</summary>
    private static (int Code, string Output, string Error) Run(string program, string directory, TimeSpan timeout, params string[] arguments)
    {
        var start = new ProcessStartInfo(program)
        {
            WorkingDirectory = directory,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            StandardOutputEncoding = Encoding.UTF8,
            StandardErrorEncoding = Encoding.UTF8,
        };
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        // What `dotnet test` sets for its own MSBuild would steer the nested builds to it.
        foreach (var name in start.Environment.Keys.Where(k => k.StartsWith("MSBuild", StringComparison.OrdinalIgnoreCase)
            && !k.Equals("MSBUILDDISABLENODEREUSE", StringComparison.OrdinalIgnoreCase)).ToList())
        {
            start.Environment.Remove(name);
        }

        start.Environment["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1";
        start.Environment["DOTNET_NOLOGO"] = "1";
        using var process = Process.Start(start) ?? throw new InvalidOperationException($"{program} did not start");
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        if (!process.WaitForExit(timeout))
        {
            process.Kill(entireProcessTree: true);
            process.WaitForExit();
            Assert.Fail($"{program} {string.Join(' ', arguments)} ran past {timeout}:\n{output.Result}\n{error.Result}");
        }

        process.WaitForExit();
        return (process.ExitCode, output.Result, error.Result);
    }

    /// <summary>The packages of a restore: the "libraries" of obj/project.assets.json of type package, as id/version.</summary>
    private static List<string> RestoredPackages(string assets)
    {
        using var document = JsonDocument.Parse(File.ReadAllText(assets));
        return [.. document.RootElement.GetProperty("libraries").EnumerateObject()
            .Where(l => l.Value.GetProperty("type").GetString() == "package")
            .Select(l => l.Name)
            .Order(StringComparer.OrdinalIgnoreCase)];
    }

    private static string SingleLine(string output)
    {
        var lines = output.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        Assert.HasCount(1, lines, $"one line of JSON on standard output, not:\n{output}");
        return lines[0];
    }

    /// <summary>Width and height from a PNG's IHDR chunk (after checking the signature).</summary>
    private static (int Width, int Height) PngSize(string path)
    {
        var head = new byte[24];
        using (var file = File.OpenRead(path))
        {
            file.ReadExactly(head);
        }

        CollectionAssert.AreEqual(new byte[] { 0x89, (byte)'P', (byte)'N', (byte)'G', 0x0D, 0x0A, 0x1A, 0x0A }, head[..8], $"{path} is not a PNG");
        Assert.AreEqual("IHDR", Encoding.ASCII.GetString(head, 12, 4), $"{path} has no IHDR chunk first");
        return (BinaryPrimitives.ReadInt32BigEndian(head.AsSpan(16)), BinaryPrimitives.ReadInt32BigEndian(head.AsSpan(20)));
    }

    private static string Sha256(string path) => Convert.ToHexStringLower(SHA256.HashData(File.ReadAllBytes(path)));

    private static void Log(string message) => Console.WriteLine($"[{DateTime.Now:HH:mm:ss}] {message}");

    private static string NewFolder(string prefix)
    {
        var folder = Path.Combine(Path.GetTempPath(), prefix + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(folder);
        return folder;
    }

    private static void CopyFolder(string source, string target)
    {
        Directory.CreateDirectory(target);
        foreach (var file in Directory.GetFiles(source))
        {
            File.Copy(file, Path.Combine(target, Path.GetFileName(file)));
        }

        foreach (var folder in Directory.GetDirectories(source).Where(d => Path.GetFileName(d) is not ("bin" or "obj")))
        {
            CopyFolder(folder, Path.Combine(target, Path.GetFileName(folder)));
        }
    }

    private static void DeleteFolder(string path)
    {
        try
        {
            if (Directory.Exists(path))
            {
                Directory.Delete(path, recursive: true);
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            Log($"could not delete {path}: {e.Message}");
        }
    }

    /// <summary>NuGet's global packages folder (NUGET_PACKAGES, else ~/.nuget/packages).</summary>
    private static string GlobalPackagesFolder => Environment.GetEnvironmentVariable("NUGET_PACKAGES") is { Length: > 0 } folder
        ? folder
        : Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".nuget", "packages");

    private static string RepositoryRoot
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

    [GeneratedRegex(@"<Version>([^<]+)</Version>")]
    private static partial Regex VersionPattern();
}
