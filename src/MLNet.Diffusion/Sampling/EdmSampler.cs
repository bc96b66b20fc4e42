using TorchSharp;
using static TorchSharp.torch;
using MLNet.Diffusion.ForwardProcess;

namespace MLNet.Diffusion.Sampling;

/// <summary>
/// The deterministic samplers of EDM (Karras et al. 2022, "Elucidating the Design Space of Diffusion-Based Generative
/// Models", Algorithm 1) for a discrete variance-preserving model. In EDM's coordinates x̃ = x/√ᾱ_t the model is a
/// denoiser D(x̃; σ) = x̂₀ with σ_t = √((1 − ᾱ_t)/ᾱ_t), and the probability-flow ODE is dx̃/dσ = (x̃ − D)/σ.
/// <list type="bullet">
/// <item>The grid: n noise levels σ_i = (σ_max^(1/ρ) + i/(n − 1)·(σ_min^(1/ρ) − σ_max^(1/ρ)))^ρ with ρ = 7 (eq. 5), σ_max =
/// min(σ_{T−1}, 80), σ_min = σ_0, each rounded to the nearest σ of the schedule (EDM's <c>round_sigma</c>, since the network
/// takes integer timesteps; neighbours that round to one timestep are moved apart), then σ_n = 0.</item>
/// <item>The start: x̃ = σ_max·z, which is x = √(1 − ᾱ_{t₀})·z (<see cref="InitialNoiseScale"/>).</item>
/// <item>Euler, from σ_i to σ_{i+1} with h = σ_{i+1} − σ_i: d = (x̃ − D)/σ_i, x̃' = x̃ + h·d (n network evaluations; the same
/// update as DDIM with η = 0, on this grid).</item>
/// <item>Heun: then, unless σ_{i+1} = 0, x̃'' = x̃ + h·(d + d')/2 with d' = (x̃' − D(x̃'; σ_{i+1}))/σ_{i+1}
/// (2n − 1 network evaluations; Euler on the last step).</item>
/// </list>
/// With <see cref="SamplerOptions.Churn"/> &gt; 0 (EDM's Algorithm 2, S_churn), a step from σ_i inside [S_tmin, S_tmax] first
/// raises the noise to σ̂_i = σ_i·(1 + γ), γ = min(S_churn/n, √2 − 1), σ̂_i rounded to the schedule as the grid is:
/// x̃ ← x̃ + √(σ̂_i² − σ_i²)·S_noise·z, z from the image's own generator (so an image does not depend on its batch), and then
/// steps from σ̂_i. The churn of the first step is folded into the start: x̃ = √(σ_0² + S_noise²·(σ̂_0² − σ_0²))·z, the law of
/// σ_0·z + √(σ̂_0² − σ_0²)·S_noise·z′ (σ̂_0·z when S_noise = 1).
/// Each x̂₀ is clipped or thresholded as <see cref="SamplerOptions"/> say. The state stays in the schedule's coordinates
/// x = √ᾱ·x̃, so each update is x' = a·x + b·x̂₀ (+ c·s, with s = x̃ + h·d/2 kept from a Heun step's Euler half), whose
/// coefficients come from the grid in double; the ONNX generator computes the same three products. Refused for schedules
/// that end with zero signal (σ_{T−1} = ∞).
/// </summary>
public sealed class EdmSampler : DiffusionSampler
{
    /// <summary>ρ of the Karras grid (EDM's choice, eq. 5).</summary>
    public const double Rho = 7;

    /// <summary>The largest σ a run starts from (EDM's σ_max); a schedule whose last σ is smaller starts there.</summary>
    public const double MaxSigma = 80;

    private Stage[] _stages = [];
    private Tensor? _half;
    private int _stageIndex;

    /// <summary>Creates the sampler: Heun's second-order method, or Euler's.</summary>
    /// <param name="schedule">The forward process the network was trained with; its last ᾱ must be above 0.</param>
    /// <param name="options">
    /// Prediction type, x̂₀ processing and churn; <see cref="SamplerOptions.Spacing"/> and η do not apply.
    /// </param>
    /// <param name="heun">True: Heun (2n − 1 evaluations); false: Euler (n).</param>
    /// <exception cref="ArgumentException">
    /// The schedule ends with zero signal, the options set a spacing, or a churn setting is out of range (S_churn ≥ 0,
    /// S_noise &gt; 0, both finite; 0 ≤ S_tmin ≤ S_tmax).
    /// </exception>
    public EdmSampler(NoiseSchedule schedule, SamplerOptions? options = null, bool heun = true)
        : base(schedule, options)
    {
        if (!(Schedule.AlphaBar(Schedule.TrainTimesteps - 1) > 0))
        {
            throw new ArgumentException(
                "Euler and Heun on the Karras grid need σ = √((1 − ᾱ)/ᾱ) finite at every timestep; this schedule ends with zero signal (ᾱ = 0). Use DDIM or DPM-Solver++.",
                nameof(schedule));
        }

        if (Options.Spacing is not null)
        {
            throw new ArgumentException($"Euler and Heun place their steps on the Karras grid (ρ = {Rho}); SamplerOptions.Spacing ({Options.Spacing}) does not apply.", nameof(options));
        }

        if (!(Options.Churn >= 0 && double.IsFinite(Options.Churn)) || !(Options.ChurnNoise > 0 && double.IsFinite(Options.ChurnNoise)) ||
            !(Options.ChurnMinSigma >= 0) || !(Options.ChurnMaxSigma >= Options.ChurnMinSigma))
        {
            throw new ArgumentException(string.Create(System.Globalization.CultureInfo.InvariantCulture,
                $"EDM churn takes S_churn ≥ 0 (got {Options.Churn}), S_noise > 0 (got {Options.ChurnNoise}) and 0 ≤ S_tmin ≤ S_tmax (got {Options.ChurnMinSigma} and {Options.ChurnMaxSigma})."),
                nameof(options));
        }

        IsHeun = heun;
    }

    /// <summary>Whether the sampler takes Heun's steps (else Euler's).</summary>
    public bool IsHeun { get; }

    /// <inheritdoc/>
    public override bool IsStochastic => Options.Churn > 0;

    /// <inheritdoc/>
    public override double InitialNoiseScale
    {
        get
        {
            if (_stages.Length == 0)
            {
                throw new InvalidOperationException("Call SetTimesteps first: the start's scale is the first timestep's.");
            }

            // x = √ᾱ(σ̂₀)·x̃ with x̃'s std √(σ₀² + S_noise²·(σ̂₀² − σ₀²)); without churn σ̂₀ = σ₀ and this is √(1 − ᾱ_{t₀}).
            var (level, hat) = (_stages[0].Level, _stages[0].SigmaFrom);
            if (hat == level)
            {
                return Math.Sqrt(1 - Schedule.AlphaBar(_stages[0].Timestep));
            }

            return Math.Sqrt((level * level) + (Options.ChurnNoise * Options.ChurnNoise * ((hat * hat) - (level * level)))) / Math.Sqrt(1 + (hat * hat));
        }
    }

    /// <summary>
    /// The noise level σ_t = √((1 − ᾱ_t)/ᾱ_t) each step starts from, largest first, without the final 0: the Karras grid's, or
    /// a churned step's σ̂.
    /// </summary>
    public IReadOnlyList<double> Sigmas => [.. _stages.Where(s => !s.IsCorrection).Select(s => s.SigmaFrom)];

    /// <summary>The timesteps of <paramref name="steps"/> Karras noise levels over <paramref name="schedule"/>, largest first.</summary>
    /// <exception cref="ArgumentOutOfRangeException">
    /// More levels than the schedule has timesteps from σ_min to σ_max (the grid would have to start above σ_max to keep them distinct).
    /// </exception>
    public static int[] KarrasTimesteps(NoiseSchedule schedule, int steps)
    {
        ArgumentNullException.ThrowIfNull(schedule);
        return KarrasTimesteps(SigmaTable(schedule), steps);
    }

    // The grid over the schedule's σ table (σ_t for t = 0 … T − 1).
    private static int[] KarrasTimesteps(double[] sigmas, int steps)
    {
        var (max, min) = (Math.Min(sigmas[^1], MaxSigma), sigmas[0]);
        var (maxRoot, minRoot) = (Math.Pow(max, 1 / Rho), Math.Pow(min, 1 / Rho));
        var result = new int[steps];
        for (var i = 0; i < steps; i++)
        {
            result[i] = RoundSigma(sigmas, steps == 1 ? max : Math.Pow(maxRoot + (i / (double)(steps - 1) * (minRoot - maxRoot)), Rho));
        }

        var top = result[0];
        var distinct = MakeDistinct(result);
        if (distinct[0] > top)
        {
            throw new ArgumentOutOfRangeException(nameof(steps), steps,
                $"The Karras grid fits at most {top + 1} levels on this schedule (its timesteps 0 to {top} lie between σ_min and σ_max = {max:G4}); use fewer steps.");
        }

        return distinct;
    }

    // The timestep whose σ is nearest `sigma` (σ_t increases with t; above the last, the last): EDM's round_sigma.
    private static int RoundSigma(double[] sigmas, double sigma)
    {
        var upper = Array.BinarySearch(sigmas, sigma);
        upper = upper >= 0 ? upper : Math.Min(~upper, sigmas.Length - 1);
        return upper > 0 && sigma - sigmas[upper - 1] < sigmas[upper] - sigma ? upper - 1 : upper;
    }

    /// <inheritdoc/>
    protected override int[] ChooseTimesteps(int steps)
    {
        var sigmas = SigmaTable(Schedule);
        var grid = KarrasTimesteps(sigmas, steps);
        var gamma = Math.Min(Options.Churn / steps, Math.Sqrt(2) - 1);
        var stages = new List<Stage>();
        for (var i = 0; i < grid.Length; i++)
        {
            var (level, to) = (sigmas[grid[i]], i + 1 < grid.Length ? sigmas[grid[i + 1]] : 0);
            // A churned step evaluates the network at σ̂ rounded to the schedule (at least σ_i: σ_i is itself one of its σ).
            var timestep = gamma > 0 && level >= Options.ChurnMinSigma && level <= Options.ChurnMaxSigma ? RoundSigma(sigmas, level * (1 + gamma)) : grid[i];
            var from = sigmas[timestep];
            stages.Add(new Stage(timestep, from, to, IsCorrection: false, KeepsHalf: IsHeun && to > 0, Level: level));
            if (IsHeun && to > 0)
            {
                stages.Add(new Stage(grid[i + 1], from, to, IsCorrection: true, KeepsHalf: false, Level: level));
            }
        }

        _stages = [.. stages];
        _half?.Dispose();
        _half = null;
        _stageIndex = 0;
        return [.. _stages.Select(s => s.Timestep)];
    }

    /// <summary>
    /// The coefficients of network evaluation <paramref name="index"/> of the run: x' = A·x + B·x̂₀ + C·s and, for the Euler half
    /// of a Heun step, the kept s = D·x + E·x̂₀ (D = E = 0 otherwise).
    /// </summary>
    internal (double A, double B, double C, double D, double E) Coefficients(int index)
    {
        var stage = _stages[index];
        var h = stage.SigmaTo - stage.SigmaFrom;
        var scaleTo = stage.SigmaTo == 0 ? 1 : 1 / Math.Sqrt(1 + (stage.SigmaTo * stage.SigmaTo));  // √ᾱ at σ_{i+1}
        if (stage.IsCorrection)
        {
            // x̃'' = s + (h/2)·(x̃' − x̂₀')/σ_{i+1}, x̃' = x/√ᾱ_{i+1}; x'' = √ᾱ_{i+1}·x̃''.
            var k = h / (2 * stage.SigmaTo);
            return (k, -scaleTo * k, scaleTo, 0, 0);
        }

        var scaleFrom = 1 / Math.Sqrt(1 + (stage.SigmaFrom * stage.SigmaFrom));
        // x̃' = x̃ + h·(x̃ − x̂₀)/σ_i with x̃ = x/√ᾱ_i; x' = √ᾱ_{i+1}·x̃'; s = x̃ + (h/2)·(x̃ − x̂₀)/σ_i.
        var a = scaleTo * (1 + (h / stage.SigmaFrom)) / scaleFrom;
        var b = -scaleTo * h / stage.SigmaFrom;
        return stage.KeepsHalf ? (a, b, 0, (1 + (h / (2 * stage.SigmaFrom))) / scaleFrom, -h / (2 * stage.SigmaFrom)) : (a, b, 0, 0, 0);
    }

    /// <inheritdoc/>
    public override Tensor Step(Tensor modelOutput, int timestep, Tensor sample, SamplingNoise? noise = null)
    {
        ArgumentNullException.ThrowIfNull(modelOutput);
        ArgumentNullException.ThrowIfNull(sample);
        if (_stages.Length == 0)
        {
            throw new InvalidOperationException("Call SetTimesteps before Step.");
        }

        if (_stageIndex >= _stages.Length || _stages[_stageIndex].Timestep != timestep)
        {
            throw new InvalidOperationException(_stageIndex >= _stages.Length
                ? "The run is over: call SetTimesteps to start another."
                : $"{(IsHeun ? "Heun" : "Euler")} steps in order: expected timestep {_stages[_stageIndex].Timestep} (evaluation {_stageIndex + 1} of {_stages.Length}), got {timestep}.");
        }

        if (noise is null && IsStochastic)
        {
            throw new ArgumentNullException(nameof(noise), "Churn adds noise; pass a SamplingNoise.");
        }

        var (a, b, c, d, e) = Coefficients(_stageIndex);
        using var scope = torch.NewDisposeScope();
        var x0 = PredictSample(modelOutput, sample, Schedule.AlphaBar(timestep));
        var result = (sample * a) + (x0 * b);
        if (c != 0)
        {
            result += _half! * c;
            _half!.Dispose();   // read once, by the correction right after the Euler half that kept it
            _half = null;
        }

        if (_stages[_stageIndex].KeepsHalf)
        {
            _half?.Dispose();
            _half = ((sample * d) + (x0 * e)).DetachFromDisposeScope();
        }

        _stageIndex++;
        if (_stageIndex < _stages.Length && _stages[_stageIndex] is { IsCorrection: false } next && next.SigmaFrom > next.Level)
        {
            // The next step is churned: x̃ ← x̃ + √(σ̂² − σ²)·S_noise·z, from x = √ᾱ(σ)·x̃ to x = √ᾱ(σ̂)·x̃ (√ᾱ = 1/√(1 + σ²)).
            var (sigma, hat) = (next.Level, next.SigmaFrom);
            var scaleHat = 1 / Math.Sqrt(1 + (hat * hat));
            var z = noise!.Next(result.shape, result.dtype).to(result.device);
            result = (result * (scaleHat * Math.Sqrt(1 + (sigma * sigma)))) + (z * (scaleHat * Math.Sqrt((hat * hat) - (sigma * sigma)) * Options.ChurnNoise));
        }

        return scope.MoveToOuter(result);
    }

    /// <inheritdoc/>
    internal override void StartAt(int timestep) =>
        throw new NotSupportedException("Euler and Heun on the Karras grid start from noise only: image-to-image and inpainting take DDIM or DPM-Solver++.");

    private static double[] SigmaTable(NoiseSchedule schedule) => [.. Enumerable.Range(0, schedule.TrainTimesteps).Select(t => Sigma(schedule, t))];

    private static double Sigma(NoiseSchedule schedule, int t) => Math.Sqrt((1 - schedule.AlphaBar(t)) / schedule.AlphaBar(t));

    // One network evaluation: at `Timestep`, for the step from σ `SigmaFrom` to `SigmaTo`; a correction is Heun's second half.
    // `Level` is the grid's σ_i, below `SigmaFrom` when the step is churned.
    private sealed record Stage(int Timestep, double SigmaFrom, double SigmaTo, bool IsCorrection, bool KeepsHalf, double Level);
}
