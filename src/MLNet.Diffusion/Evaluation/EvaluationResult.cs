using MLNet.Diffusion.IO;
using System.Text.Json;
using System.Text.Json.Serialization;
using MLNet.Diffusion.ForwardProcess;
using MLNet.Diffusion.Metrics;

namespace MLNet.Diffusion.Evaluation;

/// <summary>What <see cref="DiffusionEvaluator.Evaluate"/> measured.</summary>
/// <param name="Fid">The FID of the generated images against the Fashion-MNIST test set.</param>
/// <param name="Count">How many images were generated.</param>
/// <param name="Generation">How they were generated (the labels, set per image by the evaluator, left out).</param>
/// <param name="RealDataFid">
/// The FID of the first <paramref name="Count"/> training images against the same reference: the floor for this count
/// (FID is biased upward for small counts); null when not computed.
/// </param>
/// <param name="ClassHistogram">How many generated images the feature network's classifier puts in each class.</param>
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
    /// KID (<see cref="KernelInceptionDistance"/>) of the generated images against the Fashion-MNIST test set through the same
    /// features: 100 subsets of min(1,000, <see cref="Count"/>) images, seed 0.
    /// </summary>
    public KidEstimate? Kid { get; init; }

    /// <summary>
    /// KID's real-data floor: between the two disjoint halves of the first <see cref="Count"/> training images (Count / 2 each, so
    /// subsets of min(1,000, Count / 2)); null when not computed.
    /// </summary>
    public KidEstimate? RealDataKid { get; init; }

    /// <summary>The mean of <see cref="ClassAccuracy"/> (null for an unconditional model).</summary>
    public double? MeanClassAccuracy => ClassAccuracy?.Average();

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
