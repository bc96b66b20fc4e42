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

    /// <summary>
    /// Heun's second-order method on the Karras noise grid (Karras et al. 2022, EDM): n steps take 2n − 1 network evaluations;
    /// 10 by default. Deterministic. Generation only (no image-to-image or inpainting).
    /// </summary>
    Heun,

    /// <summary>Euler's method on the Karras noise grid (Karras et al. 2022): 20 steps by default. Deterministic. Generation only.</summary>
    Euler,
}
