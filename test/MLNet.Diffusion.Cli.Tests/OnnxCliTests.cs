using System.Globalization;
using System.Text.Json;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;
using static MLNet.Diffusion.Cli.Tests.ModelFiles;
using MLNet.Diffusion.Images;

namespace MLNet.Diffusion.Cli.Tests;

/// <summary>
/// The model file as ML.NET's model zip with the generator graph: what <c>train</c> fixes in it and <c>info</c> shows,
/// <c>export</c> (the graph alone) and <c>generate --engine onnx</c>, on tiny models trained through the command line.
/// </summary>
[TestClass]
public sealed class OnnxCliTests
{
    [TestMethod]
    public void Train_WritesTheModelZipWithTheGraph_InfoShowsFormatSamplerAndSize()
    {
        var graph = ReadGraph(Conditional);
        using (var sampler = JsonDocument.Parse(Metadata(graph, SamplerKey)))
        {
            Assert.AreEqual("DpmSolverPlusPlus", sampler.RootElement.GetProperty("Sampler").GetString());
            Assert.AreEqual(20, sampler.RootElement.GetProperty("Steps").GetInt32());
            Assert.AreEqual(1, sampler.RootElement.GetProperty("Guidance").GetDouble());
        }

        var (code, output, error) = Run("info", "--model", Conditional);
        Assert.AreEqual(0, code, error);
        StringAssert.Contains(output, string.Create(CultureInfo.InvariantCulture,
            $"file:       {Conditional} ({new FileInfo(Conditional).Length:N0} bytes): format version 2, ML.NET's model zip with the generator as an ONNX graph"));
        StringAssert.Contains(output, "sampler:    dpm-solver++, 20 steps, guidance 1 (fixed in the graph)");
        StringAssert.Contains(output, "10 classes");
        StringAssert.Contains(output, "training:   2 steps of 8");
    }

    [TestMethod]
    public void FormatVersion1_InfoGenerateAndExportStillWork()
    {
        var old = WriteFormatVersion1(Conditional, NewPath("v1.zip"));
        var (code, output, error) = Run("info", "--model", old);
        Assert.AreEqual(0, code, error);
        StringAssert.Contains(output, string.Create(CultureInfo.InvariantCulture,
            $"file:       {old} ({new FileInfo(old).Length:N0} bytes): format version 1, manifest.json and safetensors weights (no generator graph)"));
        StringAssert.Contains(output, "sampler:    none fixed");
        StringAssert.Contains(output, "training:   2 steps of 8");

        var images = NewPath("v1-images");
        (code, output, error) = Run("generate", "--model", old, "--engine", "onnx", "--count", "2", "--steps", "3", "--out", images);
        Assert.AreEqual(0, code, error);
        StringAssert.Contains(output, "engine onnx: a graph built from the model's weights: dpm-solver++, 3 steps, guidance 1");
        Assert.AreEqual(2, Directory.GetFiles(images, "*.png").Length);
        var onnx = NewPath("v1.onnx");
        (code, _, error) = Run("export", "--model", old, "--out", onnx, "--steps", "3");
        Assert.AreEqual(0, code, error);
        Assert.IsTrue(new FileInfo(onnx).Length > 100_000);
    }

    [TestMethod]
    [DataRow("the graph in the model file: dpm-solver++, 20 steps, guidance 1", new string[0])]
    [DataRow("a graph built from the model's weights: ddim, 4 steps, guidance 2", new[] { "--sampler", "ddim", "--steps", "4", "--label", "3", "--guidance", "2" })]
    [DataRow("a graph built from the model's weights: dpm-solver++, 6 steps, guidance 1", new[] { "--steps", "6", "--label", "7" })]
    [DataRow("a graph built from the model's weights: ddim, 4 steps, guidance 2", new[] { "--sampler", "ddim", "--steps", "4", "--label", "-1", "--guidance", "2" })]
    [DataRow("a graph built from the model's weights: heun, 3 steps, guidance 2", new[] { "--sampler", "heun", "--steps", "3", "--label", "4", "--guidance", "2" })]
    [DataRow("a graph built from the model's weights: euler, 5 steps, guidance 1", new[] { "--sampler", "euler", "--steps", "5" })]
    public void Generate_OnnxEngine_WritesThePngsOfTheTorchEngine(string graph, string[] options)
    {
        var onnx = NewPath("onnx");
        var torch = NewPath("torch");
        string[] common = ["generate", "--model", Conditional, "--count", "5", "--seed", "11", .. options];
        var (code, output, error) = Run([.. common, "--engine", "onnx", "--out", onnx]);
        Assert.AreEqual(0, code, error);
        StringAssert.Contains(output, $"engine onnx: {graph}\n");
        (code, output, error) = Run([.. common, "--device", "cpu", "--out", torch]);
        Assert.AreEqual(0, code, error);
        StringAssert.Contains(output, $"engine torch (cpu): {graph[(graph.IndexOf(": ", StringComparison.Ordinal) + 2)..]}\n");

        var names = Directory.GetFiles(onnx).Select(Path.GetFileName).Order().ToArray();
        CollectionAssert.AreEqual(new[] { "0000.png", "0001.png", "0002.png", "0003.png", "0004.png" }, names);
        var (close, total) = (0, 0);
        foreach (var name in names)
        {
            var (a, b) = (ImageCodec.Load(Path.Combine(onnx, name!)), ImageCodec.Load(Path.Combine(torch, name!)));
            Assert.AreEqual((28, 28, 1), (a.Width, a.Height, a.Channels));
            Assert.AreEqual((a.Width, a.Height, a.Channels), (b.Width, b.Height, b.Channels));
            for (var i = 0; i < a.Pixels.Length; i++)
            {
                close += Math.Abs(a.Pixels[i] - b.Pixels[i]) <= 2 ? 1 : 0;
                total++;
            }
        }

        Assert.IsGreaterThanOrEqualTo(0.99, close / (double)total, $"{close} of {total} pixels within 2/255");

        // The grid of the onnx engine is laid out as the torch engine's.
        var grid = NewPath("grid.png");
        (code, _, error) = Run([.. common, "--engine", "onnx", "--out", grid, "--scale", "1"]);
        Assert.AreEqual(0, code, error);
        var image = ImageCodec.Load(grid);
        Assert.AreEqual((2 + (5 * 30), 2 + 30), (image.Width, image.Height));
    }

    /// <summary>`--label -1` asks a class-conditional model for unconditional images: those of no --label, on both engines.</summary>
    [TestMethod]
    [DataRow("torch")]
    [DataRow("onnx")]
    public void Generate_LabelMinusOne_WritesTheImagesOfNoLabel(string engine)
    {
        var (none, minusOne) = (NewPath("none.png"), NewPath("minus-one.png"));
        string[] common = ["generate", "--model", Conditional, "--count", "3", "--seed", "5", "--steps", "3", "--sampler", "ddim", "--engine", engine];
        var (code, _, error) = Run([.. common, "--out", none]);
        Assert.AreEqual(0, code, error);
        (code, _, error) = Run([.. common, "--label", "-1", "--guidance", "2", "--out", minusOne]);
        Assert.AreEqual(0, code, error);
        CollectionAssert.AreEqual(ImageCodec.Load(none).Pixels.ToArray(), ImageCodec.Load(minusOne).Pixels.ToArray());
    }

    [TestMethod]
    public void Export_WritesTheGraphThatGenerateRuns()
    {
        var folder = NewPath("export");
        var path = Path.Combine(folder, "missing", "model.onnx");
        var (code, output, error) = Run("export", "--model", Conditional, "--out", path, "--sampler", "ddim", "--steps", "4", "--guidance", "2");
        Assert.AreEqual(0, code, error);
        StringAssert.Contains(output, $"wrote {path}");
        StringAssert.Contains(output, "generation, ddim, 4 steps, guidance 2; inputs seed int64 [B, 1], label int64 [B, 1] (0 to 9, −1 none); output pixels float [B, 1, 28, 28], 0–255");
        var graph = global::Onnx.ModelProto.Parser.ParseFrom(File.ReadAllBytes(path));
        using (var sampler = JsonDocument.Parse(Metadata(graph, SamplerKey)))
        {
            Assert.AreEqual("Ddim", sampler.RootElement.GetProperty("Sampler").GetString());
            Assert.AreEqual(4, sampler.RootElement.GetProperty("Steps").GetInt32());
            Assert.AreEqual(2, sampler.RootElement.GetProperty("Guidance").GetDouble());
        }

        // Run through ONNX Runtime directly, the exported graph gives the bytes of generate --engine onnx.
        float[] pixels;
        using (var session = new InferenceSession(path))
        {
            using var results = session.Run([
                NamedOnnxValue.CreateFromTensor("seed", new DenseTensor<long>(new long[] { 11, 12 }, [2, 1])),
                NamedOnnxValue.CreateFromTensor("label", new DenseTensor<long>(new long[] { 3, 3 }, [2, 1])),
            ]);
            pixels = [.. results.Single(r => r.Name == "pixels").AsEnumerable<float>()];
        }

        var images = Path.Combine(folder, "images");
        (code, _, error) = Run("generate", "--model", Conditional, "--engine", "onnx", "--count", "2", "--seed", "11", "--sampler", "ddim", "--steps", "4",
            "--label", "3", "--guidance", "2", "--out", images);
        Assert.AreEqual(0, code, error);
        var written = new[] { "0000.png", "0001.png" }.SelectMany(n => ImageCodec.Load(Path.Combine(images, n)).Pixels.ToArray()).Select(b => (float)b).ToArray();
        CollectionAssert.AreEqual(pixels, written);
        Assert.AreEqual(0, Directory.GetFiles(folder, "*.tmp", SearchOption.AllDirectories).Length, "no probe or temporary file is left");
    }

    [TestMethod]
    public void Export_ReplacesAnExistingFile()
    {
        var path = NewPath("existing.onnx");
        File.WriteAllText(path, "an older export");
        var (code, _, error) = Run("export", "--model", Unconditional, "--out", path);
        Assert.AreEqual(0, code, error);
        var graph = global::Onnx.ModelProto.Parser.ParseFrom(File.ReadAllBytes(path));
        StringAssert.Contains(Metadata(graph, SamplerKey), "\"Steps\":20");
        Assert.IsFalse(graph.Graph.Input.Any(i => i.Name == "label"), "an unconditional graph takes no label");
    }

    [TestMethod]
    // A graph is deterministic: what it cannot do is a usage error of export (exit code 2).
    [DataRow(2, "--sampler ddpm draws fresh noise at every step, which a deterministic graph cannot", new[] { "--sampler", "ddpm" })]
    [DataRow(2, "--eta 0.5: a graph is deterministic, so export takes DDIM's η = 0 only", new[] { "--sampler", "ddim", "--eta", "0.5" })]
    [DataRow(2, "'lms' not recognized", new[] { "--sampler", "lms" })]
    [DataRow(1, "export --task inpaint runs --sampler dpm-solver++ or ddim, not heun", new[] { "--sampler", "heun", "--task", "inpaint" })]
    [DataRow(1, "--steps must be ≥ 1, not 0", new[] { "--steps", "0" })]
    [DataRow(1, "--guidance must be a finite number ≥ 0, not -1", new[] { "--guidance", "-1" })]
    [DataRow(1, "--guidance 2 applies only to a class-conditional model", new[] { "--model", "{unconditional}", "--guidance", "2" })]
    [DataRow(1, "is not a valid model", new[] { "--model", "{not-a-model}" })]
    public void Export_Refusals_OneErrorLineAndTheOutputUnchanged(int expectedCode, string expected, string[] options)
    {
        var path = NewPath("kept.onnx");
        File.WriteAllText(path, "an older export");
        var notAModel = NewPath("text.zip");
        File.WriteAllText(notAModel, "not a zip");
        var model = options.Contains("--model") ? [] : new[] { "--model", Conditional };
        var args = new[] { "export", "--out", path }.Concat(model).Concat(options)
            .Select(a => a.Replace("{unconditional}", Unconditional, StringComparison.Ordinal).Replace("{not-a-model}", notAModel, StringComparison.Ordinal)).ToArray();
        var (code, output, error) = Run(args);
        Assert.AreEqual(expectedCode, code, error);
        Assert.AreEqual(1, error.Split('\n').Count(l => l.StartsWith("error: ", StringComparison.Ordinal)), error);
        StringAssert.StartsWith(error, "error: ");
        StringAssert.Contains(error, expected);
        Assert.AreEqual(string.Empty, output);
        Assert.AreEqual("an older export", File.ReadAllText(path));
    }

    [TestMethod]
    [DataRow("--engine onnx runs a deterministic graph, and --sampler ddpm draws fresh noise at every step", new[] { "--sampler", "ddpm" })]
    [DataRow("--engine onnx runs a deterministic graph: --eta must be 0, not 0.5", new[] { "--sampler", "ddim", "--eta", "0.5" })]
    [DataRow("--engine onnx runs a deterministic graph: --churn must be 0, not 3", new[] { "--sampler", "euler", "--churn", "3" })]
    [DataRow("--device cuda applies only to --engine torch", new[] { "--device", "cuda" })]
    [DataRow("--engine onnx takes seeds below 2^63", new[] { "--seed", "9223372036854775807", "--count", "2" })]
    [DataRow("--label '1' is not a class of this model: the model is unconditional and takes no --label", new[] { "--model", "{unconditional}", "--label", "1" })]
    [DataRow("--label '12' is not a class of this model: its classes are 0 T-shirt/top", new[] { "--label", "12" })]
    [DataRow("--eta applies only to --sampler ddim", new[] { "--eta", "0.5" })]
    public void Generate_OnnxEngine_RefusesWhatTheGraphCannotDo(string expected, string[] options)
    {
        var grid = NewPath("refused.png");
        var model = options.Contains("--model") ? [] : new[] { "--model", Conditional };
        var args = new[] { "generate", "--engine", "onnx", "--steps", "2", "--out", grid }.Concat(model).Concat(options)
            .Select(a => a.Replace("{unconditional}", Unconditional, StringComparison.Ordinal)).ToArray();
        var (code, output, error) = Run(args);
        Assert.AreEqual(1, code, error);
        Assert.AreEqual(1, error.Split('\n', StringSplitOptions.RemoveEmptyEntries).Length, error);
        StringAssert.StartsWith(error, "error: ");
        StringAssert.Contains(error, expected);
        Assert.AreEqual(string.Empty, output);
        Assert.IsFalse(File.Exists(grid));
    }

    [TestMethod]
    public void Generate_UnknownEngine_IsAUsageError()
    {
        var (code, _, error) = Run("generate", "--model", "m.zip", "--out", "x.png", "--engine", "tensorrt");
        Assert.AreEqual(2, code);
        StringAssert.StartsWith(error, "error: ");
        StringAssert.Contains(error, "'tensorrt' not recognized");
    }
}
