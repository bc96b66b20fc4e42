namespace MLNet.Diffusion.ForwardProcess;

/// <summary>The variational bound on −log p(x₀), split into its terms, each in bits per dimension.</summary>
/// <param name="Prior">L_T: KL(q(x_T | x₀) ‖ N(0, I)); no network involved.</param>
/// <param name="Diffusion">Σ L_{t−1} for t = 2 .. T: KL(q(x_{t−1} | x_t, x₀) ‖ p(x_{t−1} | x_t)).</param>
/// <param name="Decoder">L₀: −log p(x₀ | x₁).</param>
public sealed record VariationalBoundTerms(double Prior, double Diffusion, double Decoder)
{
    /// <summary>The whole bound: an upper bound on the negative log-likelihood in bits per dimension.</summary>
    public double Total => Prior + Diffusion + Decoder;
}
