using System.Buffers.Binary;
using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using Microsoft.ML;
using MLNet.Diffusion.Onnx;
using MLNet.Diffusion.Tests.Onnx;
using MLNet.Diffusion.Tests.Images;
using MLNet.Diffusion.ForwardProcess;

namespace MLNet.Diffusion.Tests.Pipeline;

/// <summary>
/// A saved generator in an app that has ML.NET, OnnxTransformer, ONNX Runtime and ImageAnalytics and nothing of this
/// project: test/MLNet.Diffusion.OnnxConsumer, run as a process of its own, loads the zip with <c>mlContext.Model.Load</c>
/// and generates the images this process makes, without MLNet.Diffusion or TorchSharp (or libtorch) loaded.
/// </summary>
[TestClass]
public sealed class OtherProcessTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromMinutes(3);
    private static DiffusionModel? s_gray;
    private static DiffusionModel? s_color;
    private static TempFolder s_folder = null!;

    [ClassInitialize]
    public static void TrainOnce(TestContext context)
    {
        s_gray = GeneratorGraphTests.Train(channels: 1, classes: 3, PredictionType.Epsilon, BetaScheduleKind.Cosine);
        s_gray.TransformOptions = new GenerationOptions { Steps = 10, Guidance = 2 };
        s_color = GeneratorGraphTests.Train(channels: 3, classes: null, PredictionType.VPrediction, BetaScheduleKind.Linear);
        s_color.TransformOptions = new GenerationOptions { Sampler = SamplerKind.Ddim, Steps = 10 };
        s_folder = new TempFolder();
    }

    [ClassCleanup]
    public static void Cleanup()
    {
        s_gray?.Dispose();
        s_color?.Dispose();
        s_folder.Dispose();
    }

    [TestMethod]
    [DataRow("gray", 40L, 6, new[] { 2, 0, 1 })]
    [DataRow("color", 1L << 40, 5, null)]
    public void AnotherProcess_WithoutThisLibrary_GeneratesTheSameImages(string which, long firstSeed, int count, int[]? labels)
    {
        var model = which == "gray" ? s_gray! : s_color!;
        var ml = new MLContext();
        var seeds = ml.Diffusion().CreateSeeds(count, firstSeed, labels);
        var path = s_folder.File($"{which}.zip");
        new MLContext().Model.Save(model, seeds.Schema, path);
        var output = s_folder.File($"{which}.bin");

        string[] arguments = [path, output, firstSeed.ToString(CultureInfo.InvariantCulture), count.ToString(CultureInfo.InvariantCulture),
            .. (labels ?? []).Select(l => l.ToString(CultureInfo.InvariantCulture))];
        var (exitCode, stdout, stderr) = RunConsumer(arguments);
        Assert.AreEqual(0, exitCode, $"the consumer failed:\n{stderr}");

        var lines = stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        Assert.HasCount(1, lines, $"one line of JSON on stdout, not:\n{stdout}");
        Console.WriteLine($"{which}: {lines[0]}");
        using var report = JsonDocument.Parse(lines[0]);
        var root = report.RootElement;
        Assert.IsFalse(root.GetProperty("libtorchMapped").GetBoolean(), "libtorch is mapped into the consumer");
        Assert.AreEqual(0, root.GetProperty("assemblies").GetArrayLength(), $"the consumer loaded {root.GetProperty("assemblies")}");
        var size = model.Config.ImageSize;
        var pixelsPerImage = model.Config.InChannels * size * size;
        Assert.AreEqual(count, root.GetProperty("rows").GetInt32());
        Assert.AreEqual((long)count * pixelsPerImage, root.GetProperty("pixelCount").GetInt64());
        Assert.AreEqual(size, root.GetProperty("imageWidth").GetInt32());
        Assert.AreEqual(size, root.GetProperty("imageHeight").GetInt32());

        // Byte for byte the graph this process runs through ONNX Runtime, for the same seeds and labels.
        var bytes = File.ReadAllBytes(output);
        Assert.HasCount(count * pixelsPerImage * sizeof(float), bytes);
        var seedList = Enumerable.Range(0, count).Select(i => firstSeed + i).ToArray();
        var labelList = labels is null ? null : Enumerable.Range(0, count).Select(i => labels[i % labels.Length]).ToArray();
        using var onnx = new OnnxGenerator(model.ToOnnx());
        var direct = onnx.Generate(seedList, labelList?.Select(l => (long)l).ToArray());
        var expected = new byte[direct.Length * sizeof(float)];
        for (var i = 0; i < direct.Length; i++)
        {
            BinaryPrimitives.WriteSingleLittleEndian(expected.AsSpan(i * sizeof(float)), direct[i]);
        }

        CollectionAssert.AreEqual(expected, bytes, "the consumer's pixels are not the in-process ONNX Runtime's");

        // And the TorchSharp path's images, up to kernel rounding.
        var consumer = new float[direct.Length];
        for (var i = 0; i < consumer.Length; i++)
        {
            consumer[i] = BinaryPrimitives.ReadSingleLittleEndian(bytes.AsSpan(i * sizeof(float)));
        }

        var torchPixels = model.GeneratePixels([.. seedList.Select(s => (ulong)s)], labelList);
        Assert.HasCount(consumer.Length, torchPixels);
        var within2 = torchPixels.Zip(consumer, (a, b) => Math.Abs(a - b) <= 2).Count(d => d) / (double)consumer.Length;
        Console.WriteLine($"{which}: {within2:P2} of pixels within 2/255 of TorchSharp's");
        Assert.IsGreaterThanOrEqualTo(0.99, within2, $"{which}: only {within2:P2} of pixels within 2/255 of TorchSharp's");
        Assert.IsGreaterThan(10, consumer.Distinct().Count(), "not a blank image");
    }

    [TestMethod]
    public void AnotherProcess_GivenADamagedZip_SaysSoOnOneLine()
    {
        var ml = new MLContext();
        var whole = s_folder.File("whole.zip");
        ml.Model.Save(s_color!, ml.Diffusion().CreateSeeds(1).Schema, whole);
        var bytes = File.ReadAllBytes(whole);
        var damaged = s_folder.Write("damaged.zip", bytes[..(bytes.Length / 2)]);
        var output = s_folder.File("damaged.bin");

        var (exitCode, stdout, stderr) = RunConsumer([damaged, output, "0", "2"]);
        Assert.AreEqual(1, exitCode, $"stdout:\n{stdout}\nstderr:\n{stderr}");
        Assert.AreEqual("", stdout.Trim());
        var lines = stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        Assert.HasCount(1, lines, stderr);
        StringAssert.StartsWith(lines[0], "error: ", StringComparison.Ordinal);
        Assert.IsFalse(File.Exists(output), "an output for a model that did not load");
    }

    [TestMethod]
    public void AnotherProcess_GivenBadArguments_SaysSoOnOneLine()
    {
        foreach (string[] arguments in new[] { new[] { "model.zip", "out.bin" }, ["model.zip", "out.bin", "zero", "2"], ["model.zip", "out.bin", "0", "0"] })
        {
            var (exitCode, _, stderr) = RunConsumer(arguments);
            Assert.AreEqual(1, exitCode, string.Join(' ', arguments));
            var lines = stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
            Assert.HasCount(1, lines, stderr);
            StringAssert.StartsWith(lines[0], "error: ", StringComparison.Ordinal);
        }
    }

    /// <summary>
    /// The consumer app, built with the solution (the test project references it without its assembly) into its own bin
    /// folder under the configuration this test assembly was built in: …/bin/&lt;configuration&gt;/net10.0/.
    /// </summary>
    private static string ConsumerPath
    {
        get
        {
            var testOutput = new DirectoryInfo(Path.TrimEndingDirectorySeparator(AppContext.BaseDirectory));
            var configuration = testOutput.Parent!.Name;
            var path = Path.Combine(RepositoryTests.Root, "test", "MLNet.Diffusion.OnnxConsumer", "bin", configuration, testOutput.Name,
                "MLNet.Diffusion.OnnxConsumer.dll");
            Assert.IsTrue(File.Exists(path), $"{path} is missing: build the solution (or the test project) first");
            return path;
        }
    }

    private static (int ExitCode, string Stdout, string Stderr) RunConsumer(IEnumerable<string> arguments)
    {
        // The host this test runs under when it is dotnet itself, else dotnet from PATH.
        var host = Path.GetFileNameWithoutExtension(Environment.ProcessPath) == "dotnet" ? Environment.ProcessPath! : "dotnet";
        var info = new ProcessStartInfo(host)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = s_folder.Path,
        };
        info.ArgumentList.Add(ConsumerPath);
        foreach (var argument in arguments)
        {
            info.ArgumentList.Add(argument);
        }

        using var process = Process.Start(info)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        if (!process.WaitForExit(Timeout))
        {
            process.Kill(entireProcessTree: true);
            process.WaitForExit();
            Assert.Fail($"the consumer ran past {Timeout}; stderr so far:\n{stderr.Result}");
        }

        process.WaitForExit();
        return (process.ExitCode, stdout.Result, stderr.Result);
    }
}
