using System.Text.Json.Nodes;
using MLNet.Diffusion.IO;
using MLNet.Diffusion.Models;
using MLNet.Diffusion.Training;
using TorchSharp;
using MLNet.Diffusion.Tests.Engine;
using MLNet.Diffusion.ForwardProcess;

namespace MLNet.Diffusion.Tests.Training;

/// <summary>
/// Files written before the move to TorchSharp still load. Their layout is unchanged (safetensors with the same tensor
/// names, the same JSON manifests and format versions). A model zip's manifest types did not change at all (it records
/// no trainer options; PyTorchReferenceTests loads a zip written by an independent writer, bench/reference). A
/// checkpoint's manifest differs only in the trainer options it records: the previous version's have
/// <c>MixedPrecision</c> (removed with bf16 autocast) and no <c>Threads</c>, and the checkpoint records nothing of the
/// run's history (no <c>history.loss</c> tensor; no smoothed loss, elapsed time, images trained or example count). This
/// test turns a checkpoint of this version into exactly that shape and resumes from it: the run's record then starts at
/// the resume point.
/// </summary>
[TestClass]
public sealed class PreviousFormatTests
{
    public TestContext TestContext { get; set; } = null!;

    [TestMethod]
    public void Checkpoint_WithThePreviousManifest_Resumes()
    {
        var directory = Path.Combine(TestContext.TestRunDirectory ?? Path.GetTempPath(), "previous-" + Guid.NewGuid().ToString("N"));
        using var data = Data();
        using (var _ = new DdpmTrainer(Options(2) with { CheckpointDirectory = directory, CheckpointEvery = 1 }).Train(data))
        {
        }

        var path = TrainingCheckpoint.PathFor(directory, 2);
        using (var content = Safetensors.Load(path))
        {
            var metadata = content.Metadata.ToDictionary(p => p.Key, p => Previous(p.Value));
            StringAssert.Contains(metadata.Values.Single(), "\"MixedPrecision\":true");
            Assert.IsTrue(content.Tensors.ContainsKey("history.loss"));
            Safetensors.Save(path, content.Tensors.Where(p => !p.Key.StartsWith("history.", StringComparison.Ordinal)), metadata);
        }

        using var resumed = DdpmTrainer.Resume(path, data, maxSteps: 3);
        Assert.AreEqual(3, resumed.Steps);
        Assert.AreEqual(1, resumed.Losses.Count, "the losses from the resume point (step 3)");
        Assert.IsTrue(resumed.Losses.All(double.IsFinite));
        using var next = Safetensors.Load(TrainingCheckpoint.PathFor(directory, 3));
        Assert.AreEqual(1, next.Tensors["history.loss"].shape[0], "later checkpoints record the history from there");
    }

    [TestMethod]
    public void Checkpoint_WithoutLearningRates_ResumesWithTheirStepsUnknown()
    {
        // Checkpoints written before the learning rates were recorded have history.loss but no history.lr.
        var directory = Path.Combine(TestContext.TestRunDirectory ?? Path.GetTempPath(), "no-rates-" + Guid.NewGuid().ToString("N"));
        using var data = Data();
        using (var _ = new DdpmTrainer(Options(2) with { CheckpointDirectory = directory, CheckpointEvery = 1 }).Train(data))
        {
        }

        var path = TrainingCheckpoint.PathFor(directory, 2);
        using (var content = Safetensors.Load(path))
        {
            Assert.AreEqual(2, content.Tensors["history.lr"].shape[0]);
            Safetensors.Save(path, content.Tensors.Where(p => p.Key != "history.lr"), content.Metadata);
        }

        using var resumed = DdpmTrainer.Resume(path, data, maxSteps: 3);
        Assert.AreEqual(3, resumed.Losses.Count, "the losses are whole");
        Assert.IsTrue(resumed.LearningRates.Take(2).All(double.IsNaN), "the rates of steps 1 and 2 are unknown");
        Assert.IsTrue(resumed.LearningRates[2] > 0);
        StringAssert.Contains(TrainingReport.Render(resumed), "Not recorded for enough steps");
    }

    // The previous version's manifest: every recorded trainer options object has MixedPrecision, none has Threads.
    private static string Previous(string json)
    {
        var root = JsonNode.Parse(json)!;
        var changed = 0;
        void Visit(JsonNode? node)
        {
            if (node is JsonObject o)
            {
                if (o.ContainsKey("EmaDecay"))
                {
                    o.Remove("Threads");
                    o["MixedPrecision"] = true;
                    changed++;
                }

                o.Remove("Threads");
                foreach (var (_, child) in o.ToList())
                {
                    Visit(child);
                }
            }
            else if (node is JsonArray a)
            {
                foreach (var child in a)
                {
                    Visit(child);
                }
            }
        }

        Visit(root);
        Assert.IsTrue(changed > 0, "the manifest records no trainer options");
        var state = root["State"]!.AsObject();
        foreach (var recorded in new[] { "ElapsedSeconds", "ImagesTrained", "ExampleCount" })
        {
            Assert.IsTrue(state.Remove(recorded), $"the manifest has no {recorded}");
        }

        return root.ToJsonString();
    }

    private static TensorTrainingData Data()
    {
        torch.random.manual_seed(3);
        using var images = torch.rand(4, 1, 8, 8) * 2 - 1;
        return new TensorTrainingData(images);
    }

    private static DdpmTrainerOptions Options(long steps) => new()
    {
        Model = UNetConfig.Preset("tiny", 8, 1),
        Schedule = new NoiseScheduleOptions { Kind = BetaScheduleKind.Cosine, TrainTimesteps = 50 },
        BatchSize = 2,
        MaxSteps = steps,
        Device = "cpu",
        SampleGridSize = 0,
    };
}
