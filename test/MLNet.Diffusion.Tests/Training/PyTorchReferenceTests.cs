using MLNet.Diffusion.Engine;
using MLNet.Diffusion.Bench;
using TorchSharp;
using static TorchSharp.torch;
using MLNet.Diffusion.Training;
using MLNet.Diffusion.Datasets;
using MLNet.Diffusion.Tests.Images;
using MLNet.Diffusion.ForwardProcess;

namespace MLNet.Diffusion.Tests.Training;

/// <summary>
/// Our UNet, training step and samplers against the PyTorch reference in bench/reference (unet.py, diffusion.py,
/// train_reference.py), run by Debian's python3-torch. That is torch 1.13 while TorchSharp brings libtorch 2.10, so the
/// two sides agree to rounding, within the tolerances stated here, not bit for bit. Inconclusive where python3-torch is
/// absent.
/// </summary>
[TestClass]
public sealed class PyTorchReferenceTests
{
    private static string ReferenceScript(string name)
    {
        // The bench project copies the scripts next to everything that references it, this test assembly included.
        var path = Path.Combine(AppContext.BaseDirectory, "reference", name);
        Assert.IsTrue(File.Exists(path), $"{path} was not copied next to the tests.");
        return path;
    }

    [TestMethod]
    public void BenchmarkCheck_TinyUNet_AgreesWithPyTorchElementwise()
    {
        DebianPython.RequireTorchOrInconclusive();
        using var output = new StringWriter();
        using var error = new StringWriter();

        // The benchmark's start-up check at test size: the same weights and inputs on both sides, then one forward pass,
        // one training step (loss, weights, EMA) and 5-step DDIM and DPM-Solver++ runs compared element by element.
        var code = BenchApp.Run(
            ["--check-only", "--workloads", "unet-train,unet-sample", "--preset", "tiny", "--batch-size", "4", "--image-size", "16", "--threads", "1", "--malloc", "default"],
            output, error);

        var text = output.ToString();
        Console.WriteLine(text);  // each check names its largest difference and its tolerance (the bench's, Agreement.cs)
        Assert.AreEqual(0, code, $"{text}\n{error}");
        foreach (var check in new[] { "weights after one step", "EMA after one step", "one forward pass", "DDIM, 5 steps", "DPM-Solver++(2M), 5 steps" })
        {
            StringAssert.Contains(text, check);
        }

        StringAssert.Contains(text, "--check-only: both sides compute the same numbers");
    }

    [TestMethod]
    public void TrainReference_FewSteps_WritesAModelOurLoaderTakesWithOurTrainersWeights()
    {
        DebianPython.RequireTorchOrInconclusive();
        using var folder = new TempFolder();
        var path = folder.File("pytorch.zip");
        const int Steps = 3;
        const int Batch = 8;
        const int Limit = 64;

        var (exitCode, log) = DebianPython.RunFile(ReferenceScript("train_reference.py"), TimeSpan.FromMinutes(2),
            "--steps", $"{Steps}", "--batch-size", $"{Batch}", "--model", "tiny", "--limit", $"{Limit}", "--threads", "1", "--seed", "3", "--out", path);
        Assert.AreEqual(0, exitCode, log);
        StringAssert.Contains(log, "images/s");

        // Our trainer with the recipe of `mlnet-diffusion train` (CliApp.cs) on the same images and seed.
        var (images, labels) = FashionMnist.LoadTrain(Limit);
        using var data = new TensorTrainingData(images, labels, FashionMnist.ClassCount);
        images.Dispose();
        labels.Dispose();
        var threads = torch.get_num_threads();
        torch.set_num_threads(1);
        TrainingResult result;
        try
        {
            result = new DdpmTrainer(new DdpmTrainerOptions
            {
                ModelPreset = "tiny", MaxSteps = Steps, BatchSize = Batch, LearningRate = 1e-3, WarmupSteps = Steps,
                LearningRateSchedule = LearningRateSchedule.Cosine, EmaDecay = 0.999, Seed = 3, Device = "cpu", SampleGridSize = 0,
            }).Train(data);
        }
        finally
        {
            torch.set_num_threads(threads);
        }

        using (result)
        using (var ours = DiffusionModel.FromTraining(result))
        using (var theirs = DiffusionModel.Load(path, "cpu"))
        {
            Assert.AreEqual(ours.Config.ToString(), theirs.Config.ToString());
            Assert.AreEqual(ours.ParameterCount, theirs.ParameterCount);
            Assert.AreEqual(PredictionType.Epsilon, theirs.PredictionType);
            Assert.AreEqual(BetaScheduleKind.Linear, theirs.ScheduleOptions.Kind);
            Assert.AreEqual(Steps, theirs.Training!.Steps);

            // Same initial weights, data order, timesteps, noise, loss, clipping, AdamW and EMA: the same EMA weights, to
            // within 1e-4 of each tensor's largest weight (libtorch 2.10 against torch 1.13; the largest difference seen,
            // relative to that scale, was 3.2e-5).
            var oursState = ours.Network.state_dict();
            var worst = 0.0;
            foreach (var (name, their) in theirs.Network.state_dict())
            {
                using var scope = torch.NewDisposeScope();
                var difference = (oursState[name] - their).abs().max().ToDouble();
                var scale = Math.Max(their.abs().max().ToDouble(), 1e-6);
                worst = Math.Max(worst, difference / scale);
                Assert.IsTrue(difference <= 1e-4 * scale, $"{name}: ours and PyTorch's EMA weights differ by {difference:G3} (largest weight {scale:G3}).");
            }

            Console.WriteLine($"EMA weights: largest difference {worst:G3} of a tensor's largest weight");

            // And the model PyTorch trained generates through our pipeline.
            using var generated = theirs.Generate(2, new GenerationOptions { Sampler = SamplerKind.Ddim, Steps = 2 });
            CollectionAssert.AreEqual(new long[] { 2, 1, 28, 28 }, generated.shape);
        }
    }
}
