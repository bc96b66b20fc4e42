using TorchSharp;
using static TorchSharp.torch;
using MLNet.Diffusion.ForwardProcess;

namespace MLNet.Diffusion.Tests.Sampling;

/// <summary>
/// Exact optimal denoisers for data whose posterior E[x₀ | x_t] has a closed form, as the network output of a
/// given prediction type. With x_t = √ᾱ·x₀ + √(1 − ᾱ)·ε:
/// <list type="bullet">
/// <item>x₀ ~ N(μ, s²): E[x₀ | x_t] = μ + s²√ᾱ/(ᾱs² + 1 − ᾱ)·(x_t − √ᾱ·μ), Var[x₀ | x_t] = s²(1 − ᾱ)/(ᾱs² + 1 − ᾱ);</item>
/// <item>x₀ = ±1 with probability ½ each: E[x₀ | x_t] = tanh(√ᾱ·x_t/(1 − ᾱ)).</item>
/// </list>
/// </summary>
internal static class AnalyticDenoisers
{
    public static Denoiser Gaussian(NoiseSchedule schedule, PredictionType type, double mean, double std) => (x, t) =>
    {
        var alphaBar = schedule.AlphaBar(t);
        var gain = std * std * Math.Sqrt(alphaBar) / ((alphaBar * std * std) + 1 - alphaBar);
        using var x0 = ((x - (Math.Sqrt(alphaBar) * mean)) * gain) + mean;
        return Output(type, x0, x, alphaBar);
    };

    public static Denoiser TwoPoint(NoiseSchedule schedule, PredictionType type) => (x, t) =>
    {
        var alphaBar = schedule.AlphaBar(t);
        using var scaled = x * (Math.Sqrt(alphaBar) / (1 - alphaBar));
        using var x0 = scaled.tanh();
        return Output(type, x0, x, alphaBar);
    };

    /// <summary>
    /// The exact output distribution of DDPM or DDIM started from x_T ~ N(0, 1) on N(μ, s²) data with the exact
    /// denoiser and no clipping. Each step is affine in x_t plus independent noise — x_{t'} − √ᾱ_{t'}μ =
    /// G·(x_t − √ᾱ_t·μ) + σz — so the mean offset m and variance V follow m' = G·m, V' = G²·V + σ². For DDPM
    /// G = c₀k + c_t (posterior-mean coefficients), for DDIM G = √ᾱ_{t'}·k + √(1 − ᾱ_{t'} − σ²)·√(1 − ᾱ_t)/v_t,
    /// with k = s²√ᾱ_t/v_t and v_t = ᾱ_t·s² + 1 − ᾱ_t.
    /// </summary>
    public static (double Mean, double Std) PredictRun(NoiseSchedule schedule, IReadOnlyList<int> timesteps, string sampler, double eta, double mean, double std)
    {
        var offset = -Math.Sqrt(schedule.AlphaBar(timesteps[0])) * mean;
        var variance = 1.0;
        for (var i = 0; i < timesteps.Count; i++)
        {
            var previous = i + 1 < timesteps.Count ? timesteps[i + 1] : -1;
            var (a, ap) = (schedule.AlphaBar(timesteps[i]), schedule.AlphaBar(previous));
            var v = (a * std * std) + 1 - a;
            var k = std * std * Math.Sqrt(a) / v;
            var beta = 1 - (a / ap);
            double gain, sigma2;
            if (sampler == "ddim")
            {
                sigma2 = eta * eta * (1 - ap) / (1 - a) * beta;
                gain = (Math.Sqrt(ap) * k) + (Math.Sqrt(Math.Max(1 - ap - sigma2, 0)) * Math.Sqrt(1 - a) / v);
            }
            else
            {
                gain = (Math.Sqrt(ap) * beta / (1 - a) * k) + (Math.Sqrt(1 - beta) * (1 - ap) / (1 - a));
                sigma2 = previous < 0 ? 0 : sampler == "ddpm-large" ? beta : (1 - ap) / (1 - a) * beta;
            }

            offset *= gain;
            variance = (gain * gain * variance) + sigma2;
        }

        return (mean + offset, Math.Sqrt(variance));
    }

    public static double PosteriorVariance(double alphaBar, double std) => std * std * (1 - alphaBar) / ((alphaBar * std * std) + 1 - alphaBar);

    private static Tensor Output(PredictionType type, Tensor x0, Tensor x, double alphaBar)
    {
        using var scope = torch.NewDisposeScope();
        var eps = (x - (x0 * Math.Sqrt(alphaBar))) / Math.Sqrt(1 - alphaBar);
        var output = type switch
        {
            PredictionType.Sample => x0.clone(),
            PredictionType.Epsilon => eps,
            _ => (eps * Math.Sqrt(alphaBar)) - (x0 * Math.Sqrt(1 - alphaBar)),
        };
        return scope.MoveToOuter(output);
    }
}
