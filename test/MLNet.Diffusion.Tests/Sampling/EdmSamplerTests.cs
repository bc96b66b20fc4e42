using MLNet.Diffusion.ForwardProcess;
using MLNet.Diffusion.Sampling;
using MLNet.Diffusion.Tests.Onnx;
using TorchSharp;
using static TorchSharp.torch;

namespace MLNet.Diffusion.Tests.Sampling;

/// <summary>
/// EDM's Euler and Heun samplers on a discrete VP schedule (<see cref="EdmSampler"/>): the Karras grid, the updates against
/// Algorithm 1 written out in EDM's own coordinates, their order of accuracy on data whose ODE has a closed form, and the
/// model-level behaviour (seeds, batches, refusals).
/// </summary>
[TestClass]
public sealed class EdmSamplerTests
{
    private static readonly NoiseSchedule Linear = NoiseSchedule.Create();

    private static double Sigma(NoiseSchedule schedule, int t) => Math.Sqrt((1 - schedule.AlphaBar(t)) / schedule.AlphaBar(t));

    [TestMethod]
    public void KarrasGrid_StartsNearestEightyEndsAtTheFirstTimestepAndRoundsEachLevelToTheNearestSigma()
    {
        var grid = EdmSampler.KarrasTimesteps(Linear, 18);
        // Linear β over 1,000 steps: σ_999 ≈ 157, so the run starts at the σ nearest 80; it ends at t = 0 (σ ≈ 0.01).
        Assert.IsTrue(Sigma(Linear, 999) > 100, $"σ_999 = {Sigma(Linear, 999)}");
        Assert.AreEqual(0, grid[^1]);
        Assert.IsTrue(grid.Zip(grid.Skip(1)).All(p => p.First > p.Second), string.Join(", ", grid));
        var (maxRoot, minRoot) = (Math.Pow(80, 1 / 7.0), Math.Pow(Sigma(Linear, 0), 1 / 7.0));
        for (var i = 0; i < grid.Length; i++)
        {
            var target = Math.Pow(maxRoot + (i / 17.0 * (minRoot - maxRoot)), 7);
            var nearest = Enumerable.Range(0, 1000).MinBy(t => Math.Abs(Sigma(Linear, t) - target));
            Assert.AreEqual(nearest, grid[i], $"level {i}: σ {target}");
        }

        // A schedule whose largest σ is below 80 starts at its last timestep.
        var short100 = new NoiseSchedule(new NoiseScheduleOptions { TrainTimesteps = 100, BetaStart = 1e-4, BetaEnd = 0.02 });
        Assert.IsTrue(Sigma(short100, 99) < 80);
        Assert.AreEqual(99, EdmSampler.KarrasTimesteps(short100, 10)[0]);
        // Many levels crowd near σ_min, where neighbours would round to one timestep: they are moved apart.
        var crowded = EdmSampler.KarrasTimesteps(short100, 60);
        Assert.AreEqual(60, crowded.Distinct().Count());
        Assert.IsTrue(crowded.All(t => t is >= 0 and < 100));
    }

    [TestMethod]
    public void Heun_EvaluatesTwiceAtEachLevelButTheFirstAndStartsFromTheFirstLevelsNoise()
    {
        var heun = new EdmSampler(Linear);
        heun.SetTimesteps(10);
        var grid = EdmSampler.KarrasTimesteps(Linear, 10);
        CollectionAssert.AreEqual(new[] { grid[0] }.Concat(grid.Skip(1).SelectMany(t => new[] { t, t })).ToArray(), heun.Timesteps.ToArray());
        Assert.HasCount(19, heun.Timesteps);
        Assert.AreEqual(19, Samplers.Evaluations(Samplers.Heun, 10));
        CollectionAssert.AreEqual(grid.Select(t => Sigma(Linear, t)).ToArray(), heun.Sigmas.ToArray());
        Assert.AreEqual(Math.Sqrt(1 - Linear.AlphaBar(grid[0])), heun.InitialNoiseScale, 1e-15);

        var euler = new EdmSampler(Linear, heun: false);
        euler.SetTimesteps(10);
        CollectionAssert.AreEqual(grid, euler.Timesteps.ToArray());
    }

    /// <summary>
    /// The samplers' coefficients against EDM's Algorithm 1 run literally in x̃ = x/√ᾱ (float64, no clipping), with the exact
    /// denoiser of N(0.3, 0.5²) data: the same numbers to 1e-10.
    /// </summary>
    [TestMethod]
    [DataRow(true, PredictionType.Epsilon)]
    [DataRow(false, PredictionType.Epsilon)]
    [DataRow(true, PredictionType.VPrediction)]
    [DataRow(true, PredictionType.Sample)]
    public void Updates_AreAlgorithmOneInEdmCoordinates(bool heun, PredictionType type)
    {
        const int steps = 8;
        var denoiser = AnalyticDenoisers.Gaussian(Linear, type, 0.3, 0.5);
        var sampler = new EdmSampler(Linear, new SamplerOptions { PredictionType = type, ClipSample = false }, heun);
        using var scope = torch.NewDisposeScope();
        using var noise = SamplingNoise.Shared(11);
        var ours = SamplingLoop.Run(sampler, denoiser, [64, 1], noise, steps, ScalarType.Float64).data<double>().ToArray();

        // Algorithm 1: x̃₀ = σ₀·z; d = (x̃ − D(x̃; σ))/σ; Euler x̃ + h·d; Heun's correction where σ_{i+1} > 0.
        using var again = SamplingNoise.Shared(11);
        var z = again.Initial([64, 1], ScalarType.Float64);
        var grid = EdmSampler.KarrasTimesteps(Linear, steps);
        Tensor D(Tensor xTilde, int t)
        {
            var scale = Math.Sqrt(Linear.AlphaBar(t));
            using var x = xTilde * scale;
            using var output = denoiser(x, t);
            return Parameterization.ToSample(type, output, x, Linear.AlphaBar(t));
        }

        var state = z * Sigma(Linear, grid[0]);
        for (var i = 0; i < grid.Length; i++)
        {
            var (sigma, next) = (Sigma(Linear, grid[i]), i + 1 < grid.Length ? Sigma(Linear, grid[i + 1]) : 0);
            var d = (state - D(state, grid[i])) / sigma;
            var euler = state + (d * (next - sigma));
            state = heun && next > 0 ? state + ((d + ((euler - D(euler, grid[i + 1])) / next)) * ((next - sigma) / 2)) : euler;
        }

        var expected = state.data<double>().ToArray();
        for (var i = 0; i < expected.Length; i++)
        {
            Assert.AreEqual(expected[i], ours[i], 1e-10 * Math.Max(1, Math.Abs(expected[i])), $"sample {i}");
        }
    }

    /// <summary>
    /// Churn against EDM's Algorithm 2 run literally in x̃ (float64, no clipping, exact denoiser of N(0.3, 0.5²) data): the steps
    /// from σ in [S_tmin, S_tmax] raise it to σ̂ = σ·(1 + γ) rounded to the schedule, γ = min(S_churn/n, √2 − 1), adding
    /// √(σ̂² − σ²)·S_noise·z. A churned first step is folded into the start, x̃ = √(σ₀² + S_noise²·(σ̂₀² − σ₀²))·z, the law of
    /// σ₀·z + √(σ̂₀² − σ₀²)·S_noise·z′ with one draw instead of two. The noise comes from one shared generator here, drawn in
    /// the same order.
    /// </summary>
    [TestMethod]
    [DataRow(true, 10.0, 20.0)]
    [DataRow(false, 10.0, 20.0)]
    [DataRow(true, 80.0, 20.0)]
    [DataRow(true, 10.0, double.PositiveInfinity)]
    public void Churn_IsAlgorithmTwoInEdmCoordinates(bool heun, double churn, double maxSigma)
    {
        const int steps = 8;
        const double minSigma = 0.5, noiseScale = 1.007;
        var denoiser = AnalyticDenoisers.Gaussian(Linear, PredictionType.Epsilon, 0.3, 0.5);
        var options = new SamplerOptions { ClipSample = false, Churn = churn, ChurnMinSigma = minSigma, ChurnMaxSigma = maxSigma, ChurnNoise = noiseScale };
        var sampler = new EdmSampler(Linear, options, heun);
        Assert.IsTrue(sampler.IsStochastic);
        using var scope = torch.NewDisposeScope();
        using var noise = SamplingNoise.Shared(11);
        var ours = SamplingLoop.Run(sampler, denoiser, [64, 1], noise, steps, ScalarType.Float64).data<double>().ToArray();

        var sigmas = Enumerable.Range(0, Linear.TrainTimesteps).Select(t => Sigma(Linear, t)).ToArray();
        int Round(double sigma) => Enumerable.Range(0, sigmas.Length).MinBy(t => Math.Abs(sigmas[t] - sigma));
        var gamma = Math.Min(churn / steps, Math.Sqrt(2) - 1);
        Tensor D(Tensor xTilde, int t)
        {
            using var x = xTilde * Math.Sqrt(Linear.AlphaBar(t));
            using var output = denoiser(x, t);
            return Parameterization.ToSample(PredictionType.Epsilon, output, x, Linear.AlphaBar(t));
        }

        using var again = SamplingNoise.Shared(11);
        var grid = EdmSampler.KarrasTimesteps(Linear, steps);
        var churned = 0;
        Tensor? state = null;
        for (var i = 0; i < grid.Length; i++)
        {
            var (sigma, next) = (sigmas[grid[i]], i + 1 < grid.Length ? sigmas[grid[i + 1]] : 0);
            var hat = sigma >= minSigma && sigma <= maxSigma ? Round(sigma * (1 + gamma)) : grid[i];
            var sigmaHat = sigmas[hat];
            churned += hat != grid[i] ? 1 : 0;
            state = state is null
                ? again.Initial([64, 1], ScalarType.Float64) * Math.Sqrt((sigma * sigma) + (noiseScale * noiseScale * ((sigmaHat * sigmaHat) - (sigma * sigma))))
                : hat != grid[i] ? state + (again.Next([64, 1], ScalarType.Float64) * (Math.Sqrt((sigmaHat * sigmaHat) - (sigma * sigma)) * noiseScale)) : state;
            var d = (state - D(state, hat)) / sigmaHat;
            var euler = state + (d * (next - sigmaHat));
            state = heun && next > 0 ? state + ((d + ((euler - D(euler, grid[i + 1])) / next)) * ((next - sigmaHat) / 2)) : euler;
        }

        Assert.IsTrue(churned >= 2 && (double.IsInfinity(maxSigma) ? EdmSampler.KarrasTimesteps(Linear, steps)[0] != sampler.Timesteps[0] : churned < steps),
            $"{churned} of {steps} steps churned: the band [0.5, 20] takes some, not all; an open band takes the first");
        var expected = state!.data<double>().ToArray();
        for (var i = 0; i < expected.Length; i++)
        {
            Assert.AreEqual(expected[i], ours[i], 1e-10 * Math.Max(1, Math.Abs(expected[i])), $"sample {i}");
        }
    }

    /// <summary>
    /// Churn keeps Heun on the data's distribution: for N(0.3, 0.5²) data, with S_churn 40 (γ = √2 − 1 at every step of 20 or 80,
    /// the most Algorithm 2 allows), 20,000 samples have the data's mean and standard deviation once the steps are fine enough.
    /// Measured with γ = 0.4142 at every step (S_churn = 0.4142·n; std, mean within 0.008 of 0.3 throughout): Heun 20/40/80/160/320
    /// steps 0.544, 0.518, 0.504, 0.504, 0.501; Euler 0.399, 0.430, 0.442, 0.455, 0.458, which is why EDM churns Heun's steps.
    /// </summary>
    [TestMethod]
    public void GaussianData_ChurnedHeunSamplesTheData()
    {
        const double mean = 0.3, std = 0.5;
        (double Mean, double Std) Moments(int steps, double churn)
        {
            var sampler = new EdmSampler(Linear, new SamplerOptions { ClipSample = false, Churn = churn }, heun: true);
            using var scope = torch.NewDisposeScope();
            using var noise = SamplingNoise.Shared(3);
            var result = SamplingLoop.Run(sampler, AnalyticDenoisers.Gaussian(Linear, PredictionType.Epsilon, mean, std), [20_000, 1], noise, steps, ScalarType.Float64);
            return (result.mean().item<double>(), result.std().item<double>());
        }

        var (coarse, fine, deterministic) = (Moments(20, 40), Moments(80, 40), Moments(80, 0));
        Console.WriteLine($"S_churn 40: 20 steps {coarse}, 80 steps {fine}; no churn, 80 steps {deterministic}");
        // Sampling error at N = 20,000: the mean's standard error is 0.0035, the std's 0.0025.
        Assert.AreEqual(mean, fine.Mean, 0.015);
        Assert.AreEqual(std, fine.Std, 0.012);
        Assert.AreEqual(std, deterministic.Std, 0.012);
        Assert.IsGreaterThan(3 * Math.Abs(fine.Std - std), Math.Abs(coarse.Std - std), "the churned steps' error shrinks with the step");
    }

    /// <summary>
    /// For N(μ, s²) data the probability-flow ODE is solved exactly by x̃(σ) − μ = (x̃(σ₀) − μ)·√(s² + σ²)/√(s² + σ₀²), so the
    /// samplers' error is their own. Halving the step size divides Heun's error by about 4 and Euler's by about 2 (their
    /// orders). Measured (max |error| over 256 samples, linear schedule): Heun 10/20/40 steps 0.242, 0.049, 0.011; Euler
    /// 19/38/76 steps 0.178, 0.090, 0.046. So at 19 evaluations Euler is still ahead (ρ = 7 spends Heun's first steps above
    /// σ = 5, where this data's ODE is nearly straight), and from 20 Heun steps (39 evaluations) on Heun is.
    /// </summary>
    [TestMethod]
    public void GaussianData_HeunIsSecondOrderEulerFirstOrder()
    {
        const double mean = 0.3, std = 0.5;
        double Error(bool heun, int steps)
        {
            var sampler = new EdmSampler(Linear, new SamplerOptions { ClipSample = false }, heun);
            using var scope = torch.NewDisposeScope();
            using var noise = SamplingNoise.Shared(5);
            var result = SamplingLoop.Run(sampler, AnalyticDenoisers.Gaussian(Linear, PredictionType.Epsilon, mean, std), [256, 1], noise, steps, ScalarType.Float64);
            using var again = SamplingNoise.Shared(5);
            var start = Sigma(Linear, sampler.Timesteps[0]);
            var exact = ((again.Initial([256, 1], ScalarType.Float64) * start) - mean) * (std / Math.Sqrt((std * std) + (start * start))) + mean;
            return (result - exact).abs().max().item<double>();
        }

        var (heun10, heun20, heun40) = (Error(true, 10), Error(true, 20), Error(true, 40));
        var (euler19, euler38, euler76) = (Error(false, 19), Error(false, 38), Error(false, 76));
        Console.WriteLine($"max |error|: Heun 10/20/40 steps {heun10:E2} {heun20:E2} {heun40:E2}; Euler 19/38/76 {euler19:E2} {euler38:E2} {euler76:E2}");
        Assert.IsGreaterThan(3.0, heun20 / heun40, "Heun halving the steps");
        Assert.IsGreaterThan(3.0, heun10 / heun20, "Heun halving the steps");
        Assert.IsLessThan(2.6, euler38 / euler76, "Euler halving the steps");
        Assert.IsGreaterThan(1.5, euler38 / euler76, "Euler halving the steps");
        Assert.IsLessThan(euler38, heun20, "Heun at 39 evaluations against Euler at 38");
    }

    [TestMethod]
    public void Misuse_IsRefusedWithWhatToUseInstead()
    {
        var zeroSnr = new NoiseSchedule(new NoiseScheduleOptions { TrainTimesteps = 100, RescaleZeroTerminalSnr = true });
        StringAssert.Contains(Assert.ThrowsExactly<ArgumentException>(() => new EdmSampler(zeroSnr, new SamplerOptions { PredictionType = PredictionType.VPrediction })).Message, "zero signal");
        StringAssert.Contains(Assert.ThrowsExactly<ArgumentException>(() => new EdmSampler(Linear, new SamplerOptions { Spacing = TimestepSpacing.Trailing })).Message, "Karras grid");
        var heun = new EdmSampler(Linear);
        using var x = torch.zeros([1, 1]);
        StringAssert.Contains(Assert.ThrowsExactly<InvalidOperationException>(() => heun.Step(x, 999, x)).Message, "SetTimesteps");
        heun.SetTimesteps(4);
        StringAssert.Contains(Assert.ThrowsExactly<InvalidOperationException>(() => heun.Step(x, heun.Timesteps[1], x)).Message, "in order");
        Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => heun.SetTimesteps(1001));
        // On the linear schedule σ_max = 80 is timestep 930: 931 levels fit, 932 would start above σ_max.
        Assert.AreEqual(930, EdmSampler.KarrasTimesteps(Linear, 931)[0]);
        StringAssert.Contains(Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => EdmSampler.KarrasTimesteps(Linear, 932)).Message, "at most 931 levels");
        foreach (var bad in new[] { new SamplerOptions { Churn = -1 }, new SamplerOptions { Churn = double.NaN }, new SamplerOptions { Churn = 1, ChurnNoise = 0 }, new SamplerOptions { ChurnMinSigma = 2, ChurnMaxSigma = 1 } })
        {
            StringAssert.Contains(Assert.ThrowsExactly<ArgumentException>(() => new EdmSampler(Linear, bad)).Message, "S_churn ≥ 0");
        }

        var churned = new EdmSampler(Linear, new SamplerOptions { Churn = 5 }, heun: false);
        churned.SetTimesteps(4);
        StringAssert.Contains(Assert.ThrowsExactly<ArgumentNullException>(() => churned.Step(x, churned.Timesteps[0], x)).Message, "Churn adds noise");
    }

    /// <summary>Through the model: a seed gives one image whatever its batch, other seeds other images; editing refuses both samplers.</summary>
    [TestMethod]
    public void Model_HeunImagesDependOnTheirSeedOnlyAndEditingRefusesIt()
    {
        using var model = GeneratorGraphTests.Train(channels: 1, classes: 3, PredictionType.Epsilon, BetaScheduleKind.Linear, steps: 10);
        var options = new GenerationOptions { Sampler = SamplerKind.Heun, Steps = 5, Guidance = 2, Labels = [2, 0, 2], Seed = 40 };
        using var batch = model.Generate(3, options);
        using var alone = model.Generate(1, options with { Seed = 42, Labels = [2] });
        Assert.IsTrue(batch[2].unsqueeze(0).eq(alone).all().item<bool>(), "the third image alone");
        Assert.IsFalse(batch[0].eq(batch[2]).all().item<bool>(), "seeds 40 and 42");
        Assert.AreEqual(10, model.DefaultSteps(SamplerKind.Heun), "Heun's default: 10 steps, 19 evaluations");

        // Saved with Heun fixed in its graph (2·5 − 1 evaluations recorded for 5 steps), the file loads and says so.
        var path = Path.Combine(Path.GetTempPath(), $"heun-{Guid.NewGuid():N}.zip");
        try
        {
            model.TransformOptions = options with { Labels = null };
            model.Save(path);
            using var loaded = DiffusionModel.Load(path, "cpu");
            Assert.AreEqual((SamplerKind.Heun, 5, 2.0), loaded.LoadedGraphSettings);
        }
        finally
        {
            File.Delete(path);
        }

        // With churn, the noise each step adds comes from the image's own generator: still one image per seed, whatever the batch.
        var churned = options with { Sampler = SamplerKind.Euler, Churn = 30 };
        using var churnedBatch = model.Generate(3, churned);
        using var churnedAlone = model.Generate(1, churned with { Seed = 42, Labels = [2] });
        Assert.IsTrue(churnedBatch[2].unsqueeze(0).eq(churnedAlone).all().item<bool>(), "the third churned image alone");
        using var unchurned = model.Generate(1, churned with { Seed = 42, Labels = [2], Churn = 0 });
        Assert.IsFalse(unchurned.eq(churnedAlone).all().item<bool>(), "churn changes the image");
        StringAssert.Contains(Assert.ThrowsExactly<ArgumentException>(() => model.Generate(1, new GenerationOptions { Sampler = SamplerKind.Ddim, Churn = 5 })).Message,
            "applies to the Euler and Heun samplers, not to ddim");
        Assert.IsTrue(SamplerKind.Heun.TakesChurn() && !SamplerKind.DpmSolverPlusPlus.TakesChurn());
        model.TransformOptions = churned with { Labels = null };
        StringAssert.Contains(Assert.ThrowsExactly<ArgumentException>(() => model.Save(path)).Message, "it takes no churn");
        Assert.IsFalse(File.Exists(path));

        using var images = torch.zeros([1, 1, 8, 8]);
        using var mask = torch.ones([1, 1, 8, 8]);
        foreach (var sampler in new[] { SamplerKind.Heun, SamplerKind.Euler })
        {
            StringAssert.Contains(Assert.ThrowsExactly<ArgumentException>(() => model.Edit(images, 0.5, new GenerationOptions { Sampler = sampler })).Message, "generate from noise only");
            StringAssert.Contains(Assert.ThrowsExactly<ArgumentException>(() => model.Inpaint(images, mask, new GenerationOptions { Sampler = sampler })).Message, "generate from noise only");
            Assert.IsFalse(sampler.CanEdit());
        }
    }
}
