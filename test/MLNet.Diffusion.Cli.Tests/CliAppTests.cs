using MLNet.Diffusion.Data;
using SkiaSharp;

namespace MLNet.Diffusion.Cli.Tests;

[TestClass]
public sealed class CliAppTests
{
    private static string s_folder = null!;
    private static string s_model = null!;

    [ClassInitialize]
    public static void TrainOnce(TestContext context)
    {
        s_folder = Path.Combine(context.TestRunDirectory ?? Path.GetTempPath(), "cli-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(s_folder);
        s_model = Path.Combine(s_folder, "model.zip");
        var (code, output, error) = Run("train", "--data", "fashion-mnist", "--limit", "32", "--model", "tiny", "--steps", "2", "--batch-size", "8",
            "--class-conditional", "--device", "cpu", "--out", s_model, "--checkpoint-dir", Path.Combine(s_folder, "checkpoints"), "--checkpoint-every", "1", "--sample-grid", "0");
        Assert.AreEqual(0, code, error);
        StringAssert.Contains(output, "training on 32 images (1×28×28, 10 classes)");
        StringAssert.Contains(output, "trained 2 steps");
        StringAssert.Contains(File.ReadAllText(Path.Combine(s_folder, "report.html")), "<svg");
    }

    private static (int Code, string Output, string Error) Run(params string[] args)
    {
        using var output = new StringWriter();
        using var error = new StringWriter();
        var code = CliApp.Run(args, output, error);
        return (code, output.ToString(), error.ToString());
    }

    [TestMethod]
    public void Bench_UnknownPreset_IsAUsageErrorNamingThePresets()
    {
        var (code, _, error) = Run("bench", "--preset", "huge");
        Assert.AreEqual(2, code);
        StringAssert.Contains(error, "--preset takes one of tiny, small, ddpm-cifar10, not 'huge'");
    }

    [TestMethod]
    public void Bench_CheckOnly_TinyUNetAgreesWithPyTorch()
    {
        // Needs Debian's python3-torch (./build.sh installs it); the rest of the suite passes without it.
        using (var probe = System.Diagnostics.Process.Start(new System.Diagnostics.ProcessStartInfo("/usr/bin/python3", "-c \"import torch\"") { RedirectStandardError = true }))
        {
            if (probe is null || !probe.WaitForExit(60_000) || probe.ExitCode != 0)
            {
                Assert.Inconclusive("/usr/bin/python3 with torch (python3-torch) is not installed.");
            }
        }

        var (code, output, error) = Run("bench", "--check-only", "--workloads", "unet-train,unet-sample", "--preset", "tiny", "--batch-size", "2",
            "--image-size", "8", "--threads", "1");
        Assert.AreEqual(0, code, error);
        StringAssert.Contains(output, "one forward pass at random timesteps: largest difference");
        StringAssert.Contains(output, "--check-only: both sides compute the same numbers");
    }

    [TestMethod]
    public void Train_WritesALoadableModel()
    {
        var (code, output, _) = Run("info", "--model", s_model);
        Assert.AreEqual(0, code);
        StringAssert.Contains(output, "10 classes");
        StringAssert.Contains(output, "training:   2 steps of 8");
    }

    [TestMethod]
    public void Train_Resume_ContinuesFromTheNewestCheckpoint()
    {
        var resumed = Path.Combine(s_folder, "resumed.zip");
        var (code, output, error) = Run("train", "--data", "fashion-mnist", "--limit", "32", "--model", "tiny", "--steps", "3", "--batch-size", "8",
            "--class-conditional", "--device", "cpu", "--out", resumed, "--checkpoint-dir", Path.Combine(s_folder, "checkpoints"), "--resume", "--sample-grid", "0");
        Assert.AreEqual(0, code, error);
        StringAssert.Contains(output, "resuming");
        StringAssert.Contains(output, "trained 3 steps");
        Assert.AreEqual(0, Run("info", "--model", resumed).Code);
    }

    [TestMethod]
    public void Train_ImageFolder_UsesItsClassesAndNeedsAnImageSize()
    {
        var images = Path.Combine(s_folder, "images");
        for (var i = 0; i < 4; i++)
        {
            var classFolder = Path.Combine(images, i % 2 == 0 ? "dark" : "light");
            Directory.CreateDirectory(classFolder);
            var image = new Image(8, 8, 3);
            image.Pixels.Fill((byte)(i % 2 == 0 ? 30 : 220));
            if (i < 2)
            {
                ImageCodec.SavePng(image, Path.Combine(classFolder, $"{i}.png"));
            }
            else
            {
                SaveJpeg(image, Path.Combine(classFolder, $"{i}.jpg"));
            }
        }

        var model = Path.Combine(s_folder, "folder.zip");
        var (code, output, error) = Run("train", "--data", images, "--image-size", "8", "--model", "tiny", "--steps", "2", "--batch-size", "2",
            "--device", "cpu", "--out", model, "--sample-grid", "0");
        Assert.AreEqual(0, code, error);
        StringAssert.Contains(output, "training on 4 images (3×8×8, 2 classes)");
        StringAssert.Contains(output, "trained 2 steps");
        Assert.IsTrue(File.Exists(model));
        Assert.AreEqual(0, Run("info", "--model", model).Code);
        var (evalCode, _, evalError) = Run("eval", "--model", model, "--count", "4", "--device", "cpu");
        Assert.AreEqual(1, evalCode, "eval's feature network takes Fashion-MNIST-shaped images only");
        StringAssert.Contains(evalError, "28×28 grayscale");
        StringAssert.Contains(evalError, "3×8×8");

        var (noSize, _, sizeError) = Run("train", "--data", images, "--model", "tiny", "--steps", "2", "--out", Path.Combine(s_folder, "none.zip"));
        Assert.AreEqual(1, noSize);
        StringAssert.Contains(sizeError, $"--data: '{images}' is a folder of images, which needs --image-size");
    }

    [TestMethod]
    public void Generate_PngPathWritesAGridAndAFolderOnePngPerImage()
    {
        var grid = Path.Combine(s_folder, "grid.png");
        var (code, _, error) = Run("generate", "--model", s_model, "--count", "3", "--label", "7", "--guidance", "2", "--steps", "5", "--out", grid, "--device", "cpu");
        Assert.AreEqual(0, code, error);
        var image = ImageCodec.Load(grid);
        Assert.AreEqual((2 + (3 * 30), 2 + 30), (image.Width, image.Height));
        var folder = Path.Combine(s_folder, "images");
        Assert.AreEqual(0, Run("generate", "--model", s_model, "--count", "2", "--sampler", "ddim", "--steps", "5", "--out", folder).Code);
        CollectionAssert.AreEqual(new[] { "0000.png", "0001.png" }, Directory.GetFiles(folder).Select(Path.GetFileName).Order().ToArray());
        Assert.AreEqual(28, ImageCodec.Load(Path.Combine(folder, "0001.png")).Width);
    }

    [TestMethod]
    public void Eval_TinyModel_PrintsFidCoverageAndWritesJson()
    {
        var json = Path.Combine(s_folder, "eval.json");
        var cache = Path.Combine(s_folder, "fid-cache");
        var (code, output, error) = Run("eval", "--model", s_model, "--count", "10", "--sampler", "ddim", "--steps", "2", "--batch-size", "4",
            "--seed", "3", "--device", "cpu", "--json", json, "--cache-dir", cache);
        Assert.AreEqual(0, code, error);
        StringAssert.Contains(output, "generated:      10 images, Ddim 2 steps");
        StringAssert.Contains(output, "seeds 3..12");
        StringAssert.Contains(output, "FID:");
        StringAssert.Contains(output, "(real-data floor at 10 images:");
        StringAssert.Contains(output, "per-class hit:  T-shirt/top");
        StringAssert.Contains(output, "  generated 10/10");
        StringAssert.Contains(output, $"wrote {json}");
        using var document = System.Text.Json.JsonDocument.Parse(File.ReadAllText(json));
        Assert.AreEqual(10, document.RootElement.GetProperty("Count").GetInt32());
        Assert.IsTrue(document.RootElement.GetProperty("Fid").GetDouble() > 0);
        Assert.AreEqual(1, Directory.GetFiles(cache).Length, "the reference statistics are cached");
    }

    [TestMethod]
    [DataRow(new[] { "eval", "--model", "m.zip", "--count", "1" }, "--count must be ≥ 2")]
    [DataRow(new[] { "eval", "--model", "m.zip", "--count", "70000" }, "--count must be ≤ 60000")]
    [DataRow(new[] { "eval", "--model", "m.zip", "--count", "10", "--batch-size", "0" }, "--batch-size must be ≥ 1")]
    [DataRow(new[] { "eval", "--model", "m.zip", "--count", "10", "--steps", "0" }, "--steps must be ≥ 1")]
    [DataRow(new[] { "eval", "--model", "m.zip", "--count", "10", "--bits-per-dim-count", "-5" }, "--bits-per-dim-count must be in [0, 10000]")]
    [DataRow(new[] { "eval", "--model", "m.zip", "--count", "10", "--guidance", "-1" }, "--guidance must be a finite number ≥ 0")]
    [DataRow(new[] { "eval", "--model", "missing.zip", "--count", "10" }, "Model file 'missing.zip' does not exist")]
    public void Eval_BadArguments_ExitWith1AndSayWhatIsAccepted(string[] args, string expected)
    {
        var (code, _, error) = Run(args);
        Assert.AreEqual(1, code, error);
        StringAssert.StartsWith(error, "error: ");
        StringAssert.Contains(error, expected);
    }

    [TestMethod]
    [DataRow(new[] { "generate", "--model", "m.zip", "--out", "x.png", "--sampler", "euler" }, "'euler' not recognized")]
    [DataRow(new[] { "eval", "--model", "m.zip", "--count", "10", "--sampler", "euler" }, "'euler' not recognized")]
    [DataRow(new[] { "eval", "--model", "m.zip" }, "--count")]
    [DataRow(new[] { "generate", "--out", "x.png" }, "--model")]
    [DataRow(new[] { "train", "--data", "fashion-mnist", "--out", "m.zip", "--steps", "many" }, "many")]
    [DataRow(new[] { "fly" }, "fly")]
    public void UsageErrors_ExitWith2AndOneErrorLine(string[] args, string expected)
    {
        var (code, _, error) = Run(args);
        Assert.AreEqual(2, code);
        StringAssert.StartsWith(error, "error: ");
        StringAssert.Contains(error, expected);
    }

    [TestMethod]
    public void Failures_ExitWith1AndOneLine_StackTraceOnlyWhenVerbose()
    {
        var missing = Path.Combine(s_folder, "missing.zip");
        var (code, _, error) = Run("info", "--model", missing);
        Assert.AreEqual(1, code);
        Assert.AreEqual($"error: Model file '{missing}' does not exist.", error.Trim());
        var verbose = Run("info", "--model", missing, "--verbose");
        Assert.AreEqual(1, verbose.Code);
        StringAssert.Contains(verbose.Error, "at MLNet.Diffusion");
        var label = Run("generate", "--model", s_model, "--label", "12", "--out", Path.Combine(s_folder, "x.png"));
        Assert.AreEqual(1, label.Code);
        StringAssert.Contains(label.Error, "Labels must be in [0, 9]");
        var resume = Run("train", "--data", "fashion-mnist", "--out", "m.zip", "--resume");
        Assert.AreEqual(1, resume.Code);
        StringAssert.Contains(resume.Error, "--resume needs --checkpoint-dir");
        var size = Run("train", "--data", "fashion-mnist", "--limit", "8", "--out", "m.zip", "--image-size", "32");
        Assert.AreEqual(1, size.Code);
        StringAssert.Contains(size.Error, "--image-size 32 does not match the data's 28 px");
    }

    /// <summary>Writes an RGB image as JPEG through SkiaSharp (the library, which reads JPEG with it, writes only PNG).</summary>
    private static void SaveJpeg(Image image, string path)
    {
        using var bitmap = new SKBitmap(new SKImageInfo(image.Width, image.Height, SKColorType.Rgba8888, SKAlphaType.Opaque));
        for (var y = 0; y < image.Height; y++)
        {
            for (var x = 0; x < image.Width; x++)
            {
                bitmap.SetPixel(x, y, new SKColor(image[x, y, 0], image[x, y, 1], image[x, y, 2]));
            }
        }

        using var data = bitmap.Encode(SKEncodedImageFormat.Jpeg, 95);
        File.WriteAllBytes(path, data.ToArray());
    }
}
