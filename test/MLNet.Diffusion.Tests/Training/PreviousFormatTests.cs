using System.IO.Compression;
using System.Text.Json.Nodes;
using MLNet.Diffusion.IO;
using MLNet.Diffusion.Models;
using MLNet.Diffusion.Pipelines;
using MLNet.Diffusion.Schedulers;
using MLNet.Diffusion.Training;
using TorchSharp;

namespace MLNet.Diffusion.Tests.Training;

/// <summary>
/// Files written before the move to TorchSharp still load. Their layout is unchanged (safetensors with the same tensor
/// names, the same JSON manifests and format versions); the manifests differ only in the options they record: they
/// have <c>MixedPrecision</c> (removed with bf16 autocast) and no <c>Threads</c>. These tests turn files of this version
/// into exactly that shape and load them.
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
            Safetensors.Save(path, content.Tensors, metadata);
        }

        using var resumed = DdpmTrainer.Resume(path, data, maxSteps: 3);
        Assert.AreEqual(3, resumed.Steps);
        Assert.IsTrue(resumed.Losses.All(double.IsFinite));
    }

    [TestMethod]
    public void ModelZip_WithThePreviousManifest_LoadsAndGenerates()
    {
        var path = Path.Combine(TestContext.TestRunDirectory ?? Path.GetTempPath(), "previous-" + Guid.NewGuid().ToString("N") + ".zip");
        using var data = Data();
        using (var result = new DdpmTrainer(Options(1)).Train(data))
        using (var model = DiffusionModel.FromTraining(result))
        {
            model.Save(path);
        }

        using (var zip = ZipFile.Open(path, ZipArchiveMode.Update))
        {
            var entry = zip.GetEntry("manifest.json")!;
            string json;
            using (var reader = new StreamReader(entry.Open()))
            {
                json = reader.ReadToEnd();
            }

            entry.Delete();
            using var writer = new StreamWriter(zip.CreateEntry("manifest.json").Open());
            writer.Write(Previous(json));
        }

        using var loaded = DiffusionModel.Load(path, "cpu");
        using var images = loaded.Generate(2, new GenerationOptions { Steps = 2 });
        CollectionAssert.AreEqual(new long[] { 2, 1, 8, 8 }, images.shape);
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
