using System.Diagnostics;
using MLNet.Diffusion.Models;
using MLNet.Diffusion.Training;
using TorchSharp;
using static TorchSharp.torch;
using MLNet.Diffusion.ForwardProcess;
using MLNet.Diffusion.Sampling;

namespace MLNet.Diffusion.Tests.Sampling;

/// <summary>
/// Where DPM-Solver++(2M) places its steps by default (<see cref="DpmSolverMultistepSampler"/>), and what that costs on a
/// trained network: its samples against a 1,000-step DDIM reference from the same noise, next to DDIM's.
/// </summary>
[TestClass]
public sealed class DpmSolverMultistepSamplerTests
{
    [TestMethod]
    [DataRow(BetaScheduleKind.Linear)]
    [DataRow(BetaScheduleKind.Cosine)]
    public void DefaultSpacing_TwentySteps_AtMostTwoInTheLastTenTimesteps(BetaScheduleKind kind)
    {
        // Log-SNR spacing put 8 of 20 at t ≥ 990 on the cosine schedule, where λ falls from −3.8 at t = 990 to −9.9 at 999
        // (the clipped last β), so the steps that matter for the image were few and far apart. Tapered puts 1 there.
        var sampler = new DpmSolverMultistepSampler(NoiseSchedule.Create(kind));
        sampler.SetTimesteps(20);
        var late = sampler.Timesteps.Count(t => t >= 990);
        Assert.IsTrue(late <= 2, $"{late} of 20 timesteps at t ≥ 990: {string.Join(", ", sampler.Timesteps)}");
        Assert.AreEqual(999, sampler.Timesteps[0], "the run starts at the noisiest timestep");
    }

    /// <summary>
    /// A tiny UNet (8 channels, no attention) trained 150 steps on 64 synthetic 8×8 images with T = 1000, then 8 images
    /// from the same per-sample noise, each sampler with its default spacing and the options DiffusionModel.Generate uses.
    /// Pixel RMSE (0–255) against DDIM over all 1,000 timesteps (η = 0), DPM-Solver++ / DDIM, measured: cosine/v
    /// 2.70 / 9.39 at 8 steps, 2.94 / 7.72 at 10, 0.75 / 3.71 at 20; linear/ε 1.73 / 7.38, 1.15 / 5.68, 0.47 / 2.70.
    /// With the former log-SNR default DPM-Solver++ gave 13.09, 7.45, 6.07 on cosine/v (worse than DDIM at 8 and 20
    /// steps: this case fails there) and 7.33, 4.13, 0.77 on linear/ε (which log-SNR spacing suits: it passes there too).
    /// Training and sampling are deterministic on a machine; the check asks only DPM-Solver++ ≤ DDIM, which these values
    /// meet with a 2.6–6× margin, not for the values themselves.
    /// </summary>
    [TestMethod]
    [DataRow(BetaScheduleKind.Cosine, PredictionType.VPrediction)]
    [DataRow(BetaScheduleKind.Linear, PredictionType.Epsilon)]
    public void TrainedModel_AgainstAThousandStepReference_IsNoWorseThanDdim(BetaScheduleKind kind, PredictionType type)
    {
        var watch = Stopwatch.StartNew();
        using var images = Rectangles(64, 8, seed: 7);
        using var data = new TensorTrainingData(images);
        using var result = new DdpmTrainer(new DdpmTrainerOptions
        {
            Model = UNetConfig.Preset("tiny", 8, 1) with { BaseChannels = 8, AttentionResolutions = [] },
            Schedule = new NoiseScheduleOptions { Kind = kind },
            PredictionType = type,
            BatchSize = 8, MaxSteps = 150, WarmupSteps = 20, LearningRate = 2e-3, Device = "cpu", Seed = 1, SampleGridSize = 0,
        }).Train(data);
        var trained = watch.Elapsed.TotalSeconds;

        result.Model.eval();
        var denoiser = UNetDenoiser.Create(result.Model);
        var options = new SamplerOptions { PredictionType = type };  // as DiffusionModel.Generate samples: defaults, clipped
        using var reference = Sample(new DdimSampler(result.Schedule, options), denoiser, 1000);
        var report = $"{kind}/{type}, trained in {trained:F0} s, reference done at {watch.Elapsed.TotalSeconds:F0} s:";
        var failures = new List<string>();
        foreach (var steps in new[] { 8, 10, 20 })
        {
            using var ddim = Sample(new DdimSampler(result.Schedule, options), denoiser, steps);
            using var dpm = Sample(new DpmSolverMultistepSampler(result.Schedule, options), denoiser, steps);
            var (ddimError, dpmError) = (Rmse(ddim, reference), Rmse(dpm, reference));
            report += $" {steps} steps DPM-Solver++ {dpmError:F2} DDIM {ddimError:F2};";
            if (dpmError > ddimError)
            {
                failures.Add($"{steps} steps: DPM-Solver++ {dpmError:F2} > DDIM {ddimError:F2}");
            }
        }

        Console.WriteLine($"{report} {watch.Elapsed.TotalSeconds:F0} s in all");
        Assert.AreEqual(0, failures.Count, $"pixel RMSE against 1,000-step DDIM: {string.Join("; ", failures)} ({report})");
    }

    private static Tensor Sample(IDiffusionSampler sampler, Denoiser denoiser, int steps)
    {
        using var noise = SamplingNoise.PerSample(firstSeed: 100, count: 8);
        using var x = SamplingLoop.Run(sampler, denoiser, [8, 1, 8, 8], noise, steps);
        return x.clamp(-1, 1);
    }

    private static double Rmse(Tensor a, Tensor b)
    {
        using var scope = torch.NewDisposeScope();
        return ((a - b) * 127.5).square().mean().sqrt().ToDouble();
    }

    // A bright rectangle of random size, place and level on a darker background, with a soft vertical gradient, in [−1, 1].
    private static Tensor Rectangles(int count, int size, int seed)
    {
        var random = new Random(seed);
        var data = new float[count * size * size];
        for (var n = 0; n < count; n++)
        {
            var background = -1 + (0.5 * random.NextDouble());
            var fill = 0.3 + (0.7 * random.NextDouble());
            var (left, top) = (random.Next(0, size - 2), random.Next(0, size - 2));
            var (right, bottom) = (random.Next(left + 2, size + 1), random.Next(top + 2, size + 1));
            for (var y = 0; y < size; y++)
            {
                for (var x = 0; x < size; x++)
                {
                    var inside = x >= left && x < right && y >= top && y < bottom;
                    data[(n * size * size) + (y * size) + x] = (float)Math.Clamp((inside ? fill : background) + (0.2 * y / size), -1, 1);
                }
            }
        }

        return torch.tensor(data, [count, 1, size, size]);
    }
}
