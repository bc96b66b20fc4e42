using MLNet.Diffusion.Engine;
using TorchSharp;
using static TorchSharp.torch;

namespace MLNet.Diffusion.ForwardProcess;

/// <summary>
/// The forward process of a DDPM: the β_t table and everything derived from it, in double precision.
/// <para>
/// Timesteps are 0-based: index t here is step t + 1 of the papers (Ho et al. 2020), so t = 0 is the
/// least noisy step and t = T − 1 the noisiest. ᾱ_{−1} = 1 (no noise).
/// </para>
/// </summary>
public sealed class NoiseSchedule
{
    private readonly double[] _betas;
    private readonly double[] _alphaBar;

    /// <summary>Builds the schedule described by <paramref name="options"/>.</summary>
    public NoiseSchedule(NoiseScheduleOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        Options = options;
        _betas = Build(options);
        _alphaBar = new double[_betas.Length];
        var product = 1.0;
        for (var t = 0; t < _betas.Length; t++)
        {
            product *= 1 - _betas[t];
            _alphaBar[t] = product;
        }

        var variance = new double[_betas.Length];
        var coefficientX0 = new double[_betas.Length];
        var coefficientXt = new double[_betas.Length];
        for (var t = 0; t < _betas.Length; t++)
        {
            var previous = AlphaBar(t - 1);
            // Ho et al. 2020, eq. 7: β̃_t = (1 − ᾱ_{t−1})/(1 − ᾱ_t)·β_t and the two coefficients of μ̃_t(x_t, x₀).
            variance[t] = (1 - previous) / (1 - _alphaBar[t]) * _betas[t];
            coefficientX0[t] = Math.Sqrt(previous) * _betas[t] / (1 - _alphaBar[t]);
            coefficientXt[t] = Math.Sqrt(1 - _betas[t]) * (1 - previous) / (1 - _alphaBar[t]);
        }

        PosteriorVariance = variance;
        PosteriorMeanCoefficientX0 = coefficientX0;
        PosteriorMeanCoefficientXt = coefficientXt;

        // β̃_0 = 0 makes log β̃ infinite; like Improved DDPM, use β̃_1 there.
        PosteriorLogVarianceClipped = variance.Select((v, t) => Math.Log(t == 0 && variance.Length > 1 ? variance[1] : v)).ToArray();
    }

    /// <summary>A schedule of <paramref name="kind"/> over <paramref name="timesteps"/> steps with default settings.</summary>
    public static NoiseSchedule Create(BetaScheduleKind kind = BetaScheduleKind.Linear, int timesteps = 1000) =>
        new(new NoiseScheduleOptions { Kind = kind, TrainTimesteps = timesteps });

    /// <summary>The options this schedule was built from.</summary>
    public NoiseScheduleOptions Options { get; }

    /// <summary>T, the number of training timesteps.</summary>
    public int TrainTimesteps => _betas.Length;

    /// <summary>β_t for t = 0 .. T − 1.</summary>
    public IReadOnlyList<double> Betas => _betas;

    /// <summary>ᾱ_t = Π_{s ≤ t} (1 − β_s) for t = 0 .. T − 1.</summary>
    public IReadOnlyList<double> AlphasCumulative => _alphaBar;

    /// <summary>β̃_t, the variance of the true posterior q(x_{t−1} | x_t, x₀) (0 at t = 0).</summary>
    public IReadOnlyList<double> PosteriorVariance { get; }

    /// <summary>log β̃_t with the t = 0 entry replaced by log β̃_1, which keeps it finite.</summary>
    public IReadOnlyList<double> PosteriorLogVarianceClipped { get; }

    /// <summary>The coefficient of x₀ in the posterior mean μ̃_t: √ᾱ_{t−1}·β_t/(1 − ᾱ_t).</summary>
    public IReadOnlyList<double> PosteriorMeanCoefficientX0 { get; }

    /// <summary>The coefficient of x_t in the posterior mean μ̃_t: √α_t·(1 − ᾱ_{t−1})/(1 − ᾱ_t).</summary>
    public IReadOnlyList<double> PosteriorMeanCoefficientXt { get; }

    /// <summary>ᾱ_t, with ᾱ_{−1} = 1 (clean data).</summary>
    public double AlphaBar(int t)
    {
        if (t == -1)
        {
            return 1;
        }

        CheckTimestep(t);
        return _alphaBar[t];
    }

    /// <summary>The signal-to-noise ratio ᾱ_t/(1 − ᾱ_t).</summary>
    public double SignalToNoise(int t) => AlphaBar(t) / (1 - AlphaBar(t));

    /// <summary>
    /// Samples q(x_t | x₀) in one step for a batch of mixed timesteps: x_t = √ᾱ_t·x₀ + √(1 − ᾱ_t)·ε
    /// (Ho et al. 2020, eq. 4). <paramref name="timesteps"/> is an int64 tensor with one entry per sample.
    /// </summary>
    public Tensor AddNoise(Tensor original, Tensor noise, Tensor timesteps)
    {
        ArgumentNullException.ThrowIfNull(original);
        ArgumentNullException.ThrowIfNull(noise);
        using var scope = torch.NewDisposeScope();
        var signal = PerSample(_alphaBar.Select(Math.Sqrt).ToArray(), timesteps, original);
        var noiseScale = PerSample(_alphaBar.Select(a => Math.Sqrt(1 - a)).ToArray(), timesteps, original);
        return scope.MoveToOuter((original * signal) + (noise * noiseScale));
    }

    /// <summary>
    /// Entries of a per-timestep table picked by <paramref name="timesteps"/> (int64, one per sample) and shaped
    /// [B, 1, 1, ...] to broadcast against <paramref name="like"/>, in its type and on its device.
    /// </summary>
    public Tensor PerSample(IReadOnlyList<double> table, Tensor timesteps, Tensor like)
    {
        ArgumentNullException.ThrowIfNull(table);
        ArgumentNullException.ThrowIfNull(timesteps);
        ArgumentNullException.ThrowIfNull(like);
        if (timesteps.Dimensions != 1 || timesteps.dtype != ScalarType.Int64)
        {
            throw new ArgumentException($"Timesteps must be a 1-D int64 tensor, not a {timesteps.Dimensions}-D {timesteps.dtype.Name()} tensor.", nameof(timesteps));
        }

        var batch = timesteps.size(0);
        if (like.Dimensions == 0 || like.size(0) != batch)
        {
            throw new ArgumentException($"{batch} timesteps were given for a batch of shape [{string.Join(", ", like.shape)}].", nameof(timesteps));
        }

        using var scope = torch.NewDisposeScope();
        var indices = timesteps.to(torch.CPU);
        var min = indices.min().ToInt64();
        var max = indices.max().ToInt64();
        if (min < 0 || max >= TrainTimesteps)
        {
            throw new ArgumentOutOfRangeException(nameof(timesteps), $"Timesteps must be in [0, {TrainTimesteps - 1}]; got values from {min} to {max}.");
        }

        var values = torch.tensor(table.ToArray(), device: like.device).index_select(0, timesteps.to(like.device)).to(like.dtype);
        var shape = new long[like.Dimensions];
        Array.Fill(shape, 1L);
        shape[0] = batch;
        return scope.MoveToOuter(values.reshape(shape));
    }

    internal void CheckTimestep(int t)
    {
        if (t < 0 || t >= TrainTimesteps)
        {
            throw new ArgumentOutOfRangeException(nameof(t), t, $"Timesteps are 0 .. {TrainTimesteps - 1}.");
        }
    }

    private static double[] Build(NoiseScheduleOptions o)
    {
        var t = o.TrainTimesteps;
        if (t < 1 || t > 100_000)
        {
            throw new ArgumentOutOfRangeException(nameof(o), t, "TrainTimesteps must be in [1, 100000].");
        }

        var scale = 1000.0 / t;
        double[] betas = o.Kind switch
        {
            BetaScheduleKind.Linear => BetaSchedules.Linear(t, o.BetaStart ?? 1e-4 * scale, o.BetaEnd ?? 0.02 * scale),
            BetaScheduleKind.ScaledLinear => BetaSchedules.ScaledLinear(t, o.BetaStart ?? 0.00085, o.BetaEnd ?? 0.012),
            BetaScheduleKind.Sigmoid => BetaSchedules.Sigmoid(t, o.BetaStart ?? 1e-4, o.BetaEnd ?? 0.02),
            BetaScheduleKind.Cosine => BetaSchedules.Cosine(t, o.CosineOffset, o.MaxBeta),
            BetaScheduleKind.Custom => o.Betas?.ToArray() ?? throw new ArgumentException("A custom schedule needs Betas.", nameof(o)),
            _ => throw new ArgumentOutOfRangeException(nameof(o), o.Kind, "Unknown beta schedule."),
        };

        if (betas.Length != t)
        {
            throw new ArgumentException($"The schedule has {betas.Length} betas but TrainTimesteps is {t}.", nameof(o));
        }

        for (var i = 0; i < betas.Length; i++)
        {
            if (!(betas[i] > 0 && betas[i] <= 1))
            {
                throw new ArgumentException($"β[{i}] = {betas[i]} is outside (0, 1]; check BetaStart, BetaEnd and MaxBeta.", nameof(o));
            }
        }

        return o.RescaleZeroTerminalSnr ? BetaSchedules.RescaleZeroTerminalSnr(betas) : betas;
    }
}
