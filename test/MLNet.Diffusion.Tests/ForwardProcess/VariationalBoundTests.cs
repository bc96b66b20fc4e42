using TorchSharp;
using static TorchSharp.torch;
using MLNet.Diffusion.ForwardProcess;
using MLNet.Diffusion.Tests.Sampling;

namespace MLNet.Diffusion.Tests.ForwardProcess;

[TestClass]
public sealed class VariationalBoundTests
{
    private const double Mean = 0.3;
    private const double Std = 0.5;

    /// <summary>
    /// For x₀ ~ N(μ, s²) and the exact denoiser, every term has a closed-form expectation:
    /// L_T = ½(−1 − log(1 − ᾱ_T) + (1 − ᾱ_T) + ᾱ_T(μ² + s²));
    /// L_{t−1} = ½(−1 + log σ_t² − log β̃_t + β̃_t/σ_t² + c₀(t)²·Var[x₀ | x_t]/σ_t²) with σ_t² = β̃_t or β_t;
    /// L₀ (continuous decoder, mean E[x₀ | x₁], variance β̃ of the next step) = ½(log 2π + log σ² + Var[x₀ | x₁]/σ²).
    /// The Monte Carlo bound over 20,000 samples must match them within its sampling error.
    /// </summary>
    [TestMethod]
    [DataRow(VarianceType.FixedSmall)]
    [DataRow(VarianceType.FixedLarge)]
    public void GaussianData_ExactDenoiser_MatchesTheAnalyticBound(VarianceType variance)
    {
        var schedule = NoiseSchedule.Create(timesteps: 200);
        using var scope = torch.NewDisposeScope();
        using var generator = new Generator(7);
        var data = (torch.randn([20_000, 1], ScalarType.Float64, generator: generator) * Std) + Mean;
        var denoiser = AnalyticDenoisers.Gaussian(schedule, PredictionType.Epsilon, Mean, Std);
        var bound = VariationalBound.BitsPerDim(schedule, denoiser, PredictionType.Epsilon, data, generator, variance, DecoderLikelihood.Continuous);

        var (prior, diffusion, decoder) = Analytic(schedule, variance);
        // Tolerances are about 3.5 Monte Carlo standard errors: the decoder term's per-sample spread is ≈ 1.4 nats
        // (SE ≈ 0.014 bits over 20,000 samples); the diffusion sum averages 199 terms and is known to < 0.5 %.
        Assert.AreEqual(prior, bound.Prior, 0.05 * prior, $"L_T: {bound.Prior} vs {prior}");
        Assert.AreEqual(diffusion, bound.Diffusion, 0.01 * diffusion, $"Σ L_(t−1): {bound.Diffusion} vs {diffusion}");
        Assert.AreEqual(decoder, bound.Decoder, 0.05, $"L0: {bound.Decoder} vs {decoder}");
        Assert.AreEqual(prior + diffusion + decoder, bound.Total, 0.08, $"total: {bound.Total} vs {prior + diffusion + decoder}");
    }

    [TestMethod]
    public void WorseDenoiser_GivesAHigherBound()
    {
        var schedule = NoiseSchedule.Create(timesteps: 100);
        using var scope = torch.NewDisposeScope();
        using var g = new Generator(8);
        var data = (torch.randn([5_000, 1], ScalarType.Float64, generator: g) * Std) + Mean;
        var exact = VariationalBound.BitsPerDim(schedule, AnalyticDenoisers.Gaussian(schedule, PredictionType.Sample, Mean, Std), PredictionType.Sample, data, g, decoder: DecoderLikelihood.Continuous);
        var wrong = VariationalBound.BitsPerDim(schedule, AnalyticDenoisers.Gaussian(schedule, PredictionType.Sample, -Mean, Std), PredictionType.Sample, data, g, decoder: DecoderLikelihood.Continuous);
        Assert.IsTrue(wrong.Total > exact.Total + 0.1, $"exact {exact.Total:F3} bits/dim, wrong mean {wrong.Total:F3}");
    }

    [TestMethod]
    public void DiscretizedDecoder_IsTheGaussianMassOfEachBin()
    {
        using var scope = torch.NewDisposeScope();
        var sigma = 1.0 / 255;  // a middle bin of half-width 1/255 then spans ±1σ: mass Φ(1) − Φ(−1)
        var x = torch.tensor(new double[] { 0, 1, -1 });
        var mean = torch.tensor(new double[] { 0, 1 - (1.0 / 255), -1 + (1.0 / 255) });  // outer bins: their inner edge sits on the mean
        var logLikelihood = VariationalBound.DiscretizedGaussianLogLikelihood(x, mean, Math.Log(sigma)).data<double>().ToArray();
        Assert.AreEqual(Math.Log(0.682689492137086), logLikelihood[0], 1e-12);  // Φ(1) − Φ(−1)
        Assert.AreEqual(Math.Log(0.5), logLikelihood[1], 1e-12);  // 1 − Φ(0): the top bin is open above
        Assert.AreEqual(Math.Log(0.5), logLikelihood[2], 1e-12);  // Φ(0): the bottom bin is open below
    }

    private static (double Prior, double Diffusion, double Decoder) Analytic(NoiseSchedule s, VarianceType variance)
    {
        var bits = 1 / Math.Log(2);
        var last = s.AlphaBar(s.TrainTimesteps - 1);
        var prior = 0.5 * (-1 - Math.Log(1 - last) + (1 - last) + (last * ((Mean * Mean) + (Std * Std))));
        var diffusion = 0.0;
        for (var t = 1; t < s.TrainTimesteps; t++)
        {
            var posterior = s.PosteriorVariance[t];
            var model = variance == VarianceType.FixedSmall ? posterior : s.Betas[t];
            var c0 = s.PosteriorMeanCoefficientX0[t];
            diffusion += 0.5 * (-1 + Math.Log(model) - Math.Log(posterior) + (posterior / model)
                + (c0 * c0 * AnalyticDenoisers.PosteriorVariance(s.AlphaBar(t), Std) / model));
        }

        var decoderVariance = s.PosteriorVariance[1];
        var decoder = 0.5 * (Math.Log(2 * Math.PI) + Math.Log(decoderVariance) + (AnalyticDenoisers.PosteriorVariance(s.AlphaBar(0), Std) / decoderVariance));
        return (prior * bits, diffusion * bits, decoder * bits);
    }
}
