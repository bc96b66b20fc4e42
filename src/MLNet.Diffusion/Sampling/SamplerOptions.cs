using MLNet.Diffusion.ForwardProcess;

namespace MLNet.Diffusion.Sampling;

/// <summary>Settings shared by the samplers; each ignores what does not apply to it.</summary>
public sealed record SamplerOptions
{
    /// <summary>What the network predicts. Default ε.</summary>
    public PredictionType PredictionType { get; init; } = PredictionType.Epsilon;

    /// <summary>
    /// How sampling timesteps are spread over the training ones. Null (the default) means the sampler's own:
    /// trailing for DDPM and DDIM, tapered for DPM-Solver++.
    /// </summary>
    public TimestepSpacing? Spacing { get; init; }

    /// <summary>Clamp each x₀ prediction to [−ClipRange, ClipRange], the data range. Default true (images in [−1, 1]).</summary>
    public bool ClipSample { get; init; } = true;

    /// <summary>The half-width of the data range used by <see cref="ClipSample"/>. Default 1.</summary>
    public double ClipRange { get; init; } = 1;

    /// <summary>
    /// Dynamic thresholding (Saharia et al. 2022): per sample, s = the <see cref="ThresholdQuantile"/> of |x₀|,
    /// clamped to [1, <see cref="ThresholdMaxValue"/>]; x₀ ← clamp(x₀, −s, s)/s. Replaces <see cref="ClipSample"/>. Default false.
    /// </summary>
    public bool DynamicThresholding { get; init; }

    /// <summary>The quantile of dynamic thresholding. Default 0.995 (Imagen).</summary>
    public double ThresholdQuantile { get; init; } = 0.995;

    /// <summary>The largest threshold of dynamic thresholding. Default 1.</summary>
    public double ThresholdMaxValue { get; init; } = 1;

    /// <summary>DDPM: the reverse-step variance. Default β̃ (fixed-small).</summary>
    public VarianceType VarianceType { get; init; } = VarianceType.FixedSmall;

    /// <summary>DDIM: η, the share of fresh noise (0 deterministic, 1 as DDPM with β̃). Default 0.</summary>
    public double Eta { get; init; }

    /// <summary>
    /// Euler and Heun: EDM's S_churn (Karras et al. 2022, Algorithm 2), how much noise each step adds back before it denoises:
    /// a step from σ_i inside [<see cref="ChurnMinSigma"/>, <see cref="ChurnMaxSigma"/>] first raises the noise to
    /// σ̂ = σ_i·(1 + γ), γ = min(S_churn/n, √2 − 1) for n steps. 0 (the default) is the deterministic sampler; EDM used 40 to 80
    /// at 256 steps on ImageNet 64. Must be ≥ 0.
    /// </summary>
    public double Churn { get; init; }

    /// <summary>Euler and Heun: EDM's S_tmin, the smallest σ a churned step starts from. Default 0.</summary>
    public double ChurnMinSigma { get; init; }

    /// <summary>Euler and Heun: EDM's S_tmax, the largest σ a churned step starts from. Default ∞ (every step).</summary>
    public double ChurnMaxSigma { get; init; } = double.PositiveInfinity;

    /// <summary>
    /// Euler and Heun: EDM's S_noise, the scale of the added noise (slightly above 1 offsets the detail a denoiser's
    /// errors remove). Default 1; must be &gt; 0.
    /// </summary>
    public double ChurnNoise { get; init; } = 1;
}
