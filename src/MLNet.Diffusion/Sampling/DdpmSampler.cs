using TorchSharp;
using static TorchSharp.torch;
using MLNet.Diffusion.ForwardProcess;

namespace MLNet.Diffusion.Sampling;

/// <summary>
/// Ancestral sampling of Ho et al. 2020 (Algorithm 2), written through the x₀ prediction so that clipping applies:
/// <list type="number">
/// <item>x̂₀ from the model output (converted, then clipped or thresholded);</item>
/// <item>the posterior mean μ̃ = √ᾱ_{t'}·β_t/(1 − ᾱ_t)·x̂₀ + √α_t·(1 − ᾱ_{t'})/(1 − ᾱ_t)·x_t (eq. 7);</item>
/// <item>x_{t'} = μ̃ + σ_t·z with σ_t² = β̃_t (fixed-small) or β_t (fixed-large), and no noise at the last step.</item>
/// </list>
/// t' is the previous timestep of the run; with fewer steps than training timesteps, β_t is the effective
/// 1 − ᾱ_t/ᾱ_{t'} of the skipped stretch. Meant for all T steps (T = 1000: DDPM-1000).
/// </summary>
public sealed class DdpmSampler : DiffusionSampler
{
    /// <summary>Creates the sampler.</summary>
    public DdpmSampler(NoiseSchedule schedule, SamplerOptions? options = null)
        : base(schedule, options)
    {
    }

    /// <inheritdoc/>
    public override bool IsStochastic => true;

    /// <inheritdoc/>
    public override Tensor Step(Tensor modelOutput, int timestep, Tensor sample, SamplingNoise? noise = null)
    {
        ArgumentNullException.ThrowIfNull(modelOutput);
        ArgumentNullException.ThrowIfNull(sample);
        var (previous, alphaBar, alphaBarPrevious) = StepAlphas(timestep);
        var beta = 1 - (alphaBar / alphaBarPrevious);

        using var scope = torch.NewDisposeScope();
        var x0 = PredictSample(modelOutput, sample, alphaBar);
        var mean = (x0 * (Math.Sqrt(alphaBarPrevious) * beta / (1 - alphaBar)))
            + (sample * (Math.Sqrt(1 - beta) * (1 - alphaBarPrevious) / (1 - alphaBar)));
        var variance = previous < 0 ? 0
            : Options.VarianceType == VarianceType.FixedSmall ? Math.Max((1 - alphaBarPrevious) / (1 - alphaBar) * beta, 1e-20)
            : beta;
        return scope.MoveToOuter(AddNoise(mean, Math.Sqrt(variance), noise));
    }
}
