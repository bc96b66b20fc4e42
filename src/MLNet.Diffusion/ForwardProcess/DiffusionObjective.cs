using TorchSharp;
using static TorchSharp.torch;

namespace MLNet.Diffusion.ForwardProcess;

/// <summary>
/// The training objective (Ho et al. 2020, Algorithm 1): draw t uniformly, noise x₀ into x_t, and regress the
/// network's output on the target of its <see cref="PredictionType"/> with a mean squared error, optionally
/// weighted by timestep (<see cref="LossWeighting"/>).
/// </summary>
public sealed class DiffusionObjective
{
    /// <summary>Creates the objective.</summary>
    /// <param name="schedule">The forward process.</param>
    /// <param name="predictionType">What the network predicts. Default ε.</param>
    /// <param name="weighting">Timestep weighting. Default uniform.</param>
    /// <param name="minSnrGamma">γ of min-SNR weighting. Default 5, the value Hang et al. recommend.</param>
    public DiffusionObjective(NoiseSchedule schedule, PredictionType predictionType = PredictionType.Epsilon, LossWeighting weighting = LossWeighting.Uniform, double minSnrGamma = 5)
    {
        ArgumentNullException.ThrowIfNull(schedule);
        if (!(minSnrGamma > 0))
        {
            throw new ArgumentOutOfRangeException(nameof(minSnrGamma), minSnrGamma, "γ must be > 0.");
        }

        if (predictionType == PredictionType.Epsilon && schedule.AlphasCumulative[^1] == 0 && weighting == LossWeighting.MinSnr)
        {
            throw new ArgumentException("Min-SNR weighting of ε prediction divides by the SNR, which is 0 at the last step of a zero-terminal-SNR schedule; use v prediction.", nameof(weighting));
        }

        Schedule = schedule;
        PredictionType = predictionType;
        Weighting = weighting;
        MinSnrGamma = minSnrGamma;
    }

    /// <summary>The forward process.</summary>
    public NoiseSchedule Schedule { get; }

    /// <summary>What the network predicts.</summary>
    public PredictionType PredictionType { get; }

    /// <summary>The timestep weighting.</summary>
    public LossWeighting Weighting { get; }

    /// <summary>γ of min-SNR weighting.</summary>
    public double MinSnrGamma { get; }

    /// <summary>Uniform timesteps in [0, T) for <paramref name="batchSize"/> samples (int64).</summary>
    public Tensor SampleTimesteps(long batchSize, Generator? generator = null, Device? device = null) =>
        torch.randint(0, Schedule.TrainTimesteps, [batchSize], ScalarType.Int64, device, generator: generator);

    /// <summary>
    /// One training example per sample: x_t = √ᾱ_t·x₀ + √(1 − ᾱ_t)·ε, and the target the network should output.
    /// </summary>
    public (Tensor NoisySample, Tensor Target) Prepare(Tensor original, Tensor noise, Tensor timesteps)
    {
        ArgumentNullException.ThrowIfNull(original);
        ArgumentNullException.ThrowIfNull(noise);
        using var scope = torch.NewDisposeScope();
        var a = Schedule.PerSample(Schedule.AlphasCumulative.Select(Math.Sqrt).ToArray(), timesteps, original);
        var b = Schedule.PerSample(Schedule.AlphasCumulative.Select(x => Math.Sqrt(1 - x)).ToArray(), timesteps, original);
        var noisy = (original * a) + (noise * b);
        var target = Parameterization.Target(PredictionType, original, noise, a, b);
        return (scope.MoveToOuter(noisy), scope.MoveToOuter(target));
    }

    /// <summary>
    /// The weighted mean squared error: the mean over samples of w(t)·mean over elements of (output − target)².
    /// </summary>
    public Tensor Loss(Tensor modelOutput, Tensor target, Tensor timesteps)
    {
        ArgumentNullException.ThrowIfNull(modelOutput);
        ArgumentNullException.ThrowIfNull(target);
        using var scope = torch.NewDisposeScope();
        var perElement = nn.functional.mse_loss(modelOutput, target, nn.Reduction.None);
        var perSample = perElement.flatten(1).mean([1]);
        var loss = Weighting == LossWeighting.Uniform
            ? perSample.mean()
            : (perSample * Schedule.PerSample(Weights(), timesteps, perSample)).mean();
        return scope.MoveToOuter(loss);
    }

    /// <summary>The per-timestep loss weights w(t) (all ones for uniform weighting).</summary>
    public double[] Weights()
    {
        var weights = new double[Schedule.TrainTimesteps];
        for (var t = 0; t < weights.Length; t++)
        {
            var snr = Schedule.SignalToNoise(t);
            var clipped = Math.Min(snr, MinSnrGamma);
            weights[t] = Weighting == LossWeighting.Uniform ? 1 : PredictionType switch
            {
                PredictionType.Epsilon => clipped / snr,
                PredictionType.Sample => clipped,
                PredictionType.VPrediction => clipped / (snr + 1),
                _ => throw new InvalidOperationException($"Unknown prediction type {PredictionType}."),
            };
        }

        return weights;
    }
}
