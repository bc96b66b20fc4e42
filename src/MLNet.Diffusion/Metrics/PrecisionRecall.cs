using TorchSharp;
using static TorchSharp.torch;

namespace MLNet.Diffusion.Metrics;

/// <summary>
/// Improved precision and recall (Kynkäänniemi et al. 2019, "Improved Precision and Recall Metric for Assessing Generative
/// Models", §2): each set's manifold is the union of balls around its feature vectors, each ball's radius the distance to its
/// k-th nearest neighbour in the same set. Precision is the share of generated vectors inside the real manifold (are the
/// images realistic?); recall is the share of real vectors inside the generated manifold (is the variety covered?). Both are
/// in [0, 1]. The paper uses k = 3 and equal set sizes; distances are Euclidean, in float64.
/// </summary>
public static class PrecisionRecall
{
    /// <summary>The paper's neighbourhood size.</summary>
    public const int DefaultNeighbours = 3;

    // Rows of a distance matrix computed at once: 1,024 × 10,000 float64 is 80 MB.
    private const int ChunkRows = 1024;

    /// <summary>
    /// Precision and recall of <paramref name="generated"/> [N, D] against <paramref name="real"/> [M, D]. Give equal counts
    /// (the paper's protocol: both manifolds are estimated from as many points); the result records both.
    /// </summary>
    /// <param name="real">Feature vectors of real images.</param>
    /// <param name="generated">Feature vectors of generated images, of the same D.</param>
    /// <param name="neighbours">k: each ball reaches the k-th nearest other vector of its set; at least 1 and below both counts.</param>
    /// <exception cref="ArgumentException">The sets are not [·, D] of one D with more than k rows each, or hold NaN.</exception>
    public static PrecisionRecallEstimate Compute(Tensor real, Tensor generated, int neighbours = DefaultNeighbours)
    {
        ArgumentNullException.ThrowIfNull(real);
        ArgumentNullException.ThrowIfNull(generated);
        ArgumentOutOfRangeException.ThrowIfLessThan(neighbours, 1);
        if (real.Dimensions != 2 || generated.Dimensions != 2 || real.size(1) != generated.size(1)
            || real.size(0) <= neighbours || generated.size(0) <= neighbours)
        {
            throw new ArgumentException(
                $"Precision and recall take two sets of feature vectors [M, D] and [N, D] of one D with more than k = {neighbours} rows each, not [{string.Join(", ", real.shape)}] and [{string.Join(", ", generated.shape)}].",
                nameof(generated));
        }

        using var scope = torch.NewDisposeScope();
        using var noGrad = torch.no_grad();
        var (r, g) = (real.to(ScalarType.Float64), generated.to(ScalarType.Float64));
        if (r.isnan().any().ToBoolean() || g.isnan().any().ToBoolean())
        {
            throw new ArgumentException("The feature vectors hold NaN values.", nameof(real));
        }

        var realRadii = Radii(r, neighbours);
        var generatedRadii = Radii(g, neighbours);
        var precision = ShareInside(g, r, realRadii);
        var recall = ShareInside(r, g, generatedRadii);
        return new PrecisionRecallEstimate(precision, recall, neighbours, (int)r.size(0), (int)g.size(0));
    }

    // The distance from each row to its k-th nearest other row: k + 1 smallest, the first being the row itself (distance 0).
    private static Tensor Radii(Tensor set, int k)
    {
        var radii = new List<Tensor>();
        for (long start = 0; start < set.size(0); start += ChunkRows)
        {
            var rows = set.narrow(0, start, Math.Min(ChunkRows, set.size(0) - start));
            radii.Add(torch.cdist(rows, set).topk(k + 1, dim: 1, largest: false).values.select(1, k));
        }

        return torch.cat(radii);
    }

    // The share of the points that lie within at least one ball (centre, radius) of the other set.
    private static double ShareInside(Tensor points, Tensor centres, Tensor radii)
    {
        long inside = 0;
        for (long start = 0; start < points.size(0); start += ChunkRows)
        {
            using var step = torch.NewDisposeScope();
            var rows = points.narrow(0, start, Math.Min(ChunkRows, points.size(0) - start));
            inside += torch.cdist(rows, centres).le(radii.unsqueeze(0)).any(1).sum().ToInt64();
        }

        return (double)inside / points.size(0);
    }
}

/// <summary>Improved precision and recall (<see cref="PrecisionRecall"/>).</summary>
/// <param name="Precision">The share of generated vectors within the real manifold, in [0, 1].</param>
/// <param name="Recall">The share of real vectors within the generated manifold, in [0, 1].</param>
/// <param name="Neighbours">k, the neighbour whose distance sets each ball's radius.</param>
/// <param name="RealCount">Real vectors used.</param>
/// <param name="GeneratedCount">Generated vectors used.</param>
public sealed record PrecisionRecallEstimate(double Precision, double Recall, int Neighbours, int RealCount, int GeneratedCount);
