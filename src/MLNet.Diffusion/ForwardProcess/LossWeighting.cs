namespace MLNet.Diffusion.ForwardProcess;

/// <summary>How the per-sample training losses are weighted by timestep.</summary>
public enum LossWeighting
{
    /// <summary>Every timestep counts the same (Ho et al. 2020's "simple" loss).</summary>
    Uniform,

    /// <summary>
    /// Min-SNR-γ (Hang et al. 2023): the loss of a sample at SNR s is weighted as if an x₀-loss were weighted by
    /// min(s, γ) — for ε prediction min(s, γ)/s, for v prediction min(s, γ)/(s + 1), for x₀ prediction min(s, γ).
    /// </summary>
    MinSnr,
}
