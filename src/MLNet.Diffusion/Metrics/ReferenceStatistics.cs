using System.Security.Cryptography;
using TorchSharp;
using static TorchSharp.torch;
using MLNet.Diffusion.Datasets;

namespace MLNet.Diffusion.Metrics;

/// <summary>
/// The FID reference: the feature statistics of the 10,000 Fashion-MNIST test images. They are computed on first use
/// (a few seconds) and cached as safetensors in <see cref="DefaultCacheDirectory"/>, under a name that holds the
/// feature network's hash and the test file's hash, so that new weights or other data never meet stale statistics.
/// They are not committed because they are a function of two things that are (the weights and Debian's data set).
/// </summary>
internal static class ReferenceStatistics
{
    /// <summary>
    /// <c>$XDG_CACHE_HOME/mlnet-diffusion</c> (<c>~/.cache/mlnet-diffusion</c> when unset) on Linux and macOS, the local
    /// application data folder on Windows.
    /// </summary>
    public static string DefaultCacheDirectory
    {
        get
        {
            var root = Environment.GetEnvironmentVariable("XDG_CACHE_HOME");
            if (string.IsNullOrEmpty(root))
            {
                root = OperatingSystem.IsWindows()
                    ? Environment.GetFolderPath(Environment.SpecialFolder.LocalApplicationData)
                    : Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".cache");
            }

            return Path.Combine(root, "mlnet-diffusion");
        }
    }

    /// <summary>
    /// The statistics of the Fashion-MNIST test set through <paramref name="network"/>, read from the cache when there,
    /// else computed (in batches of <paramref name="batchSize"/>) and cached.
    /// </summary>
    /// <param name="network">The feature network (its weights' hash is <paramref name="networkSha256"/>).</param>
    /// <param name="networkSha256">The SHA-256 of the network's weights; it names the cache file.</param>
    /// <param name="cacheDirectory">Where the cache lives (<see cref="DefaultCacheDirectory"/> when null).</param>
    /// <param name="dataDirectory">The Fashion-MNIST folder (Debian's when null).</param>
    /// <param name="batchSize">Images per forward pass when computing.</param>
    public static FeatureStatistics Load(FeatureNetwork network, string networkSha256, string? cacheDirectory = null, string? dataDirectory = null, int batchSize = 500)
    {
        ArgumentNullException.ThrowIfNull(network);
        ArgumentException.ThrowIfNullOrEmpty(networkSha256);
        var testImages = Path.Combine(dataDirectory ?? FashionMnist.DefaultDirectory, FashionMnist.TestImagesFileName);
        if (!File.Exists(testImages))
        {
            throw new FileNotFoundException(
                $"Fashion-MNIST file '{testImages}' was not found: FID's reference is its test set; install Debian's dataset-fashion-mnist (./build.sh does).", testImages);
        }

        string dataHash;
        using (var stream = File.OpenRead(testImages))
        {
            dataHash = Convert.ToHexStringLower(SHA256.HashData(stream));
        }

        var folder = cacheDirectory ?? DefaultCacheDirectory;
        var path = Path.Combine(folder, $"fid-reference-fashion-mnist-test-{networkSha256[..Math.Min(16, networkSha256.Length)]}-{dataHash[..16]}.safetensors");
        if (File.Exists(path))
        {
            try
            {
                var cached = FeatureStatistics.Load(path);
                if (cached.Dimension == FeatureNetwork.FeatureCount)
                {
                    return cached;
                }
            }
            catch (InvalidDataException)
            {
                // A damaged cache file is recomputed and replaced below.
            }
        }

        var (images, _) = FashionMnist.LoadTest(directory: dataDirectory);
        FeatureStatistics statistics;
        using (images)
        {
            statistics = Compute(network, images, batchSize);
        }

        Directory.CreateDirectory(folder);
        statistics.Save(path, new Dictionary<string, string>
        {
            ["reference"] = "Fashion-MNIST test set",
            ["feature_network_sha256"] = networkSha256,
            ["test_images_sha256"] = dataHash,
        });
        return statistics;
    }

    /// <summary>The feature statistics of <paramref name="images"/> [N, 1, 28, 28] in [−1, 1], in batches.</summary>
    public static FeatureStatistics Compute(FeatureNetwork network, Tensor images, int batchSize = 500)
    {
        using var features = Features(network, images, batchSize);
        return FeatureStatistics.FromFeatures(features);
    }

    /// <summary>The feature vectors [N, D] of <paramref name="images"/> [N, 1, 28, 28] in [−1, 1], on the CPU, in batches.</summary>
    public static Tensor Features(FeatureNetwork network, Tensor images, int batchSize = 500)
    {
        ArgumentNullException.ThrowIfNull(network);
        ArgumentNullException.ThrowIfNull(images);
        ArgumentOutOfRangeException.ThrowIfLessThan(batchSize, 1);
        using var scope = torch.NewDisposeScope();
        using var noGrad = torch.no_grad();
        var device = network.parameters().First().device;
        var parts = new List<Tensor>();
        for (long start = 0; start < images.size(0); start += batchSize)
        {
            var length = Math.Min(batchSize, images.size(0) - start);
            parts.Add(network.Features(images.narrow(0, start, length).to(device)).to(torch.CPU));
        }

        return scope.MoveToOuter(torch.cat(parts));
    }
}
