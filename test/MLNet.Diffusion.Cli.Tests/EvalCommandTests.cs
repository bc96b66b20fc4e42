using System.Text.Json;
using MLNet.Diffusion.Images;

namespace MLNet.Diffusion.Cli.Tests;

/// <summary><c>eval --data &lt;folder&gt;</c> on an RGB model: ResNet-18 features, every metric beside its floor, memorization and its picture.</summary>
[TestClass]
public sealed class EvalCommandTests
{
    private static string s_folder = "";
    private static string s_images = "";
    private static string s_model = "";

    [ClassInitialize]
    public static void TrainOnce(TestContext context)
    {
        s_folder = Path.Combine(context.TestRunDirectory ?? Path.GetTempPath(), "eval-" + Guid.NewGuid().ToString("N"));
        s_images = Path.Combine(s_folder, "shapes");
        WriteShapes(s_images, 24);
        s_model = Path.Combine(s_folder, "shapes.zip");
        var (code, _, error) = Run("train", "--data", s_images, "--image-size", "16", "--model", "tiny", "--steps", "2", "--batch-size", "8",
            "--device", "cpu", "--out", s_model, "--sample-grid", "0");
        Assert.AreEqual(0, code, error);
    }

    [ClassCleanup]
    public static void Cleanup()
    {
        if (Directory.Exists(s_folder))
        {
            Directory.Delete(s_folder, recursive: true);
        }
    }

    // Discs and squares of several colours on gray, 20 px (resized to the model's 16 px as train resizes them).
    private static void WriteShapes(string folder, int count)
    {
        Directory.CreateDirectory(folder);
        var random = new Random(3);
        for (var i = 0; i < count; i++)
        {
            var image = new Image(20, 20, 3);
            var (cx, cy, r) = (random.Next(6, 14), random.Next(6, 14), random.Next(3, 6));
            var colour = new[] { (byte)random.Next(256), (byte)random.Next(256), (byte)random.Next(256) };
            for (var y = 0; y < 20; y++)
            {
                for (var x = 0; x < 20; x++)
                {
                    var inside = i % 2 == 0 ? ((x - cx) * (x - cx)) + ((y - cy) * (y - cy)) <= r * r : Math.Abs(x - cx) <= r && Math.Abs(y - cy) <= r;
                    for (var c = 0; c < 3; c++)
                    {
                        image.Pixels[(((y * 20) + x) * 3) + c] = inside ? colour[c] : (byte)128;
                    }
                }
            }

            ImageCodec.SavePng(image, Path.Combine(folder, $"{i:D3}.png"));
        }
    }

    private static (int Code, string Output, string Error) Run(params string[] args) => ModelFiles.Run(args);

    [TestMethod]
    public void Eval_RgbFolder_PrintsEveryMetricBesideItsFloor_AndWritesThePairsAndJson()
    {
        var pairs = Path.Combine(s_folder, "out", "pairs.png");
        var json = Path.Combine(s_folder, "out", "eval.json");
        var (code, output, error) = Run("eval", "--model", s_model, "--data", s_images, "--count", "12", "--steps", "2", "--batch-size", "6",
            "--device", "cpu", "--pairs", pairs, "--json", json, "--cache-dir", Path.Combine(s_folder, "cache"));
        Console.WriteLine(output);
        Assert.AreEqual(0, code, error);
        StringAssert.Contains(output, "features:       ResNet-18 (ImageNet; ML.NET DnnImageFeaturizer), 512 features");
        StringAssert.Contains(output, $"reference:      image folder '{s_images}', 24 images");
        StringAssert.Contains(output, "FID:            n/a, N too small (FID needs 1024 or more");
        StringAssert.Contains(output, "(100 subsets of 12)   (real-data floor: ");
        StringAssert.Contains(output, "precision/recall: ");
        StringAssert.Contains(output, "(k = 3, 12 real vs 12 generated)   (real-data floor: ");
        StringAssert.Contains(output, $"floors:         two disjoint halves of 6 images of the image folder '{s_images}'");
        StringAssert.Contains(output, $"against the image folder '{s_images}': 24 images");
        StringAssert.Contains(output, "ratio histogram, 0 to 1 in steps of 0.05: ");
        Assert.IsFalse(output.Contains("classes seen:", StringComparison.Ordinal), "no classifier comes with ResNet-18");
        StringAssert.Contains(output, $"wrote {pairs}");
        var picture = ImageCodec.Load(pairs);
        Assert.AreEqual((8 * 18 + 2) * 2, picture.Width);

        using var document = JsonDocument.Parse(File.ReadAllText(json));
        var root = document.RootElement;
        Assert.AreEqual(24, root.GetProperty("ReferenceCount").GetInt32());
        Assert.AreEqual(12, root.GetProperty("Memorization").GetProperty("Ratios").GetArrayLength());
        Assert.AreEqual("NaN", root.GetProperty("Fid").GetString());

        // The reference's features are cached: a second run reads them (one file, whatever the run).
        (code, _, error) = Run("eval", "--model", s_model, "--data", s_images, "--count", "4", "--steps", "2", "--device", "cpu", "--cache-dir", Path.Combine(s_folder, "cache"));
        Assert.AreEqual(0, code, error);
        Assert.AreEqual(1, Directory.GetFiles(Path.Combine(s_folder, "cache"), "features-*").Length);
    }

    [TestMethod]
    public void Train_EvalEvery_PrintsTheCostAndEachKid_KeepsBestZip_AndDrawsTheCurve()
    {
        var run = Path.Combine(s_folder, "evaluated");
        var (code, output, error) = Run("train", "--data", s_images, "--image-size", "16", "--model", "tiny", "--steps", "4", "--batch-size", "8",
            "--device", "cpu", "--out", Path.Combine(run, "m.zip"), "--checkpoint-dir", Path.Combine(run, "checkpoints"), "--sample-grid", "0",
            "--eval-every", "2", "--eval-count", "8");
        Console.WriteLine(output);
        Assert.AreEqual(0, code, error);
        StringAssert.Contains(output, "evaluation: 8 training images featurized in ");
        StringAssert.Contains(output, "evaluation: about ");
        StringAssert.Contains(output, "every 2 steps; training takes about ");
        StringAssert.Contains(output, "evaluation at step 2: KID ");
        StringAssert.Contains(output, "evaluation at step 4: KID ");
        Assert.IsTrue(File.Exists(Path.Combine(run, "checkpoints", "best.zip")));
        (code, output, error) = Run("info", "--model", Path.Combine(run, "checkpoints", "best.zip"));
        Assert.AreEqual(0, code, error);
        StringAssert.Contains(output, "format version 2");
        var report = File.ReadAllText(Path.Combine(run, "report.html"));
        StringAssert.Contains(report, "<h2>Evaluation</h2>");
        StringAssert.Contains(report, "aria-label=\"evaluation: KID\"");
    }

    [TestMethod]
    [DataRow(new[] { "--eval-every", "2" }, "--eval-every needs --checkpoint-dir")]
    [DataRow(new[] { "--eval-count", "8", "--checkpoint-dir", "{folder}/c" }, "--eval-count applies only with --eval-every")]
    [DataRow(new[] { "--eval-every", "-1" }, "--eval-every must be ≥ 0")]
    [DataRow(new[] { "--eval-every", "0", "--eval-count", "8", "--checkpoint-dir", "{folder}/c" }, "--eval-count applies only with --eval-every")]
    [DataRow(new[] { "--eval-every", "2", "--eval-count", "2", "--checkpoint-dir", "{folder}/c" }, "--eval-count must be ≥ 4")]
    public void Train_EvalOptionsThatCannotApply_AreRefused(string[] args, string expected)
    {
        var (code, output, error) = Run(["train", "--data", s_images, "--image-size", "16", "--model", "tiny", "--steps", "2", "--device", "cpu",
            "--out", Path.Combine(s_folder, "refused.zip"), .. args.Select(a => a.Replace("{folder}", s_folder, StringComparison.Ordinal))]);
        Assert.AreNotEqual(0, code, output);
        StringAssert.Contains(error, expected);
        Assert.IsFalse(File.Exists(Path.Combine(s_folder, "refused.zip")));
    }

    [TestMethod]
    [DataRow(new[] { "--count", "4" }, "give the real images to measure them against (--data <folder>)")]
    [DataRow(new[] { "--count", "4", "--data", "{images}", "--features", "fashion-mnist" }, "--features fashion-mnist takes 28×28 grayscale images")]
    [DataRow(new[] { "--count", "4", "--data", "{images}", "--bits-per-dim-count", "2" }, "--bits-per-dim-count: bits/dim is estimated on Fashion-MNIST's test images")]
    [DataRow(new[] { "--count", "4", "--data", "no-such-folder" }, "--data: 'no-such-folder' is neither fashion-mnist nor an existing image folder or IDX file")]
    [DataRow(new[] { "--count", "4", "--data", "{images}", "--train-data", "missing" }, "--train-data: 'missing' is neither")]
    public void Eval_RgbModel_WithoutFittingData_IsRefusedWithTheFix(string[] args, string expected)
    {
        var (code, output, error) = Run(["eval", "--model", s_model, "--device", "cpu", .. args.Select(a => a.Replace("{images}", s_images, StringComparison.Ordinal))]);
        Assert.AreNotEqual(0, code, output);
        StringAssert.Contains(error, expected);
    }
}
