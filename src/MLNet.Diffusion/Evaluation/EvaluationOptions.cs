using MLNet.Diffusion.Metrics;


namespace MLNet.Diffusion.Evaluation;

/// <summary>How <see cref="DiffusionEvaluator.Evaluate"/> measures a model.</summary>
public sealed record EvaluationOptions
{
    /// <summary>
    /// Images to generate, at least 2. Default 10,000 (the size of Fashion-MNIST's test set). FID is computed only when this
    /// and the reference are at least <see cref="DiffusionEvaluator.MinimumFidCount"/> (it is biased upward for small counts);
    /// KID is unbiased at any count.
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
    /// Also compute each metric's real-data floor: the value a model drawing exactly from the data would score at this count
    /// (<see cref="EvaluationResult.FloorDescription"/> says between which images). Against Fashion-MNIST's test set, the first
    /// <see cref="Count"/> training images (FID and precision/recall against the test set, KID between their two halves);
    /// against other data, two disjoint halves of the reference (FID only when a half has ≥ 1,024 images). Default true.
    /// </summary>
    public bool ComputeRealDataFloor { get; init; } = true;

    /// <summary>
    /// Test images (the first ones) on which to estimate the variational bound in bits/dim, 0 for none. Each batch costs
    /// one network evaluation per training timestep. Default 0.
    /// </summary>
    public int BitsPerDimCount { get; init; }

    /// <summary>
    /// Where the reference images' features are cached (by the feature network's hash and the images' content hash);
    /// <c>~/.cache/mlnet-diffusion</c> (or <c>$XDG_CACHE_HOME/mlnet-diffusion</c>) when null.
    /// </summary>
    public string? CacheDirectory { get; init; }

    /// <summary>The Fashion-MNIST folder; Debian's <c>/usr/share/datasets/fashion-mnist</c> when null.</summary>
    public string? DataDirectory { get; init; }

    /// <summary>
    /// The real images the generated ones are measured against (KID, FID, precision/recall), read at the model's size and
    /// channels. Null: the Fashion-MNIST test set (<see cref="DataDirectory"/>), for a 28×28 grayscale model.
    /// </summary>
    public EvaluationData? Reference { get; init; }

    /// <summary>
    /// The training images that memorization compares generated images with. Null: the Fashion-MNIST training set when the
    /// reference is Fashion-MNIST, else <see cref="Reference"/> itself (evaluating against the training folder).
    /// </summary>
    public EvaluationData? TrainingData { get; init; }

    /// <summary>
    /// Which feature network: <see cref="EvaluationFeatures.Auto"/> (default) takes the Fashion-MNIST network for a 28×28
    /// grayscale model measured against Fashion-MNIST and ResNet-18 otherwise.
    /// </summary>
    public EvaluationFeatures Features { get; init; }

    /// <summary>
    /// A feature network of the caller's, used instead of <see cref="Features"/> (and not disposed by the evaluator), such as a
    /// <c>ResNet18FeatureExtractor</c> of the MLNet.Diffusion.Evaluation package with a models folder of the app's choosing.
    /// </summary>
    public IImageFeatureExtractor? FeatureExtractor { get; init; }

    /// <summary>Also measure memorization against <see cref="TrainingData"/> (pixel ℓ2 nearest neighbours). Default true.</summary>
    public bool ComputeMemorization { get; init; } = true;

    /// <summary>
    /// When set, a PNG of the 8 generated images closest to copying a training image (lowest nearest-neighbour ratio), each
    /// above its nearest training image, is written here (to a temporary file, then renamed).
    /// </summary>
    public string? ClosestPairsPath { get; init; }

    /// <summary>Checks the options, throwing an <see cref="ArgumentException"/> naming the first bad one.</summary>
    public EvaluationOptions Validated()
    {
        ArgumentNullException.ThrowIfNull(Generation, nameof(Generation));
        Check(Count >= 2, nameof(Count), $"{nameof(Count)} must be at least 2 (a covariance needs two images), not {Count}.");
        Check(BatchSize >= 1, nameof(BatchSize), $"{nameof(BatchSize)} must be at least 1, not {BatchSize}.");
        Check(BitsPerDimCount >= 0, nameof(BitsPerDimCount), $"{nameof(BitsPerDimCount)} must be 0 (none) or more, not {BitsPerDimCount}.");
        Check(BitsPerDimCount <= 10_000, nameof(BitsPerDimCount), $"{nameof(BitsPerDimCount)} must be at most 10,000 (the test set), not {BitsPerDimCount}.");
        Check(ClosestPairsPath is null || ComputeMemorization, nameof(ClosestPairsPath), $"{nameof(ClosestPairsPath)} needs {nameof(ComputeMemorization)}: the pairs are memorization's nearest neighbours.");
        Check(Enum.IsDefined(Features), nameof(Features), $"{nameof(Features)} must be Auto, FashionMnist or ResNet18, not {(int)Features}.");
        Check(!ComputeRealDataFloor || Reference is { Kind: not EvaluationData.DataKind.FashionMnistTest } || Count <= 60_000, nameof(Count), $"The real-data floor takes {Count} training images but Fashion-MNIST has 60,000; lower {nameof(Count)} or turn {nameof(ComputeRealDataFloor)} off.");
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
