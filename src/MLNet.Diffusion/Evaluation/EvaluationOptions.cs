using MLNet.Diffusion.Metrics;


namespace MLNet.Diffusion.Evaluation;

/// <summary>How <see cref="DiffusionEvaluator.Evaluate"/> measures a model.</summary>
public sealed record EvaluationOptions
{
    /// <summary>
    /// Images to generate for FID, at least 2. Default 10,000 (the size of the reference set). FID is biased upward
    /// for small counts: compare models at the same count, and against <see cref="EvaluationResult.RealDataFid"/>.
    /// </summary>
    public int Count { get; init; } = 10_000;

    /// <summary>
    /// How images are generated: sampler, steps, η, guidance, seed (image i uses Seed + i) and device. Labels must be
    /// left unset: a class-conditional model gets labels 0, 1, ..., 9, 0, 1, ... (image i is class i mod 10).
    /// </summary>
    public GenerationOptions Generation { get; init; } = new();

    /// <summary>Images per generation (and feature) batch, at least 1. Default 100.</summary>
    public int BatchSize { get; init; } = 100;

    /// <summary>
    /// Also compute the FID of the first <see cref="Count"/> Fashion-MNIST training images against the reference: the
    /// floor that a perfect model would reach at this count. Default true.
    /// </summary>
    public bool ComputeRealDataFloor { get; init; } = true;

    /// <summary>
    /// Test images (the first ones) on which to estimate the variational bound in bits/dim, 0 for none. Each batch costs
    /// one network evaluation per training timestep. Default 0.
    /// </summary>
    public int BitsPerDimCount { get; init; }

    /// <summary>Where the reference statistics are cached; <see cref="ReferenceStatistics.DefaultCacheDirectory"/> when null.</summary>
    public string? CacheDirectory { get; init; }

    /// <summary>The Fashion-MNIST folder; Debian's <c>/usr/share/datasets/fashion-mnist</c> when null.</summary>
    public string? DataDirectory { get; init; }

    /// <summary>Checks the options, throwing an <see cref="ArgumentException"/> naming the first bad one.</summary>
    public EvaluationOptions Validated()
    {
        ArgumentNullException.ThrowIfNull(Generation, nameof(Generation));
        Check(Count >= 2, nameof(Count), $"{nameof(Count)} must be at least 2 (a covariance needs two images), not {Count}.");
        Check(BatchSize >= 1, nameof(BatchSize), $"{nameof(BatchSize)} must be at least 1, not {BatchSize}.");
        Check(BitsPerDimCount >= 0, nameof(BitsPerDimCount), $"{nameof(BitsPerDimCount)} must be 0 (none) or more, not {BitsPerDimCount}.");
        Check(BitsPerDimCount <= 10_000, nameof(BitsPerDimCount), $"{nameof(BitsPerDimCount)} must be at most 10,000 (the test set), not {BitsPerDimCount}.");
        Check(!ComputeRealDataFloor || Count <= 60_000, nameof(Count), $"The real-data floor takes {Count} training images but Fashion-MNIST has 60,000; lower {nameof(Count)} or turn {nameof(ComputeRealDataFloor)} off.");
        Check(Generation.Label is null && Generation.Labels is null, nameof(Generation),
            "Leave the generation labels unset: the evaluator gives a class-conditional model every class in turn.");
        return this;
    }

    private static void Check(bool condition, string name, string message)
    {
        if (!condition)
        {
            throw new ArgumentException(message, name);
        }
    }
}
