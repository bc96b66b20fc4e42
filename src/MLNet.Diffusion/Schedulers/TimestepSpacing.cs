namespace MLNet.Diffusion.Schedulers;

/// <summary>How n sampling timesteps are picked from the T training timesteps (0-based), largest first.</summary>
public enum TimestepSpacing
{
    /// <summary>
    /// From the end: T−1, T−1−T/n, ... (rounded). Always starts at the noisiest step, as Lin et al. 2024 recommend.
    /// The default of DDPM and DDIM.
    /// </summary>
    Trailing,

    /// <summary>From the start: (n−1)·⌊T/n⌋, ..., ⌊T/n⌋, 0 (DDIM's and diffusers' original spacing).</summary>
    Leading,

    /// <summary>Evenly spaced over [0, T−1], rounded (both ends included).</summary>
    Linspace,

    /// <summary>
    /// Evenly spaced in log-SNR λ = ½·log(ᾱ/(1 − ᾱ)) from the noisiest step to t = 0, each at the nearest training
    /// timestep: equal steps h in λ for DPM-Solver++ (Lu et al. 2022's "logSNR" skip type).
    /// </summary>
    LogSnr,
}
