namespace MLNet.Diffusion;

/// <summary>The samplers a <see cref="DiffusionModel"/> generates with.</summary>
public enum SamplerKind
{
    /// <summary>DPM-Solver++(2M): good images in 10–25 steps. The default.</summary>
    DpmSolverPlusPlus,

    /// <summary>DDIM: 10–100 steps, deterministic unless η &gt; 0.</summary>
    Ddim,

    /// <summary>DDPM ancestral sampling over all training steps.</summary>
    Ddpm,
}
