using MLNet.Diffusion.IO;
using System.Globalization;
using TorchSharp;
using static TorchSharp.torch;

namespace MLNet.Diffusion.Metrics;

/// <summary>
/// The Gaussian that FID fits to a set of feature vectors: their mean and their covariance (normalised by N − 1),
/// in float64.
/// </summary>
public sealed class FeatureStatistics
{
    /// <summary>Wraps a mean [D] and a symmetric covariance [D, D] (row-major, D·D values) of <paramref name="count"/> vectors.</summary>
    /// <exception cref="ArgumentException">The sizes disagree, a value is not finite, or the covariance is not symmetric.</exception>
    public FeatureStatistics(double[] mean, double[] covariance, long count)
    {
        ArgumentNullException.ThrowIfNull(mean);
        ArgumentNullException.ThrowIfNull(covariance);
        ArgumentOutOfRangeException.ThrowIfLessThan(count, 2);
        var d = mean.Length;
        if (d == 0 || covariance.Length != d * d)
        {
            throw new ArgumentException($"A mean of {d} values needs a covariance of {d}×{d} = {d * d} values, not {covariance.Length}.", nameof(covariance));
        }

        if (!mean.All(double.IsFinite) || !covariance.All(double.IsFinite))
        {
            throw new ArgumentException("The statistics hold NaN or infinite values.", nameof(covariance));
        }

        for (var i = 0; i < d; i++)
        {
            for (var j = 0; j < i; j++)
            {
                var (a, b) = (covariance[(i * d) + j], covariance[(j * d) + i]);
                if (Math.Abs(a - b) > 1e-9 * (1 + Math.Abs(a) + Math.Abs(b)))
                {
                    throw new ArgumentException(string.Create(CultureInfo.InvariantCulture, $"The covariance is not symmetric: [{i}, {j}] = {a} but [{j}, {i}] = {b}."), nameof(covariance));
                }
            }
        }

        Mean = mean;
        Covariance = covariance;
        Count = count;
    }

    /// <summary>The mean, D values.</summary>
    public IReadOnlyList<double> Mean { get; }

    /// <summary>The covariance, D·D values in row-major order.</summary>
    public IReadOnlyList<double> Covariance { get; }

    /// <summary>The dimension D.</summary>
    public int Dimension => Mean.Count;

    /// <summary>How many vectors the statistics were computed from.</summary>
    public long Count { get; }

    /// <summary>The statistics of the rows of <paramref name="features"/> [N, D] (N ≥ 2), computed in float64.</summary>
    public static FeatureStatistics FromFeatures(Tensor features)
    {
        ArgumentNullException.ThrowIfNull(features);
        if (features.Dimensions != 2 || features.size(0) < 2)
        {
            throw new ArgumentException($"Features must be [N, D] with N ≥ 2, not [{string.Join(", ", features.shape)}].", nameof(features));
        }

        using var scope = torch.NewDisposeScope();
        using var noGrad = torch.no_grad();
        var x = features.to(ScalarType.Float64).to(torch.CPU);
        var mean = x.mean([0]);
        var centred = x - mean;
        var covariance = centred.transpose(0, 1).matmul(centred) / (x.size(0) - 1);
        covariance = (covariance + covariance.transpose(0, 1)) * 0.5;  // exactly symmetric
        return new FeatureStatistics(mean.data<double>().ToArray(), covariance.contiguous().data<double>().ToArray(), x.size(0));
    }

    /// <summary>Writes the statistics as safetensors (<c>mean</c>, <c>covariance</c>; the count in the metadata), atomically.</summary>
    public void Save(string path, IReadOnlyDictionary<string, string>? metadata = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        using var scope = torch.NewDisposeScope();
        var all = new Dictionary<string, string>(metadata ?? new Dictionary<string, string>()) { ["count"] = Count.ToString(CultureInfo.InvariantCulture) };
        Safetensors.Save(path, [
            KeyValuePair.Create("mean", torch.tensor(Mean.ToArray(), [Dimension])),
            KeyValuePair.Create("covariance", torch.tensor(Covariance.ToArray(), [Dimension, Dimension])),
        ], all);
    }

    /// <summary>Reads statistics written by <see cref="Save"/>.</summary>
    /// <exception cref="InvalidDataException">The file does not hold valid statistics.</exception>
    public static FeatureStatistics Load(string path)
    {
        using var content = Safetensors.Load(path);
        try
        {
            if (!content.Tensors.TryGetValue("mean", out var mean) || !content.Tensors.TryGetValue("covariance", out var covariance) ||
                mean.dtype != ScalarType.Float64 || covariance.dtype != ScalarType.Float64 || mean.Dimensions != 1 ||
                !content.Metadata.TryGetValue("count", out var countText) || !long.TryParse(countText, CultureInfo.InvariantCulture, out var count))
            {
                throw new ArgumentException("it needs float64 'mean' [D] and 'covariance' [D, D] tensors and a 'count'");
            }

            return new FeatureStatistics(mean.data<double>().ToArray(), covariance.contiguous().data<double>().ToArray(), count);
        }
        catch (ArgumentException ex)
        {
            throw new InvalidDataException($"'{path}' does not hold feature statistics: {ex.Message}", ex);
        }
    }
}
