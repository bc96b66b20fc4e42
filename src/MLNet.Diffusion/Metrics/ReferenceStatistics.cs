using System.Runtime.InteropServices;
using System.Security.Cryptography;
using System.Text;
using MLNet.Diffusion.IO;
using TorchSharp;
using static TorchSharp.torch;

namespace MLNet.Diffusion.Metrics;

/// <summary>
/// Feature vectors of real images, computed in batches and cached as safetensors in <see cref="DefaultCacheDirectory"/>
/// under a name made of the feature network's hash and the hash of the images' pixels (after resizing), so new weights or
/// other images never meet stale features. A reference is featurized once (seconds for the Fashion-MNIST network, minutes
/// for ResNet-18 on a large folder) and read back on every later evaluation.
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
    /// The features [N, D] of <paramref name="images"/> [N, C, H, W] through <paramref name="extractor"/>, read from the cache
    /// when there, else computed in batches of <paramref name="batchSize"/> and cached (a damaged cache file is recomputed).
    /// </summary>
    /// <param name="extractor">The feature network.</param>
    /// <param name="images">The images, float32 in [−1, 1].</param>
    /// <param name="description">What the images are; stored in the cache file's metadata.</param>
    /// <param name="cacheDirectory">Where the cache lives (<see cref="DefaultCacheDirectory"/> when null).</param>
    /// <param name="batchSize">Images per forward pass.</param>
    /// <param name="progress">Told how far the computation got, about every tenth.</param>
    public static Tensor CachedFeatures(IImageFeatureExtractor extractor, Tensor images, string description, string? cacheDirectory = null,
        int batchSize = 500, IProgress<string>? progress = null)
    {
        ArgumentNullException.ThrowIfNull(extractor);
        ArgumentNullException.ThrowIfNull(images);
        var folder = cacheDirectory ?? DefaultCacheDirectory;
        var path = Path.Combine(folder, $"features-{extractor.WeightsSha256[..Math.Min(16, extractor.WeightsSha256.Length)]}-{ContentHash(images)[..16]}.safetensors");
        if (File.Exists(path))
        {
            try
            {
                using var content = Safetensors.Load(path);
                if (content.Tensors.TryGetValue("features", out var cached) && cached.dtype == ScalarType.Float32
                    && cached.shape.SequenceEqual([images.size(0), extractor.FeatureDimension]))
                {
                    return cached.clone();
                }
            }
            catch (InvalidDataException)
            {
                // A damaged cache file is recomputed and replaced below.
            }
        }

        var features = Features(extractor, images, batchSize, progress);
        Directory.CreateDirectory(folder);
        Safetensors.Save(path, [KeyValuePair.Create("features", features)], new Dictionary<string, string>
        {
            ["images"] = description,
            ["feature_network"] = extractor.Name,
            ["feature_network_sha256"] = extractor.WeightsSha256,
        });
        return features;
    }

    /// <summary>The feature vectors [N, D] of <paramref name="images"/> [N, C, H, W] in [−1, 1], on the CPU, in batches.</summary>
    public static Tensor Features(IImageFeatureExtractor extractor, Tensor images, int batchSize = 500, IProgress<string>? progress = null)
    {
        ArgumentNullException.ThrowIfNull(extractor);
        ArgumentNullException.ThrowIfNull(images);
        ArgumentOutOfRangeException.ThrowIfLessThan(batchSize, 1);
        using var scope = torch.NewDisposeScope();
        var parts = new List<Tensor>();
        var count = images.size(0);
        var batches = (count + batchSize - 1) / batchSize;
        for (long start = 0, batch = 1; start < count; start += batchSize, batch++)
        {
            var length = Math.Min(batchSize, count - start);
            parts.Add(extractor.Extract(images.narrow(0, start, length)));
            if (progress is not null && batches >= 10 && (batch % (batches / 10) == 0 || batch == batches))
            {
                progress.Report($"features: {start + length}/{count}");
            }
        }

        return scope.MoveToOuter(torch.cat(parts));
    }

    // SHA-256 of the shape and the float32 pixels: the images as the metric sees them, after decoding and resizing.
    private static string ContentHash(Tensor images)
    {
        using var scope = torch.NewDisposeScope();
        var pixels = images.to(ScalarType.Float32).cpu().contiguous().data<float>().ToArray();
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        hash.AppendData(Encoding.UTF8.GetBytes(string.Join(",", images.shape)));
        hash.AppendData(MemoryMarshal.AsBytes(pixels.AsSpan()));
        return Convert.ToHexStringLower(hash.GetHashAndReset());
    }
}
