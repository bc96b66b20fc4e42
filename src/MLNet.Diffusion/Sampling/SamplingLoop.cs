using TorchSharp;
using static TorchSharp.torch;
using MLNet.Diffusion.ForwardProcess;

namespace MLNet.Diffusion.Sampling;

/// <summary>Runs a sampler from pure noise to data with a <see cref="Denoiser"/>.</summary>
public static class SamplingLoop
{
    /// <summary>
    /// Starts from x_T ~ N(0, I) of <paramref name="shape"/> (<see cref="SamplingNoise.Initial"/>; times the sampler's
    /// <see cref="DiffusionSampler.InitialNoiseScale"/> where that is not 1), then takes
    /// <paramref name="steps"/> steps of <paramref name="sampler"/>. Each step runs in its own dispose scope.
    /// <paramref name="progress"/> receives the number of steps done.
    /// </summary>
    public static Tensor Run(IDiffusionSampler sampler, Denoiser denoiser, long[] shape, SamplingNoise noise, int steps,
        ScalarType dtype = ScalarType.Float32, IProgress<int>? progress = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(sampler);
        ArgumentNullException.ThrowIfNull(denoiser);
        ArgumentNullException.ThrowIfNull(noise);
        sampler.SetTimesteps(steps);
        var start = noise.Initial(shape, dtype);
        if (sampler is DiffusionSampler { InitialNoiseScale: not 1 } scaled)
        {
            using var initial = start;
            start = initial * scaled.InitialNoiseScale;
        }

        return From(sampler, denoiser, start, sampler.Timesteps, noise, null, progress, cancellationToken);
    }

    /// <summary>
    /// Takes <paramref name="timesteps"/> (the sampler's, or the last of them) from <paramref name="start"/>, which it disposes; after
    /// each step, <paramref name="afterStep"/> (when given) replaces the result, given it and the timestep reached (−1: clean data).
    /// Each step runs in its own dispose scope; the result goes to the caller's.
    /// </summary>
    internal static Tensor From(IDiffusionSampler sampler, Denoiser denoiser, Tensor start, IReadOnlyList<int> timesteps, SamplingNoise? noise,
        Func<Tensor, int, Tensor>? afterStep, IProgress<int>? progress, CancellationToken cancellationToken)
    {
        using var run = torch.NewDisposeScope();
        using var noGrad = torch.no_grad();
        var x = start;
        try
        {
            for (var i = 0; i < timesteps.Count; i++)
            {
                cancellationToken.ThrowIfCancellationRequested();
                var t = timesteps[i];
                Tensor next;
                using (var step = torch.NewDisposeScope())
                {
                    var stepped = sampler.Step(denoiser(x, t), t, x, noise);
                    next = step.MoveToOuter(afterStep is null ? stepped : afterStep(stepped, i + 1 < timesteps.Count ? timesteps[i + 1] : -1));
                }

                x.Dispose();  // free each step's input at once rather than at the end of the run
                x = next;
                progress?.Report(i + 1);
            }
        }
        catch
        {
            // Each step's result is the run scope's; the start may belong to no scope.
            if (ReferenceEquals(x, start))
            {
                start.Dispose();
            }

            throw;
        }

        return run.MoveToOuter(x);
    }
}
