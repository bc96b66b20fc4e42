namespace MLNet.Diffusion.ForwardProcess;

/// <summary>The settings of a <see cref="NoiseSchedule"/>. Every default is the one the cited paper uses.</summary>
public sealed record NoiseScheduleOptions
{
    /// <summary>The layout of β_t. Default: linear, as in DDPM.</summary>
    public BetaScheduleKind Kind { get; init; } = BetaScheduleKind.Linear;

    /// <summary>T, the number of diffusion steps in training. Default 1000 (Ho et al. 2020).</summary>
    public int TrainTimesteps { get; init; } = 1000;

    /// <summary>
    /// The first β. Null means the kind's default: 1e-4·1000/T for linear, 0.00085 for scaled-linear, 1e-4 for sigmoid.
    /// </summary>
    public double? BetaStart { get; init; }

    /// <summary>
    /// The last β. Null means the kind's default: 0.02·1000/T for linear, 0.012 for scaled-linear, 0.02 for sigmoid.
    /// </summary>
    public double? BetaEnd { get; init; }

    /// <summary>The cosine schedule's offset s, which keeps β_1 from being vanishingly small. Default 0.008.</summary>
    public double CosineOffset { get; init; } = 0.008;

    /// <summary>The cosine schedule's largest β, which keeps the last steps from being singular. Default 0.999.</summary>
    public double MaxBeta { get; init; } = 0.999;

    /// <summary>The β values of a <see cref="BetaScheduleKind.Custom"/> schedule: T values in (0, 1].</summary>
    public IReadOnlyList<double>? Betas { get; init; }

    /// <summary>
    /// Rescale so that the last step has zero signal (ᾱ_T = 0) while ᾱ_1 is kept (Lin et al. 2024, Algorithm 1).
    /// Pair it with v or sample prediction: an ε-predicting model cannot recover x₀ from pure noise.
    /// </summary>
    public bool RescaleZeroTerminalSnr { get; init; }
}
