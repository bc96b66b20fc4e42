using static TorchSharp.torch;

namespace MLNet.Diffusion.ForwardProcess;

/// <summary>The network's output at (x_t, t) — ε, x₀ or v, as the sampler's options say.</summary>
/// <param name="sample">x_t.</param>
/// <param name="timestep">t, 0-based.</param>
public delegate Tensor Denoiser(Tensor sample, int timestep);
