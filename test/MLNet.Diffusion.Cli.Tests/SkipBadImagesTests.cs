using System.Globalization;
using MLNet.Diffusion.Images;
using MLNet.Diffusion.Training;
using static MLNet.Diffusion.Cli.Tests.ModelFiles;

namespace MLNet.Diffusion.Cli.Tests;

/// <summary>
/// <c>train --skip-bad-images</c>: the files of an image folder that cannot be read are left out, named in one warning and
/// recorded in the checkpoints, and <c>--resume</c> leaves out exactly those, so the run goes on on the same rows. Tiny runs on
/// 8 × 8 images, one thread, so that a resumed run's numbers equal a straight run's.
/// </summary>
[TestClass]
public sealed class SkipBadImagesTests
{
    public TestContext TestContext { get; set; } = null!;

    private string NewDirectory()
    {
        var path = Path.Combine(TestContext.TestRunDirectory ?? Path.GetTempPath(), "skip-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(path);
        return path;
    }

    private static (int Code, string Output, string Error) Train(string images, params string[] args) =>
        Run([.. new[] { "train", "--data", images, "--image-size", "8", "--model", "tiny", "--batch-size", "2", "--device", "cpu", "--threads", "1", "--sample-grid", "0" }, .. args]);

    private static string Checkpoint(string directory, long step) =>
        Path.Combine(directory, string.Create(CultureInfo.InvariantCulture, $"checkpoint-{step:D8}.safetensors"));

    // Two classes of three good 8 × 8 PNGs each, and two files that are not images: a text file named .png and a truncated PNG.
    private static string BadFolder(string root)
    {
        var images = Path.Combine(root, "images");
        foreach (var (name, value) in new[] { ("a", (byte)40), ("b", (byte)200) })
        {
            Directory.CreateDirectory(Path.Combine(images, name));
            for (var i = 0; i < 3; i++)
            {
                var image = new Image(8, 8, 3);
                image.Pixels.Fill((byte)(value + (10 * i)));
                ImageCodec.SavePng(image, Path.Combine(images, name, $"{i}.png"));
            }
        }

        File.WriteAllText(Path.Combine(images, "a", "notes.png"), "not an image");
        var bytes = File.ReadAllBytes(Path.Combine(images, "a", "0.png"));
        File.WriteAllBytes(Path.Combine(images, "b", "half.png"), bytes[..(bytes.Length / 2)]);
        return images;
    }

    // The "training:" line of `info`, without its time and throughput.
    private static string TrainingSummary(string model)
    {
        var (code, output, error) = Run("info", "--model", model);
        Assert.AreEqual(0, code, error);
        var line = output.Split('\n').Single(l => l.StartsWith("training:", StringComparison.Ordinal));
        return line[..line.IndexOf(", seed ", StringComparison.Ordinal)];
    }

    [TestMethod]
    public void Train_SkipBadImages_LeavesOutTheUnreadableFilesNamesThemAndRecordsThem()
    {
        var root = NewDirectory();
        var images = BadFolder(root);
        var checkpoints = Path.Combine(root, "ck");

        var (code, output, error) = Train(images, "--skip-bad-images", "--steps", "2", "--out", Path.Combine(root, "model.zip"), "--checkpoint-dir", checkpoints);

        Assert.AreEqual(0, code, error);
        var warning = output.Split('\n').Single(l => l.StartsWith("warning:", StringComparison.Ordinal));
        Assert.AreEqual($"warning: --skip-bad-images: leaving out 2 of the 8 files in '{images}', which cannot be read as images: a/notes.png, b/half.png", warning);
        StringAssert.Contains(output, "training on 6 images (3×8×8, 2 classes)");
        StringAssert.Contains(output, "trained 2 steps");
        CollectionAssert.AreEqual(new[] { "a/notes.png", "b/half.png" }, TrainingCheckpoint.Read(Checkpoint(checkpoints, 2)).Options.ExcludedFiles!.ToArray());
        StringAssert.Contains(File.ReadAllText(Path.Combine(root, "report.html")), "6 images (2 unreadable files left out)");
    }

    [TestMethod]
    public void Train_SkipBadImages_ManyFiles_NamesTheFirstTenAndCountsTheRest()
    {
        var root = NewDirectory();
        var images = BadFolder(root);
        for (var i = 0; i < 11; i++)
        {
            File.WriteAllText(Path.Combine(images, "b", $"text{i:D2}.png"), "not an image");
        }

        var (code, output, error) = Train(images, "--skip-bad-images", "--steps", "1", "--out", Path.Combine(root, "model.zip"));

        Assert.AreEqual(0, code, error);
        var warning = output.Split('\n').Single(l => l.StartsWith("warning:", StringComparison.Ordinal));
        StringAssert.StartsWith(warning, $"warning: --skip-bad-images: leaving out 13 of the 19 files in '{images}'");
        StringAssert.EndsWith(warning, ": a/notes.png, b/half.png, b/text00.png, b/text01.png, b/text02.png, b/text03.png, b/text04.png, b/text05.png, b/text06.png, b/text07.png … and 3 more");
    }

    [TestMethod]
    public void Resume_AfterSkippingBadImages_LeavesOutTheSameFilesAndMatchesTheStraightRun()
    {
        var root = NewDirectory();
        var images = BadFolder(root);
        var straight = Path.Combine(root, "straight");
        var (code, _, error) = Train(images, "--skip-bad-images", "--steps", "4", "--out", Path.Combine(straight, "model.zip"),
            "--checkpoint-dir", Path.Combine(straight, "ck"), "--checkpoint-every", "2");
        Assert.AreEqual(0, code, error);

        // The run interrupted after step 2, one of its bad files repaired meanwhile: the resumed run still leaves it out, so
        // that it trains on the rows (and in the order) the straight run did.
        var image = new Image(8, 8, 3);
        image.Pixels.Fill(90);
        ImageCodec.SavePng(image, Path.Combine(images, "a", "notes.png"));
        var split = Path.Combine(root, "split");
        Directory.CreateDirectory(Path.Combine(split, "ck"));
        File.Copy(Checkpoint(Path.Combine(straight, "ck"), 2), Checkpoint(Path.Combine(split, "ck"), 2));
        (code, var output, error) = Train(images, "--out", Path.Combine(split, "model.zip"), "--checkpoint-dir", Path.Combine(split, "ck"), "--resume");

        Assert.AreEqual(0, code, error);
        StringAssert.Contains(output, "leaving out the 2 files the run left out (--skip-bad-images): a/notes.png, b/half.png");
        StringAssert.Contains(output, "training on 6 images");
        StringAssert.Contains(output, "trained 4 steps");
        Assert.AreEqual(TrainingSummary(Path.Combine(straight, "model.zip")), TrainingSummary(Path.Combine(split, "model.zip")), "steps, batch and final loss");
        CollectionAssert.AreEqual(new[] { "a/notes.png", "b/half.png" }, TrainingCheckpoint.Read(Checkpoint(Path.Combine(split, "ck"), 4)).Options.ExcludedFiles!.ToArray());
    }

    [TestMethod]
    public void Resume_WhenAnotherFileCannotBeRead_IsRefusedNamingItBeforeAnyStep()
    {
        var root = NewDirectory();
        var images = BadFolder(root);
        var checkpoints = Path.Combine(root, "ck");
        var (code, _, error) = Train(images, "--skip-bad-images", "--steps", "1", "--out", Path.Combine(root, "model.zip"), "--checkpoint-dir", checkpoints);
        Assert.AreEqual(0, code, error);
        var broken = Path.Combine(images, "b", "1.png");
        File.WriteAllText(broken, "no longer an image");

        (code, var output, error) = Train(images, "--skip-bad-images", "--steps", "2", "--out", Path.Combine(root, "resumed.zip"), "--checkpoint-dir", checkpoints, "--resume");

        Assert.AreEqual(1, code, output);
        var line = error.Trim();
        Assert.HasCount(1, line.Split('\n'), line);
        StringAssert.StartsWith(line, $"error: --resume: 1 of the 6 files in '{images}' cannot be read as images: Image file '{broken}'");
        StringAssert.Contains(line, "The run left out only a/notes.png, b/half.png, and a resumed run must train on the same files");
        Assert.DoesNotContain("step 2/", output);
        Assert.IsFalse(File.Exists(Path.Combine(root, "resumed.zip")));
        CollectionAssert.AreEqual(new[] { Checkpoint(checkpoints, 1) }, Directory.GetFiles(checkpoints, "checkpoint-*"));
    }

    [TestMethod]
    public void Train_BadImagesWithoutTheFlag_FailsAndSaysHowToSkipThem()
    {
        var root = NewDirectory();
        var (code, output, error) = Train(BadFolder(root), "--steps", "1", "--out", Path.Combine(root, "model.zip"));
        Assert.AreEqual(1, code, output);
        StringAssert.EndsWith(error.Trim(), "Remove or repair them, or pass --skip-bad-images to train on the rest");
    }

    [TestMethod]
    [DataRow("fashion-mnist")]
    public void Train_SkipBadImagesOnDataThatIsNotAFolder_IsRefusedSayingWhereItApplies(string data)
    {
        var root = NewDirectory();
        var (code, output, error) = Run("train", "--data", data, "--limit", "8", "--model", "tiny", "--steps", "1", "--device", "cpu",
            "--skip-bad-images", "--out", Path.Combine(root, "model.zip"));
        Assert.AreEqual(1, code, output);
        Assert.AreEqual("error: --skip-bad-images applies only to an image folder (--data naming a folder of PNG/JPEG files): fashion-mnist and IDX files hold no image files to leave out", error.Trim());
        Assert.AreEqual(string.Empty, output);
    }
}
