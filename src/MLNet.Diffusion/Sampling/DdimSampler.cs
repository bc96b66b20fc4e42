using TorchSharp;
using static TorchSharp.torch;
using MLNet.Diffusion.ForwardProcess;

namespace MLNet.Diffusion.Sampling;

/// <summary>
/// Denoising diffusion implicit models (Song et al. 2021, eq. 12), from timestep t to the run's previous t':
/// <list type="number">
/// <item>x̂₀ from the model output (clipped or thresholded), and ε̂ from x_t and x̂₀;</item>
/// <item>σ = η·√((1 − ᾱ_{t'})/(1 − ᾱ_t))·√(1 − ᾱ_t/ᾱ_{t'}) (eq. 16);</item>
/// <item>x_{t'} = √ᾱ_{t'}·x̂₀ + √(1 − ᾱ_{t'} − σ²)·ε̂ + σ·z.</item>
/// </list>
/// η = 0 is deterministic; η = 1 over all T steps is DDPM with β̃. The last step goes to ᾱ = 1. Meant for 10–100 steps.
/// </summary>
public sealed class DdimSampler : DiffusionSampler
{
    /// <summary>Creates the sampler.</summary>
    public DdimSampler(NoiseSchedule schedule, SamplerOptions? options = null)
        : base(schedule, options)
    {
        if (!(Options.Eta >= 0))
        {
            throw new ArgumentOutOfRangeException(nameof(options), Options.Eta, "η must be ≥ 0.");
        }
    }

    /// <inheritdoc/>
    public override bool IsStochastic => Options.Eta > 0;

    /// <inheritdoc/>
    public override Tensor Step(Tensor modelOutput, int timestep, Tensor sample, SamplingNoise? noise = null)
    {
        ArgumentNullException.ThrowIfNull(modelOutput);
        ArgumentNullException.ThrowIfNull(sample);
        var (_, alphaBar, alphaBarPrevious) = StepAlphas(timestep);

        using var scope = torch.NewDisposeScope();
        var x0 = PredictSample(modelOutput, sample, alphaBar);
        // When x̂₀ was clipped, the ε that goes with it is re-derived, so x_t, x̂₀ and ε̂ stay consistent.
        var epsilon = ProcessesSample
            ? Parameterization.EpsilonFromSample(x0, sample, alphaBar)
            : Parameterization.ToEpsilon(Options.PredictionType, modelOutput, sample, alphaBar);
        var sigma = Options.Eta * Math.Sqrt((1 - alphaBarPrevious) / (1 - alphaBar)) * Math.Sqrt(1 - (alphaBar / alphaBarPrevious));
        var direction = Math.Sqrt(Math.Max(1 - alphaBarPrevious - (sigma * sigma), 0));
        var mean = (x0 * Math.Sqrt(alphaBarPrevious)) + (epsilon * direction);
        return scope.MoveToOuter(AddNoise(mean, sigma, noise));
    }
}
