using TorchSharp;
using static TorchSharp.torch;
using MLNet.Diffusion.ForwardProcess;

namespace MLNet.Diffusion.Sampling;

/// <summary>What the samplers share: timestep selection, x₀ prediction with clipping or thresholding, checks.</summary>
public abstract class DiffusionSampler : IDiffusionSampler
{
    private int[] _timesteps = [];
    private Dictionary<int, int> _positions = [];

    /// <summary>Creates the sampler and checks that its options fit the schedule.</summary>
    protected DiffusionSampler(NoiseSchedule schedule, SamplerOptions? options)
    {
        ArgumentNullException.ThrowIfNull(schedule);
        Schedule = schedule;
        Options = options ?? new SamplerOptions();
        if (Options.PredictionType == PredictionType.Epsilon && schedule.AlphasCumulative[^1] == 0)
        {
            throw new ArgumentException(
                "The schedule ends with zero signal (ᾱ = 0), where x₀ cannot be recovered from an ε prediction; use v or sample prediction.",
                nameof(options));
        }

        if (!(Options.ClipRange > 0))
        {
            throw new ArgumentOutOfRangeException(nameof(options), Options.ClipRange, "ClipRange must be > 0.");
        }

        if (!(Options.ThresholdQuantile is > 0 and <= 1) || !(Options.ThresholdMaxValue >= 1))
        {
            throw new ArgumentOutOfRangeException(nameof(options), "ThresholdQuantile must be in (0, 1] and ThresholdMaxValue ≥ 1.");
        }
    }

    /// <inheritdoc/>
    public NoiseSchedule Schedule { get; }

    /// <inheritdoc/>
    public SamplerOptions Options { get; }

    /// <inheritdoc/>
    public IReadOnlyList<int> Timesteps => _timesteps;

    /// <inheritdoc/>
    public abstract bool IsStochastic { get; }

    /// <summary>The spacing used when the options name none.</summary>
    protected virtual TimestepSpacing DefaultSpacing => TimestepSpacing.Trailing;

    /// <summary>Whether x₀ predictions are clipped or thresholded.</summary>
    protected bool ProcessesSample => Options.ClipSample || Options.DynamicThresholding;

    /// <summary>The fewest sampling steps a run takes; the most are the schedule's training timesteps.</summary>
    public const int MinSteps = 1;

    /// <inheritdoc/>
    public virtual void SetTimesteps(int steps)
    {
        var t = Schedule.TrainTimesteps;
        if (steps < MinSteps || steps > t)
        {
            throw new ArgumentOutOfRangeException(nameof(steps), steps, $"The number of sampling steps must be in [{MinSteps}, {t}] (the training timesteps).");
        }

        _timesteps = ChooseTimesteps(steps);
        _positions = [];
        for (var i = 0; i < _timesteps.Length; i++)
        {
            _positions.TryAdd(_timesteps[i], i);  // a timestep the run evaluates twice (Heun's) is found at its first
        }
    }

    /// <summary>
    /// The network evaluations of a run of <paramref name="steps"/>, by timestep, noisiest first: one per step (the
    /// <see cref="Spaced"/> grid of <see cref="SamplerOptions.Spacing"/>) unless a sampler evaluates some twice.
    /// </summary>
    protected virtual int[] ChooseTimesteps(int steps) => Spaced(Schedule, steps, Options.Spacing ?? DefaultSpacing);

    /// <summary>
    /// The standard deviation of the run's start: x_T = scale·z with z the seed's N(0, I) noise. 1 here (x_T of a VP process);
    /// a sampler that starts below the schedule's last timestep scales it to that timestep's √(1 − ᾱ).
    /// </summary>
    public virtual double InitialNoiseScale => 1;

    /// <inheritdoc/>
    public abstract Tensor Step(Tensor modelOutput, int timestep, Tensor sample, SamplingNoise? noise = null);

    /// <summary>The 0-based timesteps of a run of <paramref name="steps"/> over <paramref name="schedule"/>, largest first.</summary>
    public static int[] Spaced(NoiseSchedule schedule, int steps, TimestepSpacing spacing)
    {
        ArgumentNullException.ThrowIfNull(schedule);
        var trainTimesteps = schedule.TrainTimesteps;
        var result = spacing switch
        {
            TimestepSpacing.LogSnr => LogSnrSpaced(schedule, steps),
            // t_i = (T − 1)·((n − i)/n)^1.5; where steps shrink below one timestep (n ≳ 150 of 1,000) they are made distinct.
            TimestepSpacing.Tapered => MakeDistinct([.. Enumerable.Range(0, steps).Select(i =>
                (int)Math.Round((trainTimesteps - 1) * Math.Pow((steps - i) / (double)steps, 1.5)))]),
            _ => [.. Enumerable.Range(0, steps).Select(i => spacing switch
            {
                TimestepSpacing.Trailing => (int)Math.Round(trainTimesteps - (i * (double)trainTimesteps / steps)) - 1,
                TimestepSpacing.Leading => (steps - 1 - i) * (trainTimesteps / steps),
                TimestepSpacing.Linspace => (int)Math.Round((trainTimesteps - 1) * (steps - 1 - i) / (double)Math.Max(steps - 1, 1)),
                _ => throw new ArgumentOutOfRangeException(nameof(spacing), spacing, "Unknown timestep spacing."),
            })],
        };

        if (result.Distinct().Count() != steps)
        {
            throw new ArgumentException($"{steps} steps with {spacing} spacing over {trainTimesteps} timesteps repeat a timestep; use fewer steps.", nameof(steps));
        }

        return result;
    }

    // λ_i evenly spaced from λ(T−1) to λ(0); each mapped to the training timestep with the nearest λ. With a
    // zero-terminal-SNR schedule λ(T−1) = −∞: the run starts at T−1 and spaces the rest from λ(T−2).
    private static int[] LogSnrSpaced(NoiseSchedule schedule, int steps)
    {
        var last = schedule.TrainTimesteps - 1;
        var lambda = schedule.AlphasCumulative.Select(a => 0.5 * (Math.Log(a) - Math.Log(1 - a))).ToArray();
        var zeroSnr = double.IsNegativeInfinity(lambda[last]);
        var (low, high) = (lambda[zeroSnr ? last - 1 : last], lambda[0]);
        var result = new int[steps];
        for (var i = 0; i < steps; i++)
        {
            var target = steps == 1 ? low : low + ((high - low) * i / (steps - 1));
            var best = 0;
            for (var t = 1; t <= last; t++)
            {
                if (Math.Abs(lambda[t] - target) < Math.Abs(lambda[best] - target))
                {
                    best = t;
                }
            }

            result[i] = best;
        }

        if (zeroSnr)
        {
            result[0] = last;
        }

        // Where λ changes fast (the ends of short or cosine schedules) several targets can share a timestep.
        return MakeDistinct(result);
    }

    // Makes a largest-first run whose neighbours may repeat strictly decreasing, then lifts the tail back to ≥ 0, staying
    // as close to the targets as integers allow. A run that is already strictly decreasing and ≥ 0 is unchanged.
    internal static int[] MakeDistinct(int[] result)
    {
        for (var i = 1; i < result.Length; i++)
        {
            result[i] = Math.Min(result[i], result[i - 1] - 1);
        }

        for (var i = result.Length - 1; i >= 0; i--)
        {
            result[i] = Math.Max(result[i], i == result.Length - 1 ? 0 : result[i + 1] + 1);
        }

        return result;
    }

    /// <summary>
    /// Prepares a run that starts part-way down the grid set by <see cref="SetTimesteps"/>, at <paramref name="timestep"/>
    /// (image-to-image); a multistep sampler then takes its first step there, at first order.
    /// </summary>
    /// <exception cref="ArgumentException"><paramref name="timestep"/> is not on the grid.</exception>
    internal virtual void StartAt(int timestep) => _ = PositionOf(timestep);

    /// <summary>The position of <paramref name="timestep"/> in <see cref="Timesteps"/>.</summary>
    protected int PositionOf(int timestep)
    {
        if (_timesteps.Length == 0)
        {
            throw new InvalidOperationException("Call SetTimesteps before Step.");
        }

        return _positions.TryGetValue(timestep, out var position)
            ? position
            : throw new ArgumentException($"Timestep {timestep} is not in this run's timesteps ({_timesteps[0]} down to {_timesteps[^1]}).", nameof(timestep));
    }

    /// <summary>The timestep after <paramref name="timestep"/> in this run, or −1 (clean data) after the last.</summary>
    protected int PreviousTimestep(int timestep)
    {
        var position = PositionOf(timestep);
        return position + 1 < _timesteps.Length ? _timesteps[position + 1] : -1;
    }

    /// <summary>The run's next timestep after <paramref name="timestep"/> (−1 at the end) with ᾱ at both.</summary>
    protected (int Previous, double AlphaBar, double AlphaBarPrevious) StepAlphas(int timestep)
    {
        var previous = PreviousTimestep(timestep);
        return (previous, Schedule.AlphaBar(timestep), Schedule.AlphaBar(previous));
    }

    /// <summary>The x₀ the model output implies, clipped or thresholded as configured.</summary>
    protected Tensor PredictSample(Tensor modelOutput, Tensor sample, double alphaBar)
    {
        using var scope = torch.NewDisposeScope();
        var x0 = Parameterization.ToSample(Options.PredictionType, modelOutput, sample, alphaBar);
        if (Options.DynamicThresholding)
        {
            x0 = Threshold(x0);
        }
        else if (Options.ClipSample)
        {
            x0 = x0.clamp(-Options.ClipRange, Options.ClipRange);
        }

        return scope.MoveToOuter(x0);
    }

    /// <summary>Adds σ·z to <paramref name="mean"/> when σ &gt; 0, drawing z from <paramref name="noise"/>.</summary>
    protected static Tensor AddNoise(Tensor mean, double sigma, SamplingNoise? noise)
    {
        if (sigma <= 0)
        {
            return mean.clone();
        }

        if (noise is null)
        {
            throw new ArgumentNullException(nameof(noise), "This step adds noise; pass a SamplingNoise.");
        }

        using var scope = torch.NewDisposeScope();
        var z = noise.Next(mean.shape, mean.dtype).to(mean.device);
        return scope.MoveToOuter(mean + (z * sigma));
    }

    // Saharia et al. 2022 (Imagen), dynamic thresholding: s = quantile(|x₀|, p) per sample, s ∈ [1, max].
    private Tensor Threshold(Tensor x0)
    {
        using var scope = torch.NewDisposeScope();
        var batch = x0.size(0);
        var flat = x0.reshape(batch, -1).to(ScalarType.Float32);
        var s = flat.abs().quantile(torch.tensor(Options.ThresholdQuantile, dtype: flat.dtype, device: flat.device), 1, keepdim: true).clamp(1, Options.ThresholdMaxValue);
        var result = (flat.maximum(-s).minimum(s) / s).reshape(x0.shape).to(x0.dtype);
        return scope.MoveToOuter(result);
    }
}
