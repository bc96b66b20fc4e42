namespace MLNet.Diffusion.ForwardProcess;

/// <summary>The variance σ_t² of the reverse step p(x_{t−1} | x_t) of DDPM sampling.</summary>
public enum VarianceType
{
    /// <summary>σ_t² = β̃_t, the true posterior's variance: the best choice when x₀ is deterministic. The default.</summary>
    FixedSmall,

    /// <summary>σ_t² = β_t, the choice of Algorithm 2 in Ho et al. 2020: best when x₀ ~ N(0, I).</summary>
    FixedLarge,
}
