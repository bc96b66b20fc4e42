using System.Globalization;
using System.Text.Json.Nodes;
using MLNet.Diffusion.IO;
using static MLNet.Diffusion.Cli.Tests.ModelFiles;

namespace MLNet.Diffusion.Cli.Tests;

/// <summary>
/// A training checkpoint given as <c>--model</c> is a model of its moving-average weights to every command that reads one,
/// which says so in one line: never refused, never reported as a damaged file.
/// </summary>
[TestClass]
public sealed class CheckpointAsModelTests
{
    private static string s_run = null!;

    [ClassInitialize]
    public static void TrainOnce(TestContext context)
    {
        s_run = NewPath("checkpointed");
        var (code, _, error) = Run("train", "--data", "fashion-mnist", "--limit", "16", "--model", "tiny", "--steps", "2", "--batch-size", "8",
            "--class-conditional", "--device", "cpu", "--sample-grid", "0", "--out", Path.Combine(s_run, "model.zip"),
            "--checkpoint-dir", Path.Combine(s_run, "checkpoints"), "--checkpoint-every", "1");
        Assert.AreEqual(0, code, error);
    }

    private static string Model => Path.Combine(s_run, "model.zip");

    private static string CheckpointDirectory => Path.Combine(s_run, "checkpoints");

    private static string Checkpoint(int step) => Path.Combine(CheckpointDirectory, string.Create(CultureInfo.InvariantCulture, $"checkpoint-{step:D8}.safetensors"));

    private static string Notice(string checkpoint, int step) => string.Create(CultureInfo.InvariantCulture,
        $"'{checkpoint}' is a training checkpoint (step {step} of 2): using its moving-average weights; `mlnet-diffusion train --resume --checkpoint-dir {CheckpointDirectory}` (with the run's --data and --out) continues its run");

    [TestMethod]
    [DataRow("generate", new[] { "--count", "2", "--steps", "2", "--device", "cpu", "--out", "{out}/grid.png" })]
    [DataRow("generate", new[] { "--count", "2", "--steps", "2", "--label", "Sneaker", "--guidance", "2", "--out", "{out}/images" })]
    [DataRow("generate", new[] { "--count", "2", "--steps", "2", "--engine", "onnx", "--out", "{out}/images" })]
    [DataRow("export", new[] { "--steps", "2", "--out", "{out}/model.onnx" })]
    [DataRow("eval", new[] { "--count", "2", "--steps", "2", "--device", "cpu", "--json", "{out}/eval.json", "--cache-dir", "{out}/cache" })]
    public void Command_GivenACheckpoint_UsesItsMovingAverageAndSaysSo(string command, string[] args)
    {
        var folder = NewPath("outputs");
        var (code, output, error) = Run([command, "--model", Checkpoint(1), .. args.Select(a => a.Replace("{out}", folder, StringComparison.Ordinal))]);
        Assert.AreEqual(0, code, error);
        Assert.AreEqual(string.Empty, error);
        Assert.AreEqual(Notice(Checkpoint(1), 1), output.Split('\n')[0].TrimEnd('\r'));
        var written = Directory.EnumerateFiles(folder, "*", SearchOption.AllDirectories).Select(Path.GetFileName).ToList();
        Assert.IsTrue(written.Any(name => name is "grid.png" or "0001.png" or "model.onnx" or "eval.json"), string.Join(", ", written));
    }

    [TestMethod]
    public void Generate_LastCheckpoint_WritesTheImagesOfTheModelTheRunSaved()
    {
        // The model file holds the moving average of the run's last step, as its last checkpoint does.
        var fromModel = NewPath("from-model");
        var fromCheckpoint = NewPath("from-checkpoint");
        foreach (var (model, folder) in new[] { (Model, fromModel), (Checkpoint(2), fromCheckpoint) })
        {
            var (code, _, error) = Run("generate", "--model", model, "--count", "3", "--steps", "3", "--label", "Bag", "--guidance", "2", "--seed", "5", "--out", folder);
            Assert.AreEqual(0, code, error);
        }

        foreach (var name in new[] { "0000.png", "0001.png", "0002.png" })
        {
            CollectionAssert.AreEqual(File.ReadAllBytes(Path.Combine(fromModel, name)), File.ReadAllBytes(Path.Combine(fromCheckpoint, name)), name);
        }
    }

    [TestMethod]
    public void Info_Checkpoint_SaysWhatItIsAndWhatItRecords()
    {
        var (code, output, error) = Run("info", "--model", Checkpoint(2));
        Assert.AreEqual(0, code, error);
        StringAssert.StartsWith(output, string.Create(CultureInfo.InvariantCulture,
            $"file:       {Checkpoint(2)} ({new FileInfo(Checkpoint(2)).Length:N0} bytes): a training checkpoint at step 2 of 2, read as a model of its moving-average weights; `mlnet-diffusion train --resume --checkpoint-dir {CheckpointDirectory}`"));
        StringAssert.Contains(output, "sampler:    none fixed (a checkpoint holds no graph; export and generate --engine onnx build one)");
        StringAssert.Contains(output, "classes:    0 T-shirt/top, 1 Trouser, 2 Pullover, 3 Dress, 4 Coat, 5 Sandal, 6 Shirt, 7 Sneaker, 8 Bag, 9 Ankle boot");
        StringAssert.Contains(output, "pixels:     Gray, value = (pixel − 127.5) × 0.007843138, [-1, 1]");
        StringAssert.Contains(output, "training:   2 steps of 8, final loss ");
        Assert.DoesNotContain("is a training checkpoint (", output, "info describes the file itself, without the other commands' notice");
    }

    [TestMethod]
    public void Info_CheckpointOfAnEarlierVersion_SaysNeitherEncodingNorNamesAreRecorded()
    {
        // Checkpoints written before the pixel encoding and the class names were recorded have neither in their options.
        var old = Path.Combine(NewPath("old"), "checkpoint-00000002.safetensors");
        Directory.CreateDirectory(Path.GetDirectoryName(old)!);
        using (var content = Safetensors.Load(Checkpoint(2)))
        {
            var manifest = JsonNode.Parse(content.Metadata["mlnet-diffusion.checkpoint"])!.AsObject();
            var options = manifest["State"]!["Options"]!.AsObject();
            Assert.IsTrue(options.Remove("PixelEncoding") && options.Remove("ClassNames"), "the checkpoint records both");
            Safetensors.Save(old, content.Tensors, new Dictionary<string, string> { ["mlnet-diffusion.checkpoint"] = manifest.ToJsonString() });
        }

        var (code, output, error) = Run("info", "--model", old);
        Assert.AreEqual(0, code, error);
        StringAssert.Contains(output, "classes:    10, numbered 0 to 9 (the checkpoint records no names)");
        StringAssert.Contains(output, "pixels:     pixel encoding not recorded (read as model space, [-1, 1])");

        var images = NewPath("old-images");
        (code, output, error) = Run("generate", "--model", old, "--count", "1", "--steps", "2", "--label", "8", "--out", images);
        Assert.AreEqual(0, code, error);
        StringAssert.StartsWith(output, $"'{old}' is a training checkpoint (step 2 of 2)");
        (code, _, error) = Run("generate", "--model", old, "--count", "1", "--steps", "2", "--label", "Bag", "--out", images);
        Assert.AreEqual(1, code);
        StringAssert.Contains(error, "--label 'Bag' is not a class of this model: the model records no class names: give a number from 0 to 9");
    }

    [TestMethod]
    public void Generate_TruncatedCheckpoint_OneErrorLineSayingItCannotBeRead()
    {
        var truncated = NewPath("truncated.safetensors");
        var bytes = File.ReadAllBytes(Checkpoint(2));
        File.WriteAllBytes(truncated, bytes[..(bytes.Length / 2)]);
        var folder = NewPath("outputs");
        var (code, output, error) = Run("generate", "--model", truncated, "--count", "1", "--steps", "2", "--out", folder);
        Assert.AreEqual(1, code);
        Assert.AreEqual(string.Empty, output);
        StringAssert.StartsWith(error, $"error: Checkpoint '{truncated}' cannot be read: ");
        Assert.HasCount(1, error.Trim().Split('\n'), error);
        Assert.IsFalse(Directory.Exists(folder));
    }
}
