using MLNet.Diffusion.IO;
using System.Text.Json;
using System.Text.Json.Serialization;
using MLNet.Diffusion.ForwardProcess;
using MLNet.Diffusion.Metrics;

namespace MLNet.Diffusion.Evaluation;

/// <summary>What <see cref="DiffusionEvaluator.Evaluate"/> measured.</summary>
/// <param name="Fid">
/// The FID of the generated images against the reference; NaN when the count or the reference is below
/// <see cref="DiffusionEvaluator.MinimumFidCount"/> (FID is biased upward there; read <see cref="Kid"/>).
/// </param>
/// <param name="Count">How many images were generated.</param>
/// <param name="Generation">How they were generated (the labels, set per image by the evaluator, left out).</param>
/// <param name="RealDataFid">
/// FID's real-data floor (<see cref="FloorDescription"/> says between which images); null when not computed or when the
/// floor's sets are below <see cref="DiffusionEvaluator.MinimumFidCount"/>.
/// </param>
/// <param name="ClassHistogram">
/// How many generated images the Fashion-MNIST feature network's classifier puts in each class; empty with other features.
/// </param>
/// <param name="ClassAccuracy">
/// For a class-conditional model, per class: the fraction of the images generated for that label that the classifier
/// assigns to it; null for an unconditional model.
/// </param>
/// <param name="BitsPerDim">The variational bound on the test images, in bits/dim; null when not computed.</param>
/// <param name="BitsPerDimCount">How many test images the bound was estimated on (0 when not computed).</param>
/// <param name="FeatureNetworkSha256">The SHA-256 of the feature network's weights, which identifies the FID's features.</param>
/// <param name="Elapsed">The wall-clock time of the evaluation.</param>
public sealed record EvaluationResult(
    double Fid,
    int Count,
    GenerationOptions Generation,
    double? RealDataFid,
    IReadOnlyList<int> ClassHistogram,
    IReadOnlyList<double>? ClassAccuracy,
    VariationalBoundTerms? BitsPerDim,
    int BitsPerDimCount,
    string FeatureNetworkSha256,
    TimeSpan Elapsed)
{
    /// <summary>
    /// KID (<see cref="KernelInceptionDistance"/>) of the generated images against the reference through the same features:
    /// 100 subsets of min(1,000, <see cref="Count"/>, <see cref="ReferenceCount"/>) images, seed 0.
    /// </summary>
    public KidEstimate? Kid { get; init; }

    /// <summary>
    /// KID's real-data floor: between two disjoint halves of real images (<see cref="FloorDescription"/>); null when not computed.
    /// </summary>
    public KidEstimate? RealDataKid { get; init; }

    /// <summary>
    /// Improved precision and recall (k = 3) of the generated images against as many reference images (a fixed random subset
    /// when the reference is larger).
    /// </summary>
    public PrecisionRecallEstimate? PrecisionRecall { get; init; }

    /// <summary>Precision and recall between the two real sets of the floor; null when not computed.</summary>
    public PrecisionRecallEstimate? RealDataPrecisionRecall { get; init; }

    /// <summary>
    /// Which real images the floors compare: for the Fashion-MNIST test set, the first N training images (FID and precision/
    /// recall against the reference; KID between their two halves); for other references, two disjoint halves of it.
    /// </summary>
    public string? FloorDescription { get; init; }

    /// <summary>Memorization against the training images; null when not computed.</summary>
    public MemorizationResult? Memorization { get; init; }

    /// <summary>What the training images for memorization were, and how many; null when not computed.</summary>
    public string? TrainingData { get; init; }

    /// <summary>What the reference images were ("Fashion-MNIST test set", "image folder '…'").</summary>
    public string? Reference { get; init; }

    /// <summary>How many reference images there were.</summary>
    public int ReferenceCount { get; init; }

    /// <summary>The feature network, as it names itself (<see cref="IImageFeatureExtractor.Name"/>).</summary>
    public string? FeatureNetwork { get; init; }

    /// <summary>The mean of <see cref="ClassAccuracy"/> (null for an unconditional model).</summary>
    public double? MeanClassAccuracy => ClassAccuracy?.Average();

    /// <summary>
    /// How many reference images the same classifier puts in each class (the real images' class mix as the classifier sees
    /// it, its own errors included); empty when <see cref="ClassHistogram"/> is.
    /// </summary>
    public IReadOnlyList<int> ReferenceClassHistogram { get; init; } = [];

    /// <summary>
    /// The total-variation distance ½ Σ_c |p_c − q_c| between the generated images' class frequencies p
    /// (<see cref="ClassHistogram"/>) and the reference's q (<see cref="ReferenceClassHistogram"/>), in [0, 1]: 0 when the
    /// classifier sees the same mix of classes in both, 1 when they share none. For an unconditional model it measures mode
    /// coverage (a model that drops or over-produces classes scores high, whatever each image looks like). Both histograms
    /// come from one classifier, so its errors largely cancel. Sampling alone keeps a perfect unconditional model above 0
    /// (<see cref="ClassHistogramTotalVariationFloor"/>). A class-conditional model's mix is set by the labels the evaluator
    /// gives (i mod classes), so for it the distance measures how often the classifier agrees with the label, not coverage.
    /// Null without a classifier.
    /// </summary>
    public double? ClassHistogramTotalVariation => ClassHistogram.Count == 0 || ReferenceClassHistogram.Count != ClassHistogram.Count
        ? null
        : TotalVariation(ClassHistogram, ReferenceClassHistogram);

    /// <summary>
    /// The distance <see cref="ClassHistogramTotalVariation"/> expects of a perfect unconditional model: its N images and the
    /// M reference images are both draws from the same class frequencies q, so their histograms land about
    /// ½ Σ_c √(2 q_c (1 − q_c) (1/N + 1/M) / π) apart (the normal approximation of each class's count; q estimated from the
    /// reference). With ten equal classes and M = 10,000: 0.040 at N = 1,000, 0.029 at N = 2,000, 0.021 at N = 5,000. A
    /// distance near it cannot be told apart from a perfect class mix. Null without a classifier.
    /// </summary>
    public double? ClassHistogramTotalVariationFloor
    {
        get
        {
            if (ClassHistogramTotalVariation is null || Count <= 0)
            {
                return null;
            }

            double total = ReferenceClassHistogram.Sum();
            var inverse = (1.0 / Count) + (1 / total);
            return 0.5 * ReferenceClassHistogram.Sum(n => Math.Sqrt(2 * (n / total) * (1 - (n / total)) * inverse / Math.PI));
        }
    }

    /// <summary>½ Σ |p − q| between two histograms normalized to frequencies.</summary>
    internal static double TotalVariation(IReadOnlyList<int> a, IReadOnlyList<int> b)
    {
        double totalA = a.Sum(), totalB = b.Sum();
        return totalA == 0 || totalB == 0 ? double.NaN : 0.5 * a.Zip(b).Sum(pair => Math.Abs((pair.First / totalA) - (pair.Second / totalB)));
    }

    private static readonly JsonSerializerOptions s_json = new()
    {
        WriteIndented = true,
        Converters = { new JsonStringEnumConverter() },
        NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals,  // a class with no images has accuracy NaN
    };

    /// <summary>The result as indented JSON (enums as names).</summary>
    public string ToJson() => JsonSerializer.Serialize(this, s_json);

    /// <summary>Writes <see cref="ToJson"/> to <paramref name="path"/> (to a temporary file, then renamed).</summary>
    public void Save(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        AtomicFile.Write(path, System.Text.Encoding.UTF8.GetBytes(ToJson()));
    }
}
