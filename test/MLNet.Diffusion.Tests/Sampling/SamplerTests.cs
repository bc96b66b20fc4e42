using TorchSharp;
using static TorchSharp.torch;
using MLNet.Diffusion.Training;
using MLNet.Diffusion.ForwardProcess;
using MLNet.Diffusion.Sampling;

namespace MLNet.Diffusion.Tests.Sampling;

/// <summary>
/// Every sampler, driven by the exact denoisers of <see cref="AnalyticDenoisers"/> (no network), at the step
/// counts it is meant for, must reproduce the data distribution. 4,000 one-dimensional samples: the standard
/// error of the mean is 0.008 and of the standard deviation 1.1 %; each tolerance is stated with the case.
/// </summary>
[TestClass]
public sealed class SamplerTests
{
    private const int Samples = 4000;
    private const double DataMean = 0.3;
    private const double DataStd = 0.5;

    public static IEnumerable<object[]> RecursionCases =>
    [
        ["ddpm", 1000, PredictionType.Epsilon, 0.0],
        ["ddpm", 100, PredictionType.VPrediction, 0.0],
        ["ddpm-large", 1000, PredictionType.Sample, 0.0],
        ["ddpm-large", 50, PredictionType.Epsilon, 0.0],
        ["ddim", 100, PredictionType.Epsilon, 0.0],
        ["ddim", 50, PredictionType.Sample, 0.0],
        ["ddim", 20, PredictionType.VPrediction, 0.0],
        ["ddim", 10, PredictionType.Epsilon, 0.0],
        ["ddim", 100, PredictionType.Epsilon, 1.0],
        ["ddim", 20, PredictionType.Epsilon, 0.5],
    ];

    /// <summary>
    /// Implementation check: on Gaussian data the samples follow the exact affine recursion of the algorithm
    /// (<see cref="AnalyticDenoisers.PredictRun"/>), at any step count, within sampling error (mean ±0.03 = 3.5 SE,
    /// std ±3 % = 2.7 SE).
    /// </summary>
    [TestMethod]
    [DynamicData(nameof(RecursionCases))]
    public void GaussianData_SamplesFollowTheSamplersExactRecursion(string sampler, int steps, PredictionType type, double eta)
    {
        var schedule = NoiseSchedule.Create();
        var instance = Create(sampler, schedule, type, eta);
        var values = Sample(instance, AnalyticDenoisers.Gaussian(schedule, type, DataMean, DataStd), steps);
        var (mean, std) = Moments(values);
        var predicted = AnalyticDenoisers.PredictRun(schedule, instance.Timesteps, sampler, eta, DataMean, DataStd);
        Console.WriteLine($"recursion {sampler} {steps} {type} eta={eta}: mean {mean:F4} (predicted {predicted.Mean:F4}), std {std:F4} (predicted {predicted.Std:F4})");
        Assert.AreEqual(predicted.Mean, mean, 0.03, $"{sampler} {steps} steps: mean {mean:F4}, recursion {predicted.Mean:F4}");
        Assert.AreEqual(predicted.Std, std, 0.03 * predicted.Std, $"{sampler} {steps} steps: std {std:F4}, recursion {predicted.Std:F4}");
    }

    public static IEnumerable<object[]> GaussianCases =>
    [
        // sampler, steps, prediction, eta, relative std tolerance (the mean is held to ±0.03 = 3.5 SE throughout)
        ["ddpm", 1000, PredictionType.Epsilon, 0.0, 0.03],
        ["ddpm-large", 1000, PredictionType.Epsilon, 0.0, 0.03],
        ["ddpm", 1000, PredictionType.VPrediction, 0.0, 0.03],
        ["ddim", 100, PredictionType.Epsilon, 0.0, 0.05],
        ["ddim", 50, PredictionType.Sample, 0.0, 0.07],
        ["ddim", 100, PredictionType.Epsilon, 1.0, 0.10],
        ["dpm", 25, PredictionType.Epsilon, 0.0, 0.04],
        ["dpm", 20, PredictionType.VPrediction, 0.0, 0.04],
        ["dpm", 10, PredictionType.Epsilon, 0.0, 0.05],
        // On this data Heun on the Karras grid overshoots the std, measured: 0.600 at 10 steps, 0.530 at 18, 0.511 at 40 (the
        // method, not the code: EdmSamplerTests checks the updates against Algorithm 1 and their order); Euler 0.480 at 50.
        ["heun", 40, PredictionType.Epsilon, 0.0, 0.04],
        ["heun", 40, PredictionType.VPrediction, 0.0, 0.04],
        ["euler", 50, PredictionType.Epsilon, 0.0, 0.05],
    ];

    /// <summary>Quality check: at the step counts each sampler is meant for, samples have the data's mean and std.</summary>
    [TestMethod]
    [DynamicData(nameof(GaussianCases))]
    public void GaussianData_SamplesHaveTheDataMeanAndStd(string sampler, int steps, PredictionType type, double eta, double stdTolerance)
    {
        var schedule = NoiseSchedule.Create();
        var values = Sample(Create(sampler, schedule, type, eta), AnalyticDenoisers.Gaussian(schedule, type, DataMean, DataStd), steps);
        var (mean, std) = Moments(values);
        Console.WriteLine($"quality {sampler} {steps} {type} eta={eta}: mean {mean:F4}, std {std:F4} (data 0.3, 0.5)");
        Assert.AreEqual(DataMean, mean, 0.03, $"{sampler} {steps} steps: mean {mean:F4}");
        Assert.AreEqual(DataStd, std, stdTolerance * DataStd, $"{sampler} {steps} steps: std {std:F4}");
    }

    public static IEnumerable<object[]> TwoPointCases =>
    [
        ["ddpm", 1000, PredictionType.Epsilon],
        ["ddim", 50, PredictionType.Epsilon],
        ["ddim", 20, PredictionType.VPrediction],
        ["dpm", 20, PredictionType.Epsilon],
        ["dpm", 10, PredictionType.Sample],
        ["heun", 10, PredictionType.Epsilon],
        ["euler", 20, PredictionType.VPrediction],
    ];

    [TestMethod]
    [DynamicData(nameof(TwoPointCases))]
    public void TwoPointData_SamplesLandOnPlusOrMinusOneHalfEach(string sampler, int steps, PredictionType type)
    {
        var schedule = NoiseSchedule.Create();
        var values = Sample(Create(sampler, schedule, type, 0), AnalyticDenoisers.TwoPoint(schedule, type), steps);
        var onPoint = values.Count(v => Math.Abs(Math.Abs(v) - 1) < 0.05) / (double)values.Length;
        var positive = values.Count(v => v > 0) / (double)values.Length;
        Console.WriteLine($"two-point {sampler} {steps} {type}: {onPoint:P2} within 0.05 of ±1, {positive:P2} positive");
        Assert.IsTrue(onPoint >= 0.99, $"{sampler} {steps} steps: {onPoint:P2} of samples within 0.05 of ±1");
        Assert.AreEqual(0.5, positive, 0.04, $"{sampler} {steps} steps: share of +1 (±5σ)");
    }

    [TestMethod]
    public void Ddim_EtaOneOverAllSteps_IsDdpmWithFixedSmallVariance()
    {
        // With η = 1 and every timestep, σ² = β̃_t and the DDIM mean equals the posterior mean: the two samplers take
        // the same steps, so from the same noise they give the same samples (not only the same distribution).
        var schedule = NoiseSchedule.Create(timesteps: 200);
        var denoiser = AnalyticDenoisers.Gaussian(schedule, PredictionType.Epsilon, DataMean, DataStd);
        var options = new SamplerOptions { ClipSample = false, Eta = 1 };
        var ddpm = Sample(new DdpmSampler(schedule, options), denoiser, 200, count: 500, dtype: ScalarType.Float64);
        var ddim = Sample(new DdimSampler(schedule, options), denoiser, 200, count: 500, dtype: ScalarType.Float64);
        for (var i = 0; i < ddpm.Length; i++)
        {
            Assert.AreEqual(ddpm[i], ddim[i], 1e-9, $"sample {i}");
        }
    }

    [TestMethod]
    public void PerSampleNoise_ASampleDoesNotDependOnItsBatch()
    {
        var schedule = NoiseSchedule.Create(timesteps: 50);
        var denoiser = AnalyticDenoisers.TwoPoint(schedule, PredictionType.Epsilon);
        var sampler = new DdpmSampler(schedule, new SamplerOptions { ClipSample = false });
        using var scope = torch.NewDisposeScope();
        using var batchNoise = SamplingNoise.PerSample([10UL, 11UL, 12UL]);
        using var aloneNoise = SamplingNoise.PerSample([12UL]);
        var batch = SamplingLoop.Run(sampler, denoiser, [3, 2, 2], batchNoise, 50);
        var alone = SamplingLoop.Run(sampler, denoiser, [1, 2, 2], aloneNoise, 50);
        CollectionAssert.AreEqual(alone[0].data<float>().ToArray(), batch[2].data<float>().ToArray());
        Assert.IsFalse(batch[0].allclose(batch[2]));
    }

    [TestMethod]
    public void ClipSample_KeepsThePredictionInTheDataRange()
    {
        var schedule = NoiseSchedule.Create(timesteps: 100);
        using var scope = torch.NewDisposeScope();
        var sample = torch.zeros([2, 3]);
        var farOut = torch.tensor(new float[] { 5, -7, 0.5f, 2, 0, -0.25f }, [2, 3]);
        // One step from the noisiest timestep goes straight to ᾱ = 1, where DDIM returns x̂₀ itself.
        var clipped = new DdimSampler(schedule, new SamplerOptions { PredictionType = PredictionType.Sample });
        clipped.SetTimesteps(1);
        CollectionAssert.AreEqual(new float[] { 1, -1, 0.5f, 1, 0, -0.25f }, clipped.Step(farOut, 99, sample).data<float>().ToArray());
        var free = new DdimSampler(schedule, new SamplerOptions { PredictionType = PredictionType.Sample, ClipSample = false });
        free.SetTimesteps(1);
        CollectionAssert.AreEqual(farOut.data<float>().ToArray(), free.Step(farOut, 99, sample).data<float>().ToArray());
    }

    [TestMethod]
    public void DynamicThresholding_ScalesEachSampleByItsQuantile()
    {
        var schedule = NoiseSchedule.Create(timesteps: 100);
        using var scope = torch.NewDisposeScope();
        var sample = torch.zeros([2, 4]);
        // Sample 1: |x₀| quantile 1.5 → clamp to ±1.5, divide by 1.5. Sample 2: quantile ≤ 1 → s = 1, plain clamp.
        var x0 = torch.tensor(new float[] { 1.5f, -1.5f, 0.75f, 1.5f, 0.5f, -0.2f, 0.1f, 0 }, [2, 4]);
        var sampler = new DdimSampler(schedule, new SamplerOptions { PredictionType = PredictionType.Sample, DynamicThresholding = true, ThresholdQuantile = 1, ThresholdMaxValue = 2 });
        sampler.SetTimesteps(1);
        var result = sampler.Step(x0, 99, sample).data<float>().ToArray();
        float[] expected = [1, -1, 0.5f, 1, 0.5f, -0.2f, 0.1f, 0];
        for (var i = 0; i < expected.Length; i++)
        {
            Assert.AreEqual(expected[i], result[i], 1e-6);
        }
    }

    [TestMethod]
    public void Spacing_MatchesTheDefinitions()
    {
        CollectionAssert.AreEqual(new[] { 999, 899, 799, 699, 599, 499, 399, 299, 199, 99 }, DiffusionSampler.Spaced(Linear1000, 10, TimestepSpacing.Trailing));
        CollectionAssert.AreEqual(new[] { 900, 800, 700, 600, 500, 400, 300, 200, 100, 0 }, DiffusionSampler.Spaced(Linear1000, 10, TimestepSpacing.Leading));
        CollectionAssert.AreEqual(new[] { 999, 888, 777, 666, 555, 444, 333, 222, 111, 0 }, DiffusionSampler.Spaced(Linear1000, 10, TimestepSpacing.Linspace));
        CollectionAssert.AreEqual(Enumerable.Range(0, 1000).Reverse().ToArray(), DiffusionSampler.Spaced(Linear1000, 1000, TimestepSpacing.Trailing));
        // Tapered: 999·((10 − i)/10)^1.5, rounded. Past ~150 steps its last gaps fall below one timestep and are made distinct.
        CollectionAssert.AreEqual(new[] { 999, 853, 715, 585, 464, 353, 253, 164, 89, 32 }, DiffusionSampler.Spaced(Linear1000, 10, TimestepSpacing.Tapered));
        CollectionAssert.AreEqual(Enumerable.Range(0, 1000).Reverse().ToArray(), DiffusionSampler.Spaced(Linear1000, 1000, TimestepSpacing.Tapered));
        var tapered300 = DiffusionSampler.Spaced(Linear1000, 300, TimestepSpacing.Tapered);
        Assert.IsTrue(tapered300.Zip(tapered300.Skip(1)).All(p => p.First > p.Second) && tapered300[0] == 999 && tapered300[^1] >= 0, string.Join(",", tapered300));
        // Log-SNR spacing stays distinct and in range even where λ changes fast (a short cosine schedule), down to one
        // timestep per step.
        var cosine100 = NoiseSchedule.Create(BetaScheduleKind.Cosine, 100);
        foreach (var steps in new[] { 8, 10, 25, 100 })
        {
            var spaced = DiffusionSampler.Spaced(cosine100, steps, TimestepSpacing.LogSnr);
            Assert.AreEqual(steps, spaced.Distinct().Count());
            Assert.IsTrue(spaced.Zip(spaced.Skip(1)).All(p => p.First > p.Second) && spaced[^1] >= 0 && spaced[0] <= 99, string.Join(",", spaced));
        }

        var lambda = Linear1000.AlphasCumulative.Select(a => 0.5 * Math.Log(a / (1 - a))).ToArray();
        var ten = DiffusionSampler.Spaced(Linear1000, 10, TimestepSpacing.LogSnr);
        Assert.AreEqual(999, ten[0]);
        Assert.AreEqual(0, ten[^1]);
        var gaps = ten.Zip(ten.Skip(1)).Select(p => lambda[p.Second] - lambda[p.First]).ToArray();
        Assert.IsTrue(gaps.Max() - gaps.Min() < 0.1 * gaps.Average(), "even steps in λ: " + string.Join(", ", gaps));
    }

    [TestMethod]
    public void Misuse_IsReportedClearly()
    {
        var schedule = NoiseSchedule.Create(timesteps: 100);
        using var scope = torch.NewDisposeScope();
        var x = torch.zeros([1, 2]);
        var ddpm = new DdpmSampler(schedule);
        StringAssert.Contains(Assert.ThrowsExactly<InvalidOperationException>(() => ddpm.Step(x, 99, x)).Message, "SetTimesteps");
        Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => ddpm.SetTimesteps(101));
        ddpm.SetTimesteps(10);
        StringAssert.Contains(Assert.ThrowsExactly<ArgumentException>(() => ddpm.Step(x, 50, x)).Message, "not in this run's timesteps");
        Assert.ThrowsExactly<ArgumentNullException>(() => ddpm.Step(x, 99, x, noise: null));
        var dpm = new DpmSolverMultistepSampler(schedule);
        dpm.SetTimesteps(10);
        StringAssert.Contains(Assert.ThrowsExactly<InvalidOperationException>(() => dpm.Step(x, dpm.Timesteps[1], x)).Message, "in order");
        var zeroSnr = new NoiseSchedule(new NoiseScheduleOptions { TrainTimesteps = 100, RescaleZeroTerminalSnr = true });
        StringAssert.Contains(Assert.ThrowsExactly<ArgumentException>(() => new DdimSampler(zeroSnr)).Message, "use v or sample prediction");
        _ = new DdimSampler(zeroSnr, new SamplerOptions { PredictionType = PredictionType.VPrediction });
        Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => new DdimSampler(schedule, new SamplerOptions { Eta = -1 }));
    }

    [TestMethod]
    public void ZeroTerminalSnr_WithVPrediction_SamplesTheData()
    {
        var schedule = new NoiseSchedule(new NoiseScheduleOptions { RescaleZeroTerminalSnr = true });
        var values = Sample(Create("ddim", schedule, PredictionType.VPrediction, 0), AnalyticDenoisers.Gaussian(schedule, PredictionType.VPrediction, DataMean, DataStd), 50);
        Assert.AreEqual(DataMean, values.Average(), 0.03);
    }

    [TestMethod]
    public void SamplingLoop_ReportsProgressStopsOnCancellationAndFreesEveryStep()
    {
        var schedule = NoiseSchedule.Create(timesteps: 100);
        var sampler = new DdimSampler(schedule, new SamplerOptions { ClipSample = false });
        var denoiser = AnalyticDenoisers.Gaussian(schedule, PredictionType.Epsilon, 0, 1);
        // TorchSharp counts, per thread, the tensors created minus those disposed (exact since 0.105; other threads do not
        // move it, and a tensor left to the finalizer never counts as disposed here).
        var baseline = DisposeScopeManager.Statistics.ThreadTotalLiveCount;
        using (var noise = SamplingNoise.Shared(1))
        {
            var reports = new List<int>();
            using (SamplingLoop.Run(sampler, denoiser, [2, 3], noise, 20, progress: new SynchronousProgress(reports.Add)))
            {
            }

            CollectionAssert.AreEqual(Enumerable.Range(1, 20).ToArray(), reports);
            using var cancelled = new CancellationTokenSource();
            cancelled.Cancel();
            Assert.ThrowsExactly<OperationCanceledException>(() => SamplingLoop.Run(sampler, denoiser, [2, 3], noise, 20, cancellationToken: cancelled.Token));
        }

        Assert.AreEqual(baseline, DisposeScopeManager.Statistics.ThreadTotalLiveCount);
    }

    [TestMethod]
    public void Guidance_InterpolatesAndExtrapolates()
    {
        using var scope = torch.NewDisposeScope();
        var uncond = torch.tensor(new float[] { 1, 2 });
        var cond = torch.tensor(new float[] { 3, 0 });
        CollectionAssert.AreEqual(uncond.data<float>().ToArray(), ClassifierFreeGuidance.Combine(uncond, cond, 0).data<float>().ToArray());
        CollectionAssert.AreEqual(cond.data<float>().ToArray(), ClassifierFreeGuidance.Combine(uncond, cond, 1).data<float>().ToArray());
        CollectionAssert.AreEqual(new float[] { 7, -4 }, ClassifierFreeGuidance.Combine(uncond, cond, 3).data<float>().ToArray());
        Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => ClassifierFreeGuidance.Combine(uncond, cond, double.NaN));
    }

    private static (double Mean, double Std) Moments(double[] values)
    {
        var mean = values.Average();
        return (mean, Math.Sqrt(values.Select(v => (v - mean) * (v - mean)).Sum() / (values.Length - 1)));
    }

    private static readonly NoiseSchedule Linear1000 = NoiseSchedule.Create();

    private static IDiffusionSampler Create(string name, NoiseSchedule schedule, PredictionType type, double eta) => name switch
    {
        "ddpm" => new DdpmSampler(schedule, new SamplerOptions { PredictionType = type, ClipSample = false }),
        "ddpm-large" => new DdpmSampler(schedule, new SamplerOptions { PredictionType = type, ClipSample = false, VarianceType = VarianceType.FixedLarge }),
        "ddim" => new DdimSampler(schedule, new SamplerOptions { PredictionType = type, ClipSample = false, Eta = eta }),
        "dpm" => new DpmSolverMultistepSampler(schedule, new SamplerOptions { PredictionType = type, ClipSample = false }),
        "heun" => new EdmSampler(schedule, new SamplerOptions { PredictionType = type, ClipSample = false }),
        "euler" => new EdmSampler(schedule, new SamplerOptions { PredictionType = type, ClipSample = false }, heun: false),
        _ => throw new ArgumentException(name),
    };

    private static double[] Sample(IDiffusionSampler sampler, Denoiser denoiser, int steps, int count = Samples, ScalarType dtype = ScalarType.Float32)
    {
        using var scope = torch.NewDisposeScope();
        using var noise = SamplingNoise.Shared(20261122);
        var result = SamplingLoop.Run(sampler, denoiser, [count, 1], noise, steps, dtype);
        using var asDouble = result.to(ScalarType.Float64);
        return asDouble.data<double>().ToArray();
    }

    private sealed class SynchronousProgress(Action<int> report) : IProgress<int>
    {
        public void Report(int value) => report(value);
    }
}
