using TorchSharp;
using static TorchSharp.torch;
using MLNet.Diffusion.ForwardProcess;

namespace MLNet.Diffusion.Sampling;

/// <summary>Runs a sampler from pure noise to data with a <see cref="Denoiser"/>.</summary>
public static class SamplingLoop
{
    /// <summary>
    /// Starts from x_T ~ N(0, I) of <paramref name="shape"/> (<see cref="SamplingNoise.Initial"/>), then takes
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
        using var run = torch.NewDisposeScope();
        using var noGrad = torch.no_grad();
        var x = noise.Initial(shape, dtype);
        var done = 0;
        foreach (var t in sampler.Timesteps)
        {
            cancellationToken.ThrowIfCancellationRequested();
            Tensor next;
            using (var step = torch.NewDisposeScope())
            {
                next = step.MoveToOuter(sampler.Step(denoiser(x, t), t, x, noise));
            }

            x.Dispose();  // free each step's input at once rather than at the end of the run
            x = next;
            progress?.Report(++done);
        }

        return run.MoveToOuter(x);
    }
}
