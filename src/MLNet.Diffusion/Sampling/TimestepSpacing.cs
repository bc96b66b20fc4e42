namespace MLNet.Diffusion.Sampling;

/// <summary>How n sampling timesteps are picked from the T training timesteps (0-based), largest first.</summary>
public enum TimestepSpacing
{
    /// <summary>
    /// From the end: T−1, T−1−T/n, ... (rounded). Always starts at the noisiest step, as Lin et al. 2024 recommend.
    /// The default of DDPM and DDIM. diffusers' DPM-Solver++ places its steps nearly so by default (n + 1 even points
    /// from T − 1 to 0, rounded, the last dropped).
    /// </summary>
    Trailing,

    /// <summary>From the start: (n−1)·⌊T/n⌋, ..., ⌊T/n⌋, 0 (DDIM's and diffusers' original spacing).</summary>
    Leading,

    /// <summary>Evenly spaced over [0, T−1], rounded (both ends included).</summary>
    Linspace,

    /// <summary>
    /// Evenly spaced in log-SNR λ = ½·log(ᾱ/(1 − ᾱ)) from the noisiest step to t = 0, each at the nearest training
    /// timestep: equal steps h in λ for DPM-Solver++ (Lu et al. 2022's "logSNR" skip type). Where λ falls steeply at the
    /// noisy end it crowds the steps there: on the 1,000-step cosine schedule, whose clipped last β makes λ(999) = −9.9,
    /// 8 of 20 timesteps are ≥ 990.
    /// </summary>
    LogSnr,

    /// <summary>
    /// t_i = (T − 1)·((n − i)/n)^1.5 for i = 0 .. n − 1 (rounded): from the noisiest step, with steps that shorten towards
    /// t = 0, halfway between <see cref="Trailing"/> (exponent 1) and DDIM's quadratic selection (exponent 2, which
    /// Song et al. 2021 used for CIFAR-10). The default of DPM-Solver++, chosen by measurement (docs/schedulers.md):
    /// as good as Trailing on the cosine schedule, several times more accurate on the linear one, whose noise level
    /// changes fastest near t = 0.
    /// </summary>
    Tapered,
}
