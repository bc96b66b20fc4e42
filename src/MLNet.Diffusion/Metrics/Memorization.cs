using TorchSharp;
using static TorchSharp.torch;

namespace MLNet.Diffusion.Metrics;

/// <summary>
/// How close generated images come to copies of training images, in the style of Carlini et al. 2023 ("Extracting Training
/// Data from Diffusion Models", §5): for each generated image g, the ratio d(g, NN₁) / mean(d(g, NN₁), …, d(g, NN₅₀)) of pixel
/// ℓ2 distances to its nearest training images. A copy of one training image has a ratio near 0 (its nearest neighbour is
/// far closer than the rest); a novel image has a ratio near 1. The paper's extraction test also scales the mean; here the
/// plain ratio is reported, with the share below <see cref="DefaultThreshold"/>.
/// </summary>
public static class Memorization
{
    /// <summary>Neighbours averaged in the denominator (the paper's 50).</summary>
    public const int DefaultNeighbours = 50;

    /// <summary>The ratio below which a generated image is counted as a near-copy.</summary>
    public const double DefaultThreshold = 1.0 / 3;

    /// <summary>Bins of <see cref="MemorizationResult.Histogram"/>: equal widths over [0, 1].</summary>
    public const int HistogramBins = 20;

    // Generated rows compared at once: 256 × 60,000 float32 distances is 61 MB.
    private const int ChunkRows = 256;

    /// <summary>
    /// The nearest-neighbour ratios of <paramref name="generated"/> [G, C, H, W] (or [G, P]) against <paramref name="training"/>
    /// [T, C, H, W] (or [T, P]) of the same size, both in the model's pixel space [−1, 1].
    /// </summary>
    /// <param name="generated">The generated images.</param>
    /// <param name="training">The training images, at the generated images' size.</param>
    /// <param name="neighbours">Neighbours in the mean, at least 2 (fewer when the training set is smaller).</param>
    /// <param name="threshold">The ratio counted as a near-copy, in (0, 1].</param>
    /// <exception cref="ArgumentException">The sets are empty, of different image sizes, or hold NaN.</exception>
    public static MemorizationResult Compute(Tensor generated, Tensor training, int neighbours = DefaultNeighbours, double threshold = DefaultThreshold)
    {
        ArgumentNullException.ThrowIfNull(generated);
        ArgumentNullException.ThrowIfNull(training);
        ArgumentOutOfRangeException.ThrowIfLessThan(neighbours, 2);
        if (threshold is not (> 0 and <= 1))
        {
            throw new ArgumentOutOfRangeException(nameof(threshold), threshold, "The threshold is a ratio in (0, 1].");
        }

        if (generated.Dimensions < 2 || training.Dimensions < 2 || generated.size(0) < 1 || training.size(0) < 2
            || !generated.shape.Skip(1).SequenceEqual(training.shape.Skip(1)))
        {
            throw new ArgumentException(
                $"Memorization compares generated images [G, …] with at least 2 training images [T, …] of one size, not [{string.Join(", ", generated.shape)}] and [{string.Join(", ", training.shape)}].",
                nameof(training));
        }

        using var scope = torch.NewDisposeScope();
        using var noGrad = torch.no_grad();
        var g = generated.flatten(1).to(ScalarType.Float32);
        var t = training.flatten(1).to(ScalarType.Float32).to(g.device);
        if (g.isnan().any().ToBoolean() || t.isnan().any().ToBoolean())
        {
            throw new ArgumentException("The images hold NaN values.", nameof(generated));
        }

        var k = (int)Math.Min(neighbours, t.size(0));
        var count = (int)g.size(0);
        var ratios = new double[count];
        var nearest = new int[count];
        var distances = new double[count];
        for (var start = 0; start < count; start += ChunkRows)
        {
            using var step = torch.NewDisposeScope();
            var rows = g.narrow(0, start, Math.Min(ChunkRows, count - start));
            // Squared distances by expansion (one matrix product), then rooted: exact enough to rank neighbours, and the
            // clamp keeps rounding from taking an exact copy's distance below zero.
            var squared = (rows.pow(2).sum(1, keepdim: true) - (2 * rows.matmul(t.t())) + t.pow(2).sum(1).unsqueeze(0)).clamp_min(0);
            var (values, indices) = squared.topk(k, dim: 1, largest: false);
            var d = values.to(ScalarType.Float64).sqrt();
            var first = d.select(1, 0).data<double>().ToArray();
            var mean = d.mean([1]).data<double>().ToArray();
            var index = indices.select(1, 0).to(ScalarType.Int64).data<long>().ToArray();
            for (var i = 0; i < first.Length; i++)
            {
                // k copies of one image (every distance 0) are as memorised as it gets.
                ratios[start + i] = mean[i] > 0 ? first[i] / mean[i] : 0;
                distances[start + i] = first[i];
                nearest[start + i] = (int)index[i];
            }
        }

        var histogram = new int[HistogramBins];
        foreach (var ratio in ratios)
        {
            histogram[Math.Min(HistogramBins - 1, (int)(ratio * HistogramBins))]++;
        }

        return new MemorizationResult(ratios, nearest, distances, k, threshold, ratios.Count(r => r < threshold) / (double)count, histogram);
    }
}

/// <summary>What <see cref="Memorization.Compute"/> measured, one entry per generated image where a list.</summary>
/// <param name="Ratios">d(g, NN₁) / mean d(g, NN₁…NNₖ), in [0, 1].</param>
/// <param name="NearestTrainingImage">The index of each image's nearest training image.</param>
/// <param name="NearestDistance">The pixel ℓ2 distance to it, in the model's pixel space [−1, 1].</param>
/// <param name="Neighbours">k, the neighbours averaged.</param>
/// <param name="Threshold">The ratio below which an image counts as a near-copy.</param>
/// <param name="ShareBelowThreshold">The share of generated images with a ratio below <paramref name="Threshold"/>.</param>
/// <param name="Histogram">Counts of the ratios in <see cref="Memorization.HistogramBins"/> equal bins over [0, 1].</param>
public sealed record MemorizationResult(
    IReadOnlyList<double> Ratios,
    IReadOnlyList<int> NearestTrainingImage,
    IReadOnlyList<double> NearestDistance,
    int Neighbours,
    double Threshold,
    double ShareBelowThreshold,
    IReadOnlyList<int> Histogram)
{
    /// <summary>The indices of the <paramref name="count"/> generated images with the lowest ratios, lowest first.</summary>
    public IReadOnlyList<int> Closest(int count) =>
        [.. Enumerable.Range(0, Ratios.Count).OrderBy(i => Ratios[i]).ThenBy(i => i).Take(count)];
}
