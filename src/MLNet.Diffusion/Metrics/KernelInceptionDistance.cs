using TorchSharp;
using static TorchSharp.torch;

namespace MLNet.Diffusion.Metrics;

/// <summary>
/// KID (Bińkowski et al. 2018, "Demystifying MMD GANs", §2.3 and appendix B): the unbiased estimate of the squared maximum
/// mean discrepancy between two sets of feature vectors under the cubic polynomial kernel k(x, y) = (xᵀy/d + 1)³, averaged
/// over random subsets. Unlike FID it has an unbiased estimator, so small sets do not inflate it: the expected value for two
/// samples of one distribution is 0 (a single estimate can be negative), which makes it the honest metric at small N.
/// Computed in float64, on whatever device the features are on.
/// </summary>
public static class KernelInceptionDistance
{
    /// <summary>The subsets drawn by default (as torch-fidelity's <c>kid_subsets</c>).</summary>
    public const int DefaultSubsets = 100;

    /// <summary>The largest subset size by default (as torch-fidelity's <c>kid_subset_size</c>).</summary>
    public const int DefaultSubsetSize = 1000;

    /// <summary>
    /// KID between <paramref name="first"/> [M, D] and <paramref name="second"/> [N, D]: for each of <paramref name="subsets"/>
    /// subsets, min(<paramref name="subsetSize"/>, M, N) rows drawn without replacement from each set (a generator seeded with
    /// <paramref name="seed"/>, so one seed gives one value), the unbiased MMD²:
    /// 1/(m(m−1)) Σ_{i≠j} k(xᵢ, xⱼ) + 1/(m(m−1)) Σ_{i≠j} k(yᵢ, yⱼ) − 2/m² Σ_{i,j} k(xᵢ, yⱼ); the mean and standard deviation over subsets.
    /// </summary>
    /// <exception cref="ArgumentException">The features are not [·, D] of one D with at least 2 rows each, or hold NaN.</exception>
    public static KidEstimate Compute(Tensor first, Tensor second, int subsets = DefaultSubsets, int subsetSize = DefaultSubsetSize, long seed = 0)
    {
        ArgumentNullException.ThrowIfNull(first);
        ArgumentNullException.ThrowIfNull(second);
        ArgumentOutOfRangeException.ThrowIfLessThan(subsets, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(subsetSize, 2);
        if (first.Dimensions != 2 || second.Dimensions != 2 || first.size(1) != second.size(1) || first.size(0) < 2 || second.size(0) < 2)
        {
            throw new ArgumentException(
                $"KID takes two sets of feature vectors [M, D] and [N, D] of one D with at least 2 rows each, not [{string.Join(", ", first.shape)}] and [{string.Join(", ", second.shape)}].",
                nameof(second));
        }

        using var scope = torch.NewDisposeScope();
        using var noGrad = torch.no_grad();
        var (x, y) = (first.to(ScalarType.Float64), second.to(ScalarType.Float64));
        if (x.isnan().any().ToBoolean() || y.isnan().any().ToBoolean())
        {
            throw new ArgumentException("The feature vectors hold NaN values.", nameof(first));
        }

        var m = (int)Math.Min(subsetSize, Math.Min(x.size(0), y.size(0)));
        var d = (double)x.size(1);
        using var generator = new Generator((ulong)seed, torch.CPU);
        var values = new double[subsets];
        // When a subset is the whole of both sets every draw is the same estimate (up to summation order): compute it once,
        // so the spread reported is exactly 0, not rounding noise.
        var whole = m == x.size(0) && m == y.size(0);
        for (var s = 0; s < subsets; s++)
        {
            if (whole && s > 0)
            {
                values[s] = values[0];
                continue;
            }

            using var step = torch.NewDisposeScope();
            var a = x.index_select(0, torch.randperm(x.size(0), generator: generator).narrow(0, 0, m).to(x.device));
            var b = y.index_select(0, torch.randperm(y.size(0), generator: generator).narrow(0, 0, m).to(y.device));
            Tensor Kernel(Tensor u, Tensor v) => (u.matmul(v.t()) / d + 1).pow(3);
            var (kxx, kyy, kxy) = (Kernel(a, a), Kernel(b, b), Kernel(a, b));
            // Σ_{i≠j}: the whole sum less the diagonal.
            var within = (kxx.sum() - kxx.diagonal().sum() + kyy.sum() - kyy.diagonal().sum()).ToDouble() / (m * (m - 1.0));
            values[s] = within - (2 * kxy.sum().ToDouble() / ((double)m * m));
        }

        var mean = values.Average();
        var deviation = Math.Sqrt(values.Sum(v => (v - mean) * (v - mean)) / values.Length);
        return new KidEstimate(mean, deviation, subsets, m);
    }
}

/// <summary>A KID estimate: the mean and standard deviation over <paramref name="Subsets"/> subsets of <paramref name="SubsetSize"/> rows per set.</summary>
/// <param name="Mean">The mean of the unbiased MMD² estimates (can be slightly negative when the sets come from one distribution).</param>
/// <param name="StandardDeviation">Their standard deviation (population form, as torch-fidelity reports it).</param>
/// <param name="Subsets">How many subsets were drawn.</param>
/// <param name="SubsetSize">Rows per set in each subset.</param>
public sealed record KidEstimate(double Mean, double StandardDeviation, int Subsets, int SubsetSize)
{
    /// <summary>
    /// Whether the subsets differed: false when each was the whole of both sets (up to <see cref="KernelInceptionDistance.DefaultSubsetSize"/>
    /// images), where the spread is 0 or, from an estimate summed in another order, rounding noise.
    /// </summary>
    public bool HasSpread => HasSpreadOf(Mean, StandardDeviation);

    internal static bool HasSpreadOf(double mean, double standardDeviation) => standardDeviation > 1e-9 * Math.Max(1, Math.Abs(mean));
}
