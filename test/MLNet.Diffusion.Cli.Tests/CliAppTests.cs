using SkiaSharp;
using MLNet.Diffusion.Images;
using static MLNet.Diffusion.Cli.Tests.ModelFiles;

namespace MLNet.Diffusion.Cli.Tests;

[TestClass]
public sealed class CliAppTests
{
    private static string s_folder = null!;
    private static string s_model = null!;
    private static string s_unconditional = null!;
    private static string s_trainOutput = null!;

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
        s_trainOutput = output;
        StringAssert.Contains(File.ReadAllText(Path.Combine(s_folder, "report.html")), "<svg");
        s_unconditional = Path.Combine(s_folder, "unconditional", "model.zip");
        (code, _, error) = Run("train", "--data", "fashion-mnist", "--limit", "8", "--model", "tiny", "--steps", "1", "--batch-size", "4", "--device", "cpu",
            "--out", s_unconditional, "--sample-grid", "0");
        Assert.AreEqual(0, code, error);
    }

    // Test rows name paths known only at run time: {model}, {unconditional}, {folder} and {blocked} (a file where a folder would be).
    private static string Fill(string arg) =>
        arg.Replace("{model}", s_model, StringComparison.Ordinal).Replace("{unconditional}", s_unconditional, StringComparison.Ordinal)
            .Replace("{folder}", s_folder, StringComparison.Ordinal).Replace("{blocked}", Path.Combine(s_folder, "blocked"), StringComparison.Ordinal);

    [TestMethod]
    public void Bench_IsNotACommandOfTheTool()
    {
        // The benchmark is a program of its own (bench/MLNet.Diffusion.Bench, ./build.sh bench), not part of the tool.
        var (code, output, error) = Run("bench", "--check-only");
        Assert.AreEqual(2, code);
        StringAssert.Contains(error, "Unrecognized command or argument 'bench'");
        Assert.AreEqual(string.Empty, output);
    }

    [TestMethod]
    [DataRow(new[] { "generate", "--count", "four" }, "--count: 'four' is not a whole number.")]
    [DataRow(new[] { "generate", "--seed", "-1" }, "--seed: '-1' is not a whole number ≥ 0.")]
    [DataRow(new[] { "generate", "--guidance", "lots" }, "--guidance: 'lots' is not a number (with a '.' for decimals).")]
    public void AValueThatDoesNotParse_IsNamedWithWhatIsAccepted_NotANetType(string[] args, string said)
    {
        var (code, _, error) = Run([.. args, "--model", "m.zip", "--out", "x.png"]);
        Assert.AreEqual(2, code, error);
        StringAssert.Contains(error, said);
        Assert.IsFalse(error.Contains("System.", StringComparison.Ordinal), error);
    }

    [TestMethod]
    public void Train_WritesALoadableModel()
    {
        var (code, output, _) = Run("info", "--model", s_model);
        Assert.AreEqual(0, code);
        StringAssert.Contains(output, "10 classes");
        StringAssert.Contains(output, "training:   2 steps of 8");

        // One loss statistic: the console's last value is the model's final loss and the report's.
        var printed = System.Text.RegularExpressions.Regex.Matches(s_trainOutput, @"loss (\d+\.\d{4})").Last().Groups[1].Value;
        StringAssert.Contains(output, $"final loss {printed}");
        StringAssert.Contains(File.ReadAllText(Path.Combine(s_folder, "report.html")), $"final loss {printed} (mean of the last 10 steps)");
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
    public void Train_ImageFolderWithBadFiles_NamesThemAllBeforeAnyStep()
    {
        // A text file named .png and a truncated PNG among good images: both are named in one error before training starts.
        var images = Path.Combine(s_folder, "bad-images");
        Directory.CreateDirectory(Path.Combine(images, "a"));
        Directory.CreateDirectory(Path.Combine(images, "b"));
        var good = new Image(8, 8, 3);
        good.Pixels.Fill(120);
        ImageCodec.SavePng(good, Path.Combine(images, "a", "good.png"));
        ImageCodec.SavePng(good, Path.Combine(images, "b", "good.png"));
        var text = Path.Combine(images, "a", "notes.png");
        File.WriteAllText(text, "not an image");
        var truncated = Path.Combine(images, "b", "half.png");
        var bytes = File.ReadAllBytes(Path.Combine(images, "a", "good.png"));
        File.WriteAllBytes(truncated, bytes[..(bytes.Length / 2)]);
        var model = Path.Combine(s_folder, "bad-images.zip");

        var (code, output, error) = Run("train", "--data", images, "--image-size", "8", "--model", "tiny", "--steps", "2", "--batch-size", "2",
            "--device", "cpu", "--out", model, "--sample-grid", "0");

        Assert.AreEqual(1, code, output);
        var line = error.Trim();
        Assert.HasCount(1, line.Split('\n'), line);
        StringAssert.StartsWith(line, $"error: --data: 2 of the 4 files in '{images}' cannot be read as images, so nothing was trained:");
        StringAssert.Contains(line, text);
        StringAssert.Contains(line, truncated);
        Assert.DoesNotContain("step 1/", output);
        Assert.IsFalse(File.Exists(model));
    }

    [TestMethod]
    public void Train_ImageFolderClassConditional_RecordsTheFolderNamesAndGenerateTakesThem()
    {
        var images = Path.Combine(s_folder, "named-images");
        foreach (var (name, value) in new[] { ("light", (byte)220), ("dark", (byte)30) })
        {
            Directory.CreateDirectory(Path.Combine(images, name));
            for (var i = 0; i < 2; i++)
            {
                var image = new Image(8, 8, 3);
                image.Pixels.Fill(value);
                ImageCodec.SavePng(image, Path.Combine(images, name, $"{i}.png"));
            }
        }

        var model = Path.Combine(s_folder, "named.zip");
        var (code, _, error) = Run("train", "--data", images, "--image-size", "8", "--model", "tiny", "--steps", "1", "--batch-size", "2",
            "--class-conditional", "--device", "cpu", "--out", model, "--sample-grid", "0");
        Assert.AreEqual(0, code, error);
        var (infoCode, info, infoError) = Run("info", "--model", model);
        Assert.AreEqual(0, infoCode, infoError);
        StringAssert.Contains(info, "classes:    0 dark, 1 light\n");
        var byName = Path.Combine(s_folder, "light.png");
        var (nameCode, _, nameError) = Run("generate", "--model", model, "--count", "2", "--steps", "2", "--label", "light", "--device", "cpu", "--out", byName);
        Assert.AreEqual(0, nameCode, nameError);
        Assert.IsTrue(File.Exists(byName));
        var (badCode, _, badError) = Run("generate", "--model", model, "--count", "2", "--steps", "2", "--label", "grey", "--device", "cpu", "--out", Path.Combine(s_folder, "grey.png"));
        Assert.AreEqual(1, badCode);
        StringAssert.Contains(badError, "--label 'grey' is not a class of this model: its classes are 0 dark, 1 light (or -1 for an unconditional image).");
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
        StringAssert.Contains(output, "checked 4 images in ");
        StringAssert.Contains(output, "trained 2 steps");
        s_trainOutput = output;
        Assert.IsTrue(File.Exists(model));
        Assert.AreEqual(0, Run("info", "--model", model).Code);
        var (evalCode, _, evalError) = Run("eval", "--model", model, "--count", "4", "--device", "cpu");
        Assert.AreEqual(1, evalCode, "without --data, eval measures against Fashion-MNIST, which an RGB 8-px model cannot be");
        StringAssert.Contains(evalError, "give the real images to measure them against (--data <folder>)");
        StringAssert.Contains(evalError, "3×8×8");

        var (noSize, _, sizeError) = Run("train", "--data", images, "--model", "tiny", "--steps", "2", "--out", Path.Combine(s_folder, "none.zip"));
        Assert.AreEqual(1, noSize);
        StringAssert.Contains(sizeError, $"--data: '{images}' is a folder of images, which needs --image-size");
    }

    [TestMethod]
    public void Generate_PngPathWritesAGridAndAFolderOnePngPerImage()
    {
        var grid = Path.Combine(s_folder, "grid.png");
        var (code, _, error) = Run("generate", "--model", s_model, "--count", "3", "--label", "7", "--guidance", "2", "--steps", "5", "--out", grid, "--device", "cpu", "--scale", "1");
        Assert.AreEqual(0, code, error);
        var image = ImageCodec.Load(grid);
        Assert.AreEqual((2 + (3 * 30), 2 + 30), (image.Width, image.Height));

        // By default images below 64 px are shown at 2× (nearest neighbour: each pixel a 2 × 2 block of the 1× grid's).
        var enlarged = Path.Combine(s_folder, "grid-2x.png");
        (code, _, error) = Run("generate", "--model", s_model, "--count", "3", "--label", "7", "--guidance", "2", "--steps", "5", "--out", enlarged, "--device", "cpu");
        Assert.AreEqual(0, code, error);
        var twice = ImageCodec.Load(enlarged);
        Assert.AreEqual((2 + (3 * 58), 2 + 58), (twice.Width, twice.Height));
        for (var (y, x) = (0, 0); y < 28; y++, x = (x + 5) % 28)
        {
            for (var c = 0; c < image.Channels; c++)
            {
                var one = image[2 + 30 + x, 2 + y, c];
                Assert.AreEqual(one, twice[2 + 58 + (2 * x), 2 + (2 * y), c]);
                Assert.AreEqual(one, twice[2 + 58 + (2 * x) + 1, 2 + (2 * y) + 1, c]);
            }
        }
        var folder = Path.Combine(s_folder, "images");
        Assert.AreEqual(0, Run("generate", "--model", s_model, "--count", "2", "--sampler", "ddim", "--steps", "5", "--eta", "0.5", "--out", folder).Code);
        CollectionAssert.AreEqual(new[] { "0000.png", "0001.png" }, Directory.GetFiles(folder).Select(Path.GetFileName).Order().ToArray());
        var churned = Run("generate", "--model", s_model, "--count", "2", "--sampler", "heun", "--steps", "3", "--churn", "10", "--out", Path.Combine(s_folder, "churned.png"));
        Assert.AreEqual(0, churned.Code, churned.Error);
        StringAssert.Contains(churned.Output, "heun (churn 10), 3 steps");
        Assert.AreEqual(28, ImageCodec.Load(Path.Combine(folder, "0001.png")).Width);
    }

    [TestMethod]
    public void Outputs_InMissingFolders_AreWrittenThere()
    {
        // One rule for every command: a missing folder of an output is created before the work starts.
        var missing = Path.Combine(s_folder, "missing-" + Guid.NewGuid().ToString("N"));
        var model = Path.Combine(missing, "train", "model.zip");
        var (code, _, error) = Run("train", "--data", "fashion-mnist", "--limit", "8", "--model", "tiny", "--steps", "1", "--batch-size", "4", "--device", "cpu",
            "--out", model, "--checkpoint-dir", Path.Combine(missing, "checkpoints", "run1"), "--sample-grid", "0");
        Assert.AreEqual(0, code, error);
        Assert.IsTrue(File.Exists(model));
        Assert.IsTrue(File.Exists(Path.Combine(missing, "train", "report.html")));
        Assert.AreEqual(1, Directory.GetFiles(Path.Combine(missing, "checkpoints", "run1"), "checkpoint-*").Length);

        var grid = Path.Combine(missing, "generate", "grid.png");
        (code, _, error) = Run("generate", "--model", model, "--count", "2", "--steps", "2", "--device", "cpu", "--out", grid);
        Assert.AreEqual(0, code, error);
        Assert.IsTrue(File.Exists(grid));
        var images = Path.Combine(missing, "generate", "each", "image");
        (code, _, error) = Run("generate", "--model", model, "--count", "2", "--steps", "2", "--device", "cpu", "--out", images);
        Assert.AreEqual(0, code, error);
        Assert.AreEqual(2, Directory.GetFiles(images, "*.png").Length);
        Assert.AreEqual(0, Directory.GetFiles(missing, "*.tmp", SearchOption.AllDirectories).Length, "no probe or temporary file is left");
    }

    [TestMethod]
    [DataRow(new[] { "train", "--data", "fashion-mnist", "--limit", "8", "--model", "tiny", "--steps", "2", "--batch-size", "4", "--device", "cpu", "--out", "{blocked}/model.zip" },
        "--out", "{blocked}/model.zip")]
    [DataRow(new[] { "train", "--data", "fashion-mnist", "--limit", "8", "--model", "tiny", "--steps", "2", "--batch-size", "4", "--device", "cpu", "--out", "{folder}/unused.zip",
        "--checkpoint-dir", "{blocked}/checkpoints" }, "--checkpoint-dir", "{blocked}/checkpoints")]
    [DataRow(new[] { "generate", "--model", "{model}", "--count", "2", "--steps", "2", "--device", "cpu", "--out", "{blocked}/grid.png" }, "--out", "{blocked}/grid.png")]
    [DataRow(new[] { "generate", "--model", "{model}", "--count", "2", "--steps", "2", "--device", "cpu", "--out", "{blocked}/images" }, "--out", "{blocked}/images")]
    [DataRow(new[] { "eval", "--model", "{model}", "--count", "10", "--steps", "2", "--device", "cpu", "--cache-dir", "{folder}/fid-cache", "--json", "{blocked}/e.json" },
        "--json", "{blocked}/e.json")]
    [DataRow(new[] { "eval", "--model", "{model}", "--count", "10", "--steps", "2", "--device", "cpu", "--cache-dir", "{blocked}/cache" }, "--cache-dir", "{blocked}/cache")]
    public void Outputs_ThatCannotBeWritten_FailBeforeAnyWorkNamingThePathAsGiven(string[] args, string option, string path)
    {
        File.WriteAllText(Fill("{blocked}"), "a file where a folder would be");
        var (code, output, error) = Run([.. args.Select(Fill)]);
        Assert.AreEqual(1, code, error);
        Assert.AreEqual($"error: {option}: Cannot write '{Fill(path)}': '{Fill("{blocked}")}' is a file, not a folder.", error.Trim());
        Assert.AreEqual(string.Empty, output, "nothing was loaded, trained, generated or evaluated");
    }

    [TestMethod]
    // Each row is cheap even where the option is accepted (tiny models, few steps), so that a regression fails fast.
    [DataRow(new[] { "generate", "--model", "{model}", "--out", "{folder}/g.png", "--steps", "2", "--guidance", "3" }, "--guidance 3 applies only with --label")]
    [DataRow(new[] { "generate", "--model", "{model}", "--out", "{folder}/images", "--steps", "2", "--scale", "2" }, "--scale applies only to a grid (--out ending in .png)")]
    [DataRow(new[] { "generate", "--model", "{model}", "--out", "{folder}/g.png", "--steps", "2", "--device", "cuda" }, "--device cuda: CUDA is not available to mlnet-diffusion, which runs libtorch for the CPU")]
    [DataRow(new[] { "train", "--data", "fashion-mnist", "--out", "{folder}/t.zip", "--device", "cuda:1" }, "--device cuda:1: CUDA is not available to mlnet-diffusion")]
    [DataRow(new[] { "generate", "--model", "{model}", "--out", "{folder}/g.png", "--steps", "2", "--scale", "17" }, "--scale must be 1 to 16, not 17")]
    [DataRow(new[] { "generate", "--model", "{unconditional}", "--out", "{folder}/g.png", "--steps", "2", "--guidance", "3" }, "--guidance 3 applies only with --label")]
    [DataRow(new[] { "generate", "--model", "{unconditional}", "--out", "{folder}/g.png", "--guidance", "3", "--label", "1" }, "the model is unconditional and takes no --label")]
    [DataRow(new[] { "generate", "--model", "{model}", "--out", "{folder}/g.png", "--guidance", "-1", "--label", "1" }, "--guidance must be a finite number ≥ 0, not -1")]
    [DataRow(new[] { "generate", "--model", "{model}", "--out", "{folder}/g.png", "--steps", "2", "--eta", "0.5" }, "--eta applies only to --sampler ddim (η is DDIM's share of fresh noise), not to dpm-solver++")]
    [DataRow(new[] { "generate", "--model", "{model}", "--out", "{folder}/g.png", "--sampler", "ddpm", "--steps", "2", "--eta", "1" }, "--eta applies only to --sampler ddim")]
    [DataRow(new[] { "generate", "--model", "{model}", "--out", "{folder}/g.png", "--steps", "2", "--churn", "5" }, "--churn applies only to --sampler heun or euler (EDM's S_churn), not to dpm-solver++")]
    [DataRow(new[] { "generate", "--model", "{model}", "--out", "{folder}/g.png", "--sampler", "heun", "--steps", "2", "--churn", "-1" }, "--churn must be a finite number ≥ 0, not -1")]
    [DataRow(new[] { "generate", "--model", "{model}", "--out", "{folder}/g.jpg", "--steps", "2" }, "generate writes PNG only")]
    [DataRow(new[] { "generate", "--model", "{model}", "--out", "{folder}/g.png", "--steps", "0" }, "--steps must be ≥ 1, not 0")]
    [DataRow(new[] { "eval", "--model", "{unconditional}", "--count", "10", "--steps", "2", "--cache-dir", "{folder}/fid-cache", "--guidance", "2" },
        "--guidance 2 applies only to a class-conditional model")]
    [DataRow(new[] { "eval", "--model", "{model}", "--count", "10", "--steps", "2", "--cache-dir", "{folder}/fid-cache", "--eta", "0.5" }, "--eta applies only to --sampler ddim")]
    [DataRow(new[] { "eval", "--model", "{model}", "--count", "10", "--sampler", "ddim", "--steps", "2", "--cache-dir", "{folder}/fid-cache", "--churn", "1" }, "--churn applies only to --sampler heun or euler")]
    [DataRow(new[] { "train", "--data", "fashion-mnist", "--limit", "8", "--model", "tiny", "--steps", "1", "--batch-size", "4", "--device", "cpu", "--out", "{folder}/t.zip",
        "--checkpoint-every", "5" }, "--checkpoint-every applies only with --checkpoint-dir")]
    [DataRow(new[] { "train", "--data", "fashion-mnist", "--limit", "8", "--model", "tiny", "--steps", "1", "--batch-size", "4", "--device", "cpu", "--out", "{folder}/t.zip",
        "--sample-grid", "4" }, "--sample-grid applies only with --checkpoint-dir")]
    [DataRow(new[] { "train", "--data", "fashion-mnist", "--limit", "8", "--model", "tiny", "--steps", "1", "--batch-size", "4", "--device", "cpu", "--out", "{folder}/t.zip",
        "--class-conditional", "--labels", "labels.idx" }, "--labels does not apply to fashion-mnist")]
    [DataRow(new[] { "train", "--data", "images.idx", "--out", "{folder}/t.zip", "--labels", "labels.idx" }, "--labels applies only with --class-conditional")]
    public void Options_ThatWouldChangeNothing_AreRefusedSayingWhereTheyApply(string[] args, string expected)
    {
        var (code, output, error) = Run([.. args.Select(Fill)]);
        Assert.AreEqual(1, code, error);
        StringAssert.StartsWith(error, "error: ");
        StringAssert.Contains(error, expected);
        Assert.AreEqual(string.Empty, output);
        Assert.IsFalse(File.Exists(Fill("{folder}/g.png")) || File.Exists(Fill("{folder}/t.zip")) || Directory.Exists(Fill("{folder}/g.jpg")), "nothing was written");
    }

    [TestMethod]
    public void Eval_TinyModel_PrintsFidCoverageAndWritesJson()
    {
        var json = Path.Combine(s_folder, "eval-output", "eval.json");
        var cache = Path.Combine(s_folder, "fid-cache");
        var (code, output, error) = Run("eval", "--model", s_model, "--count", "10", "--sampler", "ddim", "--steps", "2", "--batch-size", "4",
            "--seed", "3", "--device", "cpu", "--json", json, "--cache-dir", cache);
        Assert.AreEqual(0, code, error);
        StringAssert.Contains(output, "generated:      10 images, Ddim 2 steps");
        StringAssert.Contains(output, "seeds 3..12");
        StringAssert.Contains(output, "features:       the Fashion-MNIST feature network (128 features)");
        StringAssert.Contains(output, "reference:      Fashion-MNIST test set, 10,000 images");
        StringAssert.Contains(output, "FID:            n/a, N too small");
        StringAssert.Contains(output, "(100 subsets of 10)   (real-data floor: ");
        StringAssert.Contains(output, "floors:         the first 10 Fashion-MNIST training images");
        StringAssert.Contains(output, "against the Fashion-MNIST training set: 60,000 images");
        StringAssert.Contains(output, "per-class hit:  T-shirt/top");
        StringAssert.Contains(output, "  in the reference: T-shirt/top");
        StringAssert.Matches(output, new System.Text.RegularExpressions.Regex(@"class mix:      total-variation distance [01]\.\d{3} from the reference's \(0 = the same mix; the labels asked for, i mod classes, set this model's mix\)"));
        StringAssert.Contains(output, "  generated 10/10");
        StringAssert.Contains(output, $"wrote {json}");
        using var document = System.Text.Json.JsonDocument.Parse(File.ReadAllText(json));
        Assert.AreEqual(10, document.RootElement.GetProperty("Count").GetInt32());
        Assert.AreEqual("NaN", document.RootElement.GetProperty("Fid").GetString());
        Assert.AreEqual(1, Directory.GetFiles(cache).Length, "the reference features are cached");
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
    [DataRow(new[] { "generate", "--model", "m.zip", "--out", "x.png", "--sampler", "lms" }, "'lms' not recognized")]
    [DataRow(new[] { "eval", "--model", "m.zip", "--count", "10", "--sampler", "lms" }, "'lms' not recognized")]
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
        var folder = Run("info", "--model", s_folder);
        StringAssert.StartsWith(folder.Error.Trim(), $"error: '{s_folder}' is a folder; a model is one .zip file (it holds ");
        StringAssert.Contains(folder.Error, "model.zip");
        var report = Run("info", "--model", Path.Combine(s_folder, "report.html"));
        StringAssert.Contains(report.Error, "it is not a zip archive: a model file is the .zip that training saves");
        var verbose = Run("info", "--model", missing, "--verbose");
        Assert.AreEqual(1, verbose.Code);
        StringAssert.Contains(verbose.Error, "at MLNet.Diffusion");
        var label = Run("generate", "--model", s_model, "--label", "12", "--out", Path.Combine(s_folder, "x.png"));
        Assert.AreEqual(1, label.Code);
        StringAssert.Contains(label.Error, "--label '12' is not a class of this model: its classes are 0 T-shirt/top, 1 Trouser");
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
