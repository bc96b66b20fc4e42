using MLNet.Diffusion.ForwardProcess;
using MLNet.Diffusion.Images;
using MLNet.Diffusion.IO;
using MLNet.Diffusion.Models;
using MLNet.Diffusion.Training;
using System.Text.Json;
using TorchSharp;

namespace MLNet.Diffusion.Tests;

[TestClass]
public sealed class DiffusionModelFromCheckpointTests
{
    public TestContext TestContext { get; set; } = null!;

    private static readonly string[] s_names = ["stripes", "checks", "square"];

    // Not the default encoding, so that reading it back is seen.
    private static readonly PixelEncoding s_encoding = PixelEncoding.ModelSpace(1) with { Resizing = ImageResizeMode.IsoCrop };

    private string NewDirectory()
    {
        var path = Path.Combine(TestContext.TestRunDirectory ?? Path.GetTempPath(), "from-checkpoint-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(path);
        return path;
    }

    // Three steps of a tiny class-conditional 8 px run with a checkpoint after each.
    private TrainingResult Train(IReadOnlyList<string>? names, PixelEncoding? encoding)
    {
        torch.manual_seed(3);
        using var images = torch.rand([8, 1, 8, 8]) * 2 - 1;
        using var labels = torch.tensor(new long[] { 0, 1, 2, 0, 1, 2, 0, 1 });
        using var data = new TensorTrainingData(images, labels, 3);
        var options = new DdpmTrainerOptions
        {
            Model = UNetConfig.Preset("tiny", 8, 1),
            Schedule = new NoiseScheduleOptions { Kind = BetaScheduleKind.Cosine, TrainTimesteps = 100 },
            ClassConditional = true, BatchSize = 4, MaxSteps = 3, WarmupSteps = 1, LearningRate = 1e-2, Device = "cpu", Seed = 5,
            SampleGridSize = 0, CheckpointDirectory = NewDirectory(), CheckpointEvery = 1, ClassNames = names, PixelEncoding = encoding,
        };
        return new DdpmTrainer(options).Train(data);
    }

    private static float[] Generate(DiffusionModel model)
    {
        var options = new GenerationOptions { Sampler = SamplerKind.Ddim, Steps = 5, Seed = 11, Labels = [0, 2, -1, 1], Guidance = 2 };
        using var images = model.Generate(4, options);
        return images.data<float>().ToArray();
    }

    [TestMethod]
    public void FromCheckpoint_LastCheckpoint_IsTheModelFromTraining()
    {
        using var result = Train(s_names, s_encoding);
        using var trained = DiffusionModel.FromTraining(result);
        using var fromCheckpoint = DiffusionModel.FromCheckpoint(result.LastCheckpoint!, "cpu");

        CollectionAssert.AreEqual(Generate(trained), Generate(fromCheckpoint), "the same seeds and labels give bit-identical images");
        // UNetConfig holds lists, which a record compares by reference: compared as the JSON the files hold.
        Assert.AreEqual(JsonSerializer.Serialize(trained.Config, JsonSettings.Options), JsonSerializer.Serialize(fromCheckpoint.Config, JsonSettings.Options));
        Assert.AreEqual(trained.ScheduleOptions, fromCheckpoint.ScheduleOptions);
        Assert.AreEqual(trained.PredictionType, fromCheckpoint.PredictionType);
        Assert.AreEqual(s_encoding, fromCheckpoint.Preprocessing);
        CollectionAssert.AreEqual(s_names, fromCheckpoint.ClassNames!.ToArray());
        Assert.IsNull(fromCheckpoint.LoadedFormatVersion, "not read from a model file");

        // The checkpoint is written just before the run stops its clock: all but the time are the same.
        var (a, b) = (trained.Training!, fromCheckpoint.Training!);
        Assert.AreEqual(a with { Seconds = 0, ImagesPerSecond = 0 }, b with { Seconds = 0, ImagesPerSecond = 0 }, $"{a} / {b}");
        Assert.IsTrue(b.Seconds > 0 && b.Seconds <= a.Seconds, $"{b.Seconds} s at the checkpoint, {a.Seconds} s at the end");
        Assert.AreEqual(3 * 4, b.ImagesPerSecond * b.Seconds, 1e-6, "images/s × seconds = 3 steps of 4 images");
    }

    [TestMethod]
    public void FromCheckpoint_EarlierCheckpoint_SummarisesTheRunUpToItsStep()
    {
        using var result = Train(s_names, s_encoding);
        using var model = DiffusionModel.FromCheckpoint(TrainingCheckpoint.PathFor(result.Options.CheckpointDirectory!, 2), "cpu");
        Assert.AreEqual(2, model.Training!.Steps);
        Assert.AreEqual(result.Losses.Take(2).Average(), model.Training.FinalLoss, "the mean of the losses of steps 1 and 2");
        Assert.AreEqual(2, TrainingCheckpoint.Read(TrainingCheckpoint.PathFor(result.Options.CheckpointDirectory!, 2)).Step);
        Assert.AreEqual(3, TrainingCheckpoint.Read(result.LastCheckpoint!).TotalSteps());
    }

    [TestMethod]
    public void FromCheckpoint_RecordingNoEncodingOrNames_ReadsAsModelSpaceAndNumberedClasses()
    {
        using var result = Train(names: null, encoding: null);
        var recorded = TrainingCheckpoint.Read(result.LastCheckpoint!).Options;
        Assert.AreEqual(PixelEncoding.ModelSpace(1), recorded.PixelEncoding, "a run given no encoding records model space");
        Assert.IsNull(recorded.ClassNames);

        // A checkpoint of an earlier version records neither: its manifest without the encoding.
        using (var content = Safetensors.Load(result.LastCheckpoint!))
        {
            var metadata = content.Metadata.ToDictionary(p => p.Key, p =>
            {
                var manifest = System.Text.Json.Nodes.JsonNode.Parse(p.Value)!;
                Assert.IsTrue(manifest["State"]!["Options"]!.AsObject().Remove("PixelEncoding"));
                return manifest.ToJsonString();
            });
            Safetensors.Save(result.LastCheckpoint!, content.Tensors, metadata);
        }

        Assert.IsNull(TrainingCheckpoint.Read(result.LastCheckpoint!).Options.PixelEncoding);

        using var model = DiffusionModel.FromCheckpoint(result.LastCheckpoint!, "cpu");
        Assert.AreEqual(PixelEncoding.ModelSpace(1), model.Preprocessing);
        Assert.IsNull(model.ClassNames);
        Assert.AreEqual(3, model.Config.NumClasses);
    }

    [TestMethod]
    public void FromCheckpoint_NotACheckpoint_SaysWhatTheFileIsAndWhatIsRead()
    {
        var directory = NewDirectory();
        var missing = Path.Combine(directory, "missing.safetensors");
        Assert.AreEqual($"Checkpoint '{missing}' does not exist.", Assert.ThrowsExactly<FileNotFoundException>(() => DiffusionModel.FromCheckpoint(missing)).Message);

        var zip = Path.Combine(directory, "model.zip");
        var truncated = Path.Combine(directory, "truncated.safetensors");
        using (var result = Train(s_names, s_encoding))
        using (var model = DiffusionModel.FromTraining(result))
        {
            model.Save(zip);
            var bytes = File.ReadAllBytes(result.LastCheckpoint!);
            File.WriteAllBytes(truncated, bytes[..(bytes.Length / 2)]);
        }

        StringAssert.StartsWith(Assert.ThrowsExactly<InvalidDataException>(() => DiffusionModel.FromCheckpoint(truncated, "cpu")).Message,
            $"Checkpoint '{truncated}' cannot be read: '{truncated}' is not a valid safetensors file: ");

        Assert.AreEqual($"'{zip}' is a zip, as model files are, not a training checkpoint (a safetensors file): DiffusionModel.Load reads model files.",
            Assert.ThrowsExactly<InvalidDataException>(() => DiffusionModel.FromCheckpoint(zip, "cpu")).Message);

        var weights = Path.Combine(directory, "weights.safetensors");
        using (var t = torch.zeros([1]))
        {
            Safetensors.Save(weights, [new("w", t)]);
        }

        StringAssert.StartsWith(Assert.ThrowsExactly<InvalidDataException>(() => DiffusionModel.FromCheckpoint(weights, "cpu")).Message,
            $"'{weights}' is a safetensors file but not an MLNet.Diffusion training checkpoint");

        var garbage = Path.Combine(directory, "garbage.safetensors");
        File.WriteAllBytes(garbage, [1, 2, 3]);
        StringAssert.StartsWith(Assert.ThrowsExactly<InvalidDataException>(() => DiffusionModel.FromCheckpoint(garbage, "cpu")).Message,
            $"'{garbage}' is not a training checkpoint (one of the checkpoint-*.safetensors files a run writes into its DdpmTrainerOptions.CheckpointDirectory): ");
    }
}
