using MLNet.Diffusion.Models;
using TorchSharp;
using static TorchSharp.torch;
using MLNet.Diffusion.Training;
using MLNet.Diffusion.Datasets;
using MLNet.Diffusion.Images;
using MLNet.Diffusion.ForwardProcess;
using MLNet.Diffusion.Sampling;

namespace MLNet.Diffusion.Tests;

/// <summary>The code blocks of docs/schedulers.md, compiled and run (the Torch tests check each block is in compiled code).</summary>
[TestClass]
public sealed class DocsExamplesTests
{
    [TestMethod]
    public void Training_Example()
    {
        torch.random.manual_seed(0);
        using var net = nn.Sequential(nn.Conv2d(1, 8, 3, padding: 1), nn.SiLU(), nn.Conv2d(8, 1, 3, padding: 1));
        Tensor Model(Tensor x, Tensor t) => net.forward(x);  // a real model also reads t (the UNet does)
        using var optimizer = torch.optim.AdamW(net.parameters(), lr: 1e-3, weight_decay: 1e-2);
        using var images = torch.rand([8, 1, 8, 8]) * 2 - 1;
        double first = 0, last = 0;
        for (var i = 0; i < 30; i++)
        {
            // docs: training
            var schedule = NoiseSchedule.Create(BetaScheduleKind.Cosine, timesteps: 1000);
            var objective = new DiffusionObjective(schedule, PredictionType.VPrediction, LossWeighting.MinSnr);

            using var scope = torch.NewDisposeScope();
            var t = objective.SampleTimesteps(images.size(0));           // uniform in [0, T)
            var noise = torch.randn_like(images);
            var (noisy, target) = objective.Prepare(images, noise, t);   // x_t and the v target
            var loss = objective.Loss(Model(noisy, t), target, t);       // min-SNR-5 weighted MSE
            optimizer.zero_grad();
            loss.backward();
            optimizer.step();
            // end
            last = loss.ToDouble();
            if (i == 0) first = last;
        }

        Assert.IsTrue(double.IsFinite(first) && last < first, $"loss {first} -> {last}");
    }

    [TestMethod]
    public void Sampling_Example()
    {
        // docs: sampling
        var schedule = NoiseSchedule.Create();
        // The exact denoiser of data ~ N(0.3, 0.5²), standing in for a trained network: it returns E[x₀ | x_t].
        Denoiser denoiser = (x, t) =>
        {
            var a = schedule.AlphaBar(t);
            return (x - Math.Sqrt(a) * 0.3) * (0.25 * Math.Sqrt(a) / (0.25 * a + 1 - a)) + 0.3;
        };
        var sampler = new DpmSolverMultistepSampler(schedule, new SamplerOptions
        {
            PredictionType = PredictionType.Sample,   // what the denoiser returns
            ClipSample = false,                       // the data is not confined to [-1, 1]
        });
        using var noise = SamplingNoise.PerSample(firstSeed: 42, count: 256);  // one generator per sample
        using var samples = SamplingLoop.Run(sampler, denoiser, [256, 1], noise, steps: 20);
        // end
        Assert.AreEqual(0.3, samples.mean().ToDouble(), 0.1);
        Assert.AreEqual(20, sampler.Timesteps.Count);
    }

    [TestMethod]
    public void Likelihood_Example()
    {
        var schedule = NoiseSchedule.Create(timesteps: 100);
        Denoiser model = (x, t) => torch.zeros_like(x);  // predicts x₀ = 0 everywhere: a poor model
        using var images = torch.rand([16, 1, 4, 4]) * 2 - 1;
        // docs: likelihood
        var bound = VariationalBound.BitsPerDim(schedule, model, PredictionType.Sample, images);
        Console.WriteLine($"{bound.Total:F3} bits/dim (prior {bound.Prior:F4}, diffusion {bound.Diffusion:F3}, decoder {bound.Decoder:F3})");
        // end
        Assert.IsTrue(bound.Total > 0 && bound.Total == bound.Prior + bound.Diffusion + bound.Decoder);
    }

    public TestContext TestContext { get; set; } = null!;

    [TestMethod]
    public void TrainAndResume_Example()
    {
        var folder = Path.Combine(TestContext.TestRunDirectory ?? Path.GetTempPath(), "docs-" + Guid.NewGuid().ToString("N"));
        using var images = torch.rand([32, 1, 8, 8]) * 2 - 1;
        using var classes = torch.randint(0, 3, [32], ScalarType.Int64);
        // docs: train
        using var data = new TensorTrainingData(images, classes);  // [N, C, H, W] in [-1, 1], labels 0..2
        var options = new DdpmTrainerOptions
        {
            Model = UNetConfig.Preset("tiny", imageSize: 8, channels: 1),
            ClassConditional = true,                 // adds a class embedding; 10 % of labels dropped for guidance
            BatchSize = 8,
            MaxSteps = 20,
            WarmupSteps = 5,
            CheckpointDirectory = folder,
            CheckpointEvery = 10,
            Seed = 7,
            Device = "cpu",
        };
        using var result = new DdpmTrainer(options).Train(data, new Progress<TrainingProgress>(p =>
            Console.WriteLine($"step {p.Step}/{p.TotalSteps} loss {p.MeanLoss:F4} {p.ImagesPerSecond:F0} img/s, {p.Remaining:mm\\:ss} left")));
        // end
        Assert.AreEqual(20, result.Steps);
        // docs: resume
        // Carry on from the step-10 checkpoint for 10 more steps: on the CPU, bit-identical to the run above.
        using var resumed = DdpmTrainer.Resume(TrainingCheckpoint.PathFor(folder, 10), data, maxSteps: 30);
        // Or change what may change (here the learning rate), starting from the options the checkpoint recorded.
        var recorded = TrainingCheckpoint.Read(TrainingCheckpoint.PathFor(folder, 10)).Options;
        using var slower = DdpmTrainer.Resume(TrainingCheckpoint.PathFor(folder, 10), data, recorded with { LearningRate = 1e-4, MaxSteps = 30 });
        // end
        Assert.AreEqual(30, resumed.Steps);
        Assert.AreEqual((30L, 1e-4), (slower.Steps, slower.Options.LearningRate));
        // docs: generate
        var sampler = new DdimSampler(result.Schedule);
        var denoiser = UNetDenoiser.Create(result.EmaModel, torch.tensor(new long[] { 0, 1, 2, 2 }), guidanceScale: 3);
        using var noise = SamplingNoise.PerSample(firstSeed: 1, count: 4);
        using var generated = SamplingLoop.Run(sampler, denoiser, [4, 1, 8, 8], noise, steps: 50);  // in [-1, 1]
        // end
        CollectionAssert.AreEqual(new long[] { 4, 1, 8, 8 }, generated.shape);
    }

    [TestMethod]
    public void Data_Example()
    {
        var folder = Path.Combine(TestContext.TestRunDirectory ?? Path.GetTempPath(), "docs-data-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(folder);
        var path = Path.Combine(folder, "first-16.png");
        // docs: data
        // Debian's dataset-fashion-mnist (installed by ./build.sh): [N, 1, 28, 28] in [-1, 1] and int64 labels.
        var (images, labels) = FashionMnist.LoadTrain(limit: 1000);
        using var data = new TensorTrainingData(images, labels, FashionMnist.ClassCount);
        using var first = images.narrow(0, 0, 16);
        ImageGrid.SaveGrid(first, path, columns: 8);    // a PNG through SkiaSharp, 2 px white padding
        Image grid = ImageCodec.Load(path);             // 8-bit pixels, interleaved
        Console.WriteLine($"{grid.Width}×{grid.Height}, first label {FashionMnist.ClassNames[(int)labels[0].ToInt64()]}");
        // end
        images.Dispose();
        labels.Dispose();
        Assert.AreEqual((2 + (8 * 30), 2 + (2 * 30)), (grid.Width, grid.Height));
        Assert.AreEqual(1000, data.Count);
    }
}
