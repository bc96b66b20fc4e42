using static TorchSharp.torch;
using MLNet.Diffusion.ForwardProcess;

namespace MLNet.Diffusion.Sampling;

/// <summary>
/// A reverse-process sampler: set the number of steps, then step from x_t to the previous x for each timestep
/// of <see cref="Timesteps"/> in order, with the network's output at (x_t, t).
/// </summary>
public interface IDiffusionSampler
{
    /// <summary>The forward process the network was trained with.</summary>
    NoiseSchedule Schedule { get; }

    /// <summary>The sampler's settings.</summary>
    SamplerOptions Options { get; }

    /// <summary>
    /// The timestep of each network evaluation of the current run, noisiest first (set by <see cref="SetTimesteps"/>): one
    /// per step, except that Heun's sampler evaluates the network twice at each step's end but the last.
    /// </summary>
    IReadOnlyList<int> Timesteps { get; }

    /// <summary>Whether steps draw fresh noise.</summary>
    bool IsStochastic { get; }

    /// <summary>Chooses <paramref name="steps"/> timesteps and resets any state of a previous run.</summary>
    void SetTimesteps(int steps);

    /// <summary>
    /// One reverse step from <paramref name="sample"/> (x_t at <paramref name="timestep"/>) given the network's
    /// <paramref name="modelOutput"/>; returns the previous sample. Stochastic samplers draw from <paramref name="noise"/>.
    /// </summary>
    Tensor Step(Tensor modelOutput, int timestep, Tensor sample, SamplingNoise? noise = null);
}
