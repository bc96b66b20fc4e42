using System.Globalization;
using System.Text.Json;
using MLNet.Diffusion.IO;
using MLNet.Diffusion.ModelFormat;
using static MLNet.Diffusion.Cli.Tests.ModelFiles;

namespace MLNet.Diffusion.Cli.Tests;

/// <summary>
/// <c>train --resume</c> continues the same run in everything it records, applies the options that may change and refuses,
/// before any work, those that may not. Tiny runs on 16 Fashion-MNIST images, one thread, so that the numbers are exact.
/// </summary>
[TestClass]
public sealed class TrainResumeTests
{
    public TestContext TestContext { get; set; } = null!;

    private string NewDirectory()
    {
        var path = Path.Combine(TestContext.TestRunDirectory ?? Path.GetTempPath(), "resume-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(path);
        return path;
    }

    private static (int Code, string Output, string Error) Train(params string[] args) =>
        Run([.. new[] { "train", "--data", "fashion-mnist", "--limit", "16", "--model", "tiny", "--batch-size", "4", "--device", "cpu", "--threads", "1", "--sample-grid", "0" }, .. args]);

    private static string Checkpoint(string directory, long step) =>
        Path.Combine(directory, string.Create(CultureInfo.InvariantCulture, $"checkpoint-{step:D8}.safetensors"));

    // The trainer options a checkpoint records, read from its manifest.
    private static JsonElement RecordedOptions(string checkpoint)
    {
        using var content = Safetensors.Load(checkpoint);
        using var manifest = JsonDocument.Parse(content.Metadata["mlnet-diffusion.checkpoint"]);
        return manifest.RootElement.GetProperty("State").GetProperty("Options").Clone();
    }

    // The "training:" line of `info`, without its time and throughput.
    private static string TrainingSummary(string model)
    {
        var (code, output, error) = Run("info", "--model", model);
        Assert.AreEqual(0, code, error);
        var line = output.Split('\n').Single(l => l.StartsWith("training:", StringComparison.Ordinal));
        return line[..line.IndexOf(", seed ", StringComparison.Ordinal)];
    }

    private static string[] CurvePoints(string report)
    {
        var html = File.ReadAllText(report);
        return html[(html.IndexOf("points=\"", StringComparison.Ordinal) + 8)..].Split('"')[0].Split(' ');
    }

    [TestMethod]
    public void Resume_FromTheMiddleOfARun_RecordsTheSameSummaryAndCurveAsTheStraightRun()
    {
        var root = NewDirectory();
        var straight = Path.Combine(root, "straight");
        var (code, _, error) = Train("--steps", "4", "--out", Path.Combine(straight, "model.zip"), "--checkpoint-dir", Path.Combine(straight, "ck"), "--checkpoint-every", "2");
        Assert.AreEqual(0, code, error);

        // The same run, interrupted after step 2 and resumed.
        var split = Path.Combine(root, "split");
        Directory.CreateDirectory(Path.Combine(split, "ck"));
        File.Copy(Checkpoint(Path.Combine(straight, "ck"), 2), Checkpoint(Path.Combine(split, "ck"), 2));
        (code, var output, error) = Train("--out", Path.Combine(split, "model.zip"), "--checkpoint-dir", Path.Combine(split, "ck"), "--resume");
        Assert.AreEqual(0, code, error);
        StringAssert.Contains(output, "trained 4 steps");

        var (expected, actual) = (TrainingSummary(Path.Combine(straight, "model.zip")), TrainingSummary(Path.Combine(split, "model.zip")));
        TestContext.WriteLine($"straight: {expected}\nresumed:  {actual}");
        Assert.AreEqual(expected, actual, "steps, batch and final loss (the mean of steps 1 to 4)");
        Assert.AreEqual(4, CurvePoints(Path.Combine(split, "report.html")).Length, "the report's curve covers steps 1 to 4");
        CollectionAssert.AreEqual(CurvePoints(Path.Combine(straight, "report.html")), CurvePoints(Path.Combine(split, "report.html")));
    }

    [TestMethod]
    public void Resume_AfterDivergence_WithALowerLearningRate_AppliesAndRecordsIt()
    {
        // The case: the run diverges, the error says to lower the learning rate, and --resume --lr must do so.
        var root = NewDirectory();
        var checkpoints = Path.Combine(root, "ck");
        // The short-run recipe warms up over all 10 steps, so the rate reaches 15 by step 5, after the checkpoint at step 3.
        var (code, _, error) = Train("--steps", "10", "--lr", "30", "--recipe", "short-run", "--prediction", "v", "--out", Path.Combine(root, "model.zip"),
            "--checkpoint-dir", checkpoints, "--checkpoint-every", "3");
        Assert.AreEqual(1, code);
        StringAssert.Contains(error, "Training diverged at step 5");
        StringAssert.Contains(error, Checkpoint(checkpoints, 3));

        (code, var output, error) = Train("--steps", "10", "--lr", "0.001", "--out", Path.Combine(root, "model.zip"), "--checkpoint-dir", checkpoints, "--resume");
        Assert.AreEqual(0, code, error);
        StringAssert.Contains(output, "resuming at step 3 with --lr 30 → 0.001");
        StringAssert.Contains(output, "trained 10 steps");
        Assert.AreEqual(0.001, RecordedOptions(Checkpoint(checkpoints, 10)).GetProperty("LearningRate").GetDouble(), "the checkpoint records the rate used");
        Assert.AreEqual(3, RecordedOptions(Checkpoint(checkpoints, 10)).GetProperty("CheckpointEvery").GetInt32(), "what was not given is kept");
    }

    [TestMethod]
    public void Resume_WithOptionsThatDefineTheRun_FailsBeforeTrainingNamingEachWithBothValues()
    {
        var root = NewDirectory();
        var checkpoints = Path.Combine(root, "ck");
        var (code, _, error) = Run("train", "--data", "fashion-mnist", "--limit", "64", "--model", "tiny", "--steps", "1", "--device", "cpu", "--sample-grid", "0",
            "--out", Path.Combine(root, "model.zip"), "--checkpoint-dir", checkpoints);
        Assert.AreEqual(0, code, error);
        Assert.AreEqual(64, RecordedOptions(Checkpoint(checkpoints, 1)).GetProperty("BatchSize").GetInt32(), "the default batch size");

        (code, var output, error) = Run("train", "--data", "fashion-mnist", "--limit", "64", "--model", "tiny", "--steps", "2", "--device", "cpu", "--sample-grid", "0",
            "--out", Path.Combine(root, "resumed.zip"), "--checkpoint-dir", checkpoints, "--resume", "--batch-size", "3", "--seed", "5", "--lr", "0.0001");
        Assert.AreEqual(1, code);
        Assert.AreEqual(1, error.Trim().Split('\n').Length, error);
        StringAssert.StartsWith(error, "error: --resume: ");
        StringAssert.Contains(error, "--batch-size is 64 in the run, 3 given");
        StringAssert.Contains(error, "--seed is 0 in the run, 5 given");
        Assert.IsFalse(error.Contains("--lr", StringComparison.Ordinal), "the learning rate may change");
        Assert.AreEqual(string.Empty, output, "nothing was loaded or trained");
        CollectionAssert.AreEqual(new[] { Checkpoint(checkpoints, 1) }, Directory.GetFiles(checkpoints, "checkpoint-*"));
        Assert.IsFalse(File.Exists(Path.Combine(root, "resumed.zip")));
    }

    [TestMethod]
    public void LossWeighting_MinSnr_IsRecorded_AndFixedOnResume()
    {
        var root = NewDirectory();
        var checkpoints = Path.Combine(root, "ck");
        var (code, _, error) = Train("--steps", "1", "--loss-weighting", "min-snr", "--min-snr-gamma", "3", "--out", Path.Combine(root, "model.zip"),
            "--checkpoint-dir", checkpoints);
        Assert.AreEqual(0, code, error);
        var options = RecordedOptions(Checkpoint(checkpoints, 1));
        Assert.AreEqual("MinSnr", options.GetProperty("LossWeighting").GetString());
        Assert.AreEqual(3, options.GetProperty("MinSnrGamma").GetDouble());

        (code, _, error) = Train("--steps", "2", "--out", Path.Combine(root, "resumed.zip"), "--checkpoint-dir", checkpoints, "--resume",
            "--loss-weighting", "min-snr", "--min-snr-gamma", "4");
        Assert.AreEqual(1, code);
        StringAssert.Contains(error, "--min-snr-gamma is 3 in the run, 4 given");
        (code, _, error) = Train("--steps", "2", "--out", Path.Combine(root, "resumed.zip"), "--checkpoint-dir", checkpoints, "--resume", "--loss-weighting", "uniform");
        Assert.AreEqual(1, code);
        StringAssert.Contains(error, "--loss-weighting is min-snr in the run, uniform given");
        (code, _, error) = Train("--steps", "1", "--min-snr-gamma", "2", "--out", Path.Combine(root, "other.zip"));
        Assert.AreEqual(1, code);
        StringAssert.Contains(error, "--min-snr-gamma applies only with --loss-weighting min-snr");
        Assert.IsFalse(File.Exists(Path.Combine(root, "resumed.zip")) || File.Exists(Path.Combine(root, "other.zip")));
    }

    /// <summary>
    /// A new run takes --recipe's settings (default: the library's, v prediction for a run this short) with --prediction, --lr, --schedule and
    /// --loss-weighting overriding them; a run started on the recipe before it (ε) keeps ε when it resumes, as every recorded
    /// setting; --recipe with --resume is refused.
    /// </summary>
    [TestMethod]
    public void Recipe_SetsANewRunsSettings_AndARunOnTheOldRecipeResumesOnIt()
    {
        var root = NewDirectory();
        var (code, output, error) = Train("--steps", "1", "--out", Path.Combine(root, "default.zip"), "--checkpoint-dir", Path.Combine(root, "default"));
        Assert.AreEqual(0, code, error);
        StringAssert.Contains(output, "v prediction, peak learning rate 0.001 after 1 warm-up steps (recipe default)");
        var options = RecordedOptions(Checkpoint(Path.Combine(root, "default"), 1));
        Assert.AreEqual("VPrediction", options.GetProperty("PredictionType").GetString());
        Assert.AreEqual(1e-3, options.GetProperty("LearningRate").GetDouble());
        Assert.AreEqual("Cosine", options.GetProperty("LearningRateSchedule").GetString());

        (code, output, error) = Train("--steps", "1", "--recipe", "default", "--prediction", "epsilon", "--lr", "0.0005", "--schedule", "cosine",
            "--out", Path.Combine(root, "overridden.zip"), "--checkpoint-dir", Path.Combine(root, "overridden"));
        Assert.AreEqual(0, code, error);
        StringAssert.Contains(output, "epsilon prediction, peak learning rate 0.0005 after 1 warm-up steps (recipe default)");
        options = RecordedOptions(Checkpoint(Path.Combine(root, "overridden"), 1));
        Assert.AreEqual("Epsilon", options.GetProperty("PredictionType").GetString());
        Assert.AreEqual(5e-4, options.GetProperty("LearningRate").GetDouble());
        Assert.AreEqual("Cosine", options.GetProperty("Schedule").GetProperty("Kind").GetString());

        var old = Path.Combine(root, "short-run");
        (code, _, error) = Train("--steps", "1", "--recipe", "short-run", "--out", Path.Combine(root, "short.zip"), "--checkpoint-dir", old);
        Assert.AreEqual(0, code, error);
        Assert.AreEqual("Epsilon", RecordedOptions(Checkpoint(old, 1)).GetProperty("PredictionType").GetString());
        (code, output, error) = Train("--steps", "2", "--out", Path.Combine(root, "resumed.zip"), "--checkpoint-dir", old, "--resume");
        Assert.AreEqual(0, code, error);
        StringAssert.Contains(output, "epsilon prediction, peak learning rate 0.001 after 1 warm-up steps (the run's own)");
        Assert.AreEqual("Epsilon", RecordedOptions(Checkpoint(old, 2)).GetProperty("PredictionType").GetString());
        (code, output, _) = Run("info", "--model", Path.Combine(root, "resumed.zip"));
        StringAssert.Contains(output, "predicts Epsilon");

        (code, _, error) = Train("--steps", "3", "--out", Path.Combine(root, "again.zip"), "--checkpoint-dir", old, "--resume", "--recipe", "default");
        Assert.AreEqual(1, code);
        StringAssert.Contains(error, "--recipe applies to a new run: a resumed run keeps the settings its checkpoint records");
    }

    [TestMethod]
    public void Resume_WithAnotherCheckpointDir_WritesThere()
    {
        // The checkpoint records the directory it was written to; the folder it has moved to is the one given.
        var root = NewDirectory();
        var (first, second) = (Path.Combine(root, "ckA"), Path.Combine(root, "ckB"));
        var (code, _, error) = Train("--steps", "2", "--out", Path.Combine(root, "model.zip"), "--checkpoint-dir", first, "--checkpoint-every", "2");
        Assert.AreEqual(0, code, error);
        Directory.CreateDirectory(second);
        File.Copy(Checkpoint(first, 2), Checkpoint(second, 2));

        (code, var output, error) = Train("--steps", "3", "--out", Path.Combine(root, "model.zip"), "--checkpoint-dir", second, "--resume");
        Assert.AreEqual(0, code, error);
        StringAssert.Contains(output, $"--checkpoint-dir {first} → {second}");
        Assert.IsTrue(File.Exists(Checkpoint(second, 3)), "the new checkpoint is in the directory given");
        Assert.IsFalse(File.Exists(Checkpoint(first, 3)), "and not in the one the checkpoint recorded");
        Assert.AreEqual(second, RecordedOptions(Checkpoint(second, 3)).GetProperty("CheckpointDirectory").GetString());
    }
}
