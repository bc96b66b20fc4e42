namespace MLNet.Diffusion.ForwardProcess;

/// <summary>How the last reverse step p(x₀ | x₁) scores the data in the variational bound.</summary>
public enum DecoderLikelihood
{
    /// <summary>
    /// 8-bit images scaled to [−1, 1]: the Gaussian's mass over each value's bin of width 2/255, with the outer
    /// bins open-ended (Ho et al. 2020, eq. 13). The default: gives bits/dim comparable to published numbers.
    /// </summary>
    Discretized8Bit,

    /// <summary>The Gaussian density itself, for continuous data.</summary>
    Continuous,
}
