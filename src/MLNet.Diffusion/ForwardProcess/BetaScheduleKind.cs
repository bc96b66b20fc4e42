namespace MLNet.Diffusion.ForwardProcess;

/// <summary>How the per-step noise variances β_t are laid out over the T training steps.</summary>
public enum BetaScheduleKind
{
    /// <summary>
    /// Linear from β_start to β_end (Ho et al. 2020: 1e-4 to 0.02 at T = 1000), both scaled by 1000/T for other T
    /// as in Improved DDPM, so that the total noise stays the same.
    /// </summary>
    Linear,

    /// <summary>Linear in √β from √β_start to √β_end (Stable Diffusion: 0.00085 to 0.012).</summary>
    ScaledLinear,

    /// <summary>
    /// Improved DDPM's cosine schedule (Nichol &amp; Dhariwal 2021, eq. 17): ᾱ_t = f(t)/f(0),
    /// f(t) = cos²(((t/T + s)/(1 + s))·π/2) with s = 0.008, each β clipped at 0.999.
    /// </summary>
    Cosine,

    /// <summary>β = β_start + (β_end − β_start)·sigmoid(x) for x evenly spaced over [−6, 6] (as in diffusers).</summary>
    Sigmoid,

    /// <summary>A user-supplied array of β values.</summary>
    Custom,
}
