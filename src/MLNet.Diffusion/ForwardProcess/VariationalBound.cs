using TorchSharp;
using static TorchSharp.torch;

namespace MLNet.Diffusion.ForwardProcess;

/// <summary>
/// The variational bound of Ho et al. 2020 (eq. 5) — L_T + Σ_{t&gt;1} L_{t−1} + L₀ — for a given network,
/// in bits per dimension, as Improved DDPM reports likelihoods. Each term is one Monte Carlo draw of x_t per
/// sample, so averaging over a larger batch tightens the estimate. Costs T network evaluations per batch.
/// </summary>
public static class VariationalBound
{
    /// <summary>Evaluates the bound for the data batch <paramref name="original"/> (first dimension = samples).</summary>
    /// <param name="schedule">The forward process.</param>
    /// <param name="denoiser">The network, returning <paramref name="predictionType"/> outputs.</param>
    /// <param name="predictionType">What the network predicts.</param>
    /// <param name="original">The data, in [−1, 1] for the discretized decoder.</param>
    /// <param name="generator">The source of the forward-process noise (the default generator when null).</param>
    /// <param name="variance">The reverse-process variance the model is evaluated with.</param>
    /// <param name="decoder">How L₀ scores the data.</param>
    /// <param name="clipRange">Clamp x̂₀ to [−clipRange, clipRange] before use (null: no clamping).</param>
    /// <param name="cancellationToken">Stops between timesteps.</param>
    public static VariationalBoundTerms BitsPerDim(NoiseSchedule schedule, Denoiser denoiser, PredictionType predictionType, Tensor original,
        Generator? generator = null, VarianceType variance = VarianceType.FixedSmall, DecoderLikelihood decoder = DecoderLikelihood.Discretized8Bit,
        double? clipRange = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(schedule);
        ArgumentNullException.ThrowIfNull(denoiser);
        ArgumentNullException.ThrowIfNull(original);
        if (original.Dimensions < 2)
        {
            throw new ArgumentException("The data needs a batch dimension and at least one more.", nameof(original));
        }

        using var scope = torch.NewDisposeScope();
        using var noGrad = torch.no_grad();
        var x0 = original.to(ScalarType.Float64);
        var dims = x0.NumberOfElements / x0.size(0);
        var nats = 1 / (dims * Math.Log(2));

        // L_T: q(x_T | x₀) = N(√ᾱ_T·x₀, 1 − ᾱ_T) against N(0, 1).
        var last = schedule.AlphaBar(schedule.TrainTimesteps - 1);
        var prior = Mean(((x0.square() * last) + (-1 - Math.Log(1 - last) + (1 - last))) * 0.5);

        double diffusion = 0, decoderTerm = 0;
        for (var t = schedule.TrainTimesteps - 1; t >= 0; t--)
        {
            cancellationToken.ThrowIfCancellationRequested();
            using var step = torch.NewDisposeScope();
            var alphaBar = schedule.AlphaBar(t);
            var noise = torch.randn(x0.shape, ScalarType.Float64, x0.device, generator: generator);
            var xt = (x0 * Math.Sqrt(alphaBar)) + (noise * Math.Sqrt(1 - alphaBar));
            var output = denoiser(xt.to(original.dtype), t).to(ScalarType.Float64);
            var predicted = Parameterization.ToSample(predictionType, output, xt, alphaBar);
            if (clipRange is { } r)
            {
                predicted = predicted.clamp(-r, r);
            }

            var c0 = schedule.PosteriorMeanCoefficientX0[t];
            var ct = schedule.PosteriorMeanCoefficientXt[t];
            var modelMean = (predicted * c0) + (xt * ct);
            var modelLogVariance = variance == VarianceType.FixedSmall || t == 0
                ? schedule.PosteriorLogVarianceClipped[t]
                : Math.Log(schedule.Betas[t]);
            if (t > 0)
            {
                // KL of two Gaussians: ½(−1 + log σ₂² − log σ₁² + σ₁²/σ₂² + (μ₁ − μ₂)²/σ₂²).
                var trueLogVariance = schedule.PosteriorLogVarianceClipped[t];
                var constant = 0.5 * (-1 + modelLogVariance - trueLogVariance + Math.Exp(trueLogVariance - modelLogVariance));
                var meanGap = (x0 - predicted) * c0;  // μ̃(x_t, x₀) − μ_θ(x_t)
                diffusion += Mean((meanGap.square() * (0.5 * Math.Exp(-modelLogVariance))) + constant);
            }
            else
            {
                decoderTerm = Mean(decoder == DecoderLikelihood.Discretized8Bit
                    ? -DiscretizedGaussianLogLikelihood(x0, modelMean, 0.5 * modelLogVariance)
                    : ((x0 - modelMean).square() * (0.5 * Math.Exp(-modelLogVariance))) + (0.5 * (Math.Log(2 * Math.PI) + modelLogVariance)));
            }
        }

        return new VariationalBoundTerms(prior * nats, diffusion * nats, decoderTerm * nats);
    }

    /// <summary>
    /// log of the N(mean, e^{2·logScale}) mass in each 8-bit value's bin: [x − 1/255, x + 1/255], with the
    /// lowest bin open below and the highest open above (Ho et al. 2020, eq. 13).
    /// </summary>
    internal static Tensor DiscretizedGaussianLogLikelihood(Tensor x, Tensor mean, double logScale)
    {
        using var scope = torch.NewDisposeScope();
        var centred = x - mean;
        var inverseScale = Math.Exp(-logScale);
        var cdfPlus = StandardNormalCdf((centred + (1.0 / 255)) * inverseScale);
        var cdfMinus = StandardNormalCdf((centred - (1.0 / 255)) * inverseScale);
        var logCdfPlus = cdfPlus.clamp(min: 1e-12).log();
        var logOneMinusCdfMinus = (1 - cdfMinus).clamp(min: 1e-12).log();
        var logDelta = (cdfPlus - cdfMinus).clamp(min: 1e-12).log();
        var result = torch.where(x.lt(-0.999), logCdfPlus, torch.where(x.gt(0.999), logOneMinusCdfMinus, logDelta));
        return scope.MoveToOuter(result);
    }

    private static Tensor StandardNormalCdf(Tensor x) => ((x * (1 / Math.Sqrt(2))).erf() + 1) * 0.5;

    // The per-sample sum over dimensions, averaged over samples, in nats.
    private static double Mean(Tensor perElement) => perElement.flatten(1).sum([1]).mean().ToDouble();
}
