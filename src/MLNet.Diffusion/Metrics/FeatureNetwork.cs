using MLNet.Diffusion.Engine;
using MLNet.Diffusion.IO;
using System.Security.Cryptography;
using TorchSharp;
using static TorchSharp.torch;
using TorchSharp.Modules;

namespace MLNet.Diffusion.Metrics;

/// <summary>
/// The feature network of our FID: a small CNN classifier for 28×28 grayscale Fashion-MNIST images in [−1, 1]
/// (the pixel mapping of our training data), trained by this project's own engine
/// (<c>tools/FeatureNetTrainer</c>). Three 3×3 conv–SiLU blocks (16, 32, 64 channels), each followed by 2×2 max
/// pooling (28 → 14 → 7 → 3), a <see cref="FeatureCount"/>-dimensional SiLU feature layer, and a 10-way linear head. FID compares the statistics of the feature layer; the head classifies generated images.
/// </summary>
public sealed class FeatureNetwork : nn.Module<Tensor, Tensor>, IImageFeatureExtractor
{
    /// <summary>The dimension of the feature layer, whose statistics FID compares.</summary>
    public const int FeatureCount = 128;

    /// <summary>The classes of the head (Fashion-MNIST's ten).</summary>
    public const int ClassCount = 10;

    /// <summary>The side of the square input images.</summary>
    public const int ImageSize = 28;

    /// <summary>
    /// The SHA-256 of the committed weights (<c>Metrics/fid-feature-net.safetensors</c>, embedded in the assembly),
    /// checked on every load. It also names the cached reference statistics, so new weights never meet old statistics.
    /// </summary>
    public const string PretrainedSha256 = "b64dcb0bb57f263967ac68afe6ebcfa3238fb96588382a17e7a174d722a633a9";

    internal const string ResourceName = "MLNet.Diffusion.Metrics.fid-feature-net.safetensors";

    private readonly Conv2d _conv1;
    private readonly Conv2d _conv2;
    private readonly Conv2d _conv3;
    private readonly Linear _features;
    private readonly Linear _head;

    // The SHA-256 of the weights file Load checked; null for a network built here, whose hash is taken from its parameters.
    private string? _loadedSha256;

    /// <summary>A network with fresh (untrained) weights; use <see cref="LoadPretrained"/> for the committed ones.</summary>
    public FeatureNetwork()
        : base(nameof(FeatureNetwork))
    {
        _conv1 = nn.Conv2d(1, 16, 3, padding: 1);
        register_module("conv1", _conv1);
        _conv2 = nn.Conv2d(16, 32, 3, padding: 1);
        register_module("conv2", _conv2);
        _conv3 = nn.Conv2d(32, 64, 3, padding: 1);
        register_module("conv3", _conv3);
        _features = nn.Linear(64 * 3 * 3, FeatureCount);
        register_module("features", _features);
        _head = nn.Linear(FeatureCount, ClassCount);
        register_module("head", _head);
    }

    /// <summary>The class logits [N, 10] of images [N, 1, 28, 28] in [−1, 1].</summary>
    public override Tensor forward(Tensor input)
    {
        using var scope = torch.NewDisposeScope();
        return scope.MoveToOuter(Classify(Features(input)));
    }

    /// <summary>
    /// Nothing more to register: the constructor registered every layer under its PyTorch name. TorchSharp's default
    /// would register the fields again under their C# names when this network is added to a parent module, and every
    /// weight would appear twice in the state dict.
    /// </summary>
    protected override void RegisterComponents()
    {
    }

    /// <summary>"the Fashion-MNIST feature network (128 features)".</summary>
    string IImageFeatureExtractor.Name => $"the Fashion-MNIST feature network ({FeatureCount} features)";

    /// <summary>
    /// The SHA-256 of the weights file <see cref="Load"/> checked (<see cref="PretrainedSha256"/> for the committed weights);
    /// for a network built or trained in memory, the SHA-256 of its parameters' bytes as they are now.
    /// </summary>
    string IImageFeatureExtractor.WeightsSha256 => _loadedSha256 ?? ParameterSha256();

    private string ParameterSha256()
    {
        using var scope = torch.NewDisposeScope();
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        foreach (var (name, tensor) in state_dict().OrderBy(p => p.Key, StringComparer.Ordinal))
        {
            hash.AppendData(System.Text.Encoding.UTF8.GetBytes(name));
            hash.AppendData(Engine.TensorBytes.ToBytes(tensor.to(torch.CPU).contiguous()));
        }

        return Convert.ToHexStringLower(hash.GetHashAndReset());
    }

    /// <summary><see cref="FeatureCount"/>.</summary>
    int IImageFeatureExtractor.FeatureDimension => FeatureCount;

    /// <summary><see cref="Features"/> without gradients, on the CPU.</summary>
    Tensor IImageFeatureExtractor.Extract(Tensor images)
    {
        using var scope = torch.NewDisposeScope();
        using var noGrad = torch.no_grad();
        return scope.MoveToOuter(Features(images.to(parameters().First().device)).to(torch.CPU));
    }

    /// <summary>The class logits [N, 10] of feature vectors [N, <see cref="FeatureCount"/>] from <see cref="Features"/>.</summary>
    public Tensor Classify(Tensor features) => _head.forward(features);

    /// <summary>The feature vectors [N, <see cref="FeatureCount"/>] of images [N, 1, 28, 28] in [−1, 1].</summary>
    /// <exception cref="ArgumentException">The images are not [N, 1, 28, 28].</exception>
    public Tensor Features(Tensor images)
    {
        ArgumentNullException.ThrowIfNull(images);
        var shape = images.shape;
        if (shape.Length != 4 || shape[1] != 1 || shape[2] != ImageSize || shape[3] != ImageSize)
        {
            throw new ArgumentException(
                $"The FID feature network takes 28×28 grayscale images [N, 1, 28, 28] in [-1, 1] (Fashion-MNIST's), not [{string.Join(", ", shape)}].",
                nameof(images));
        }

        using var scope = torch.NewDisposeScope();
        var x = nn.functional.max_pool2d(nn.functional.silu(_conv1.forward(images)), 2);  // 14×14
        x = nn.functional.max_pool2d(nn.functional.silu(_conv2.forward(x)), 2);           // 7×7
        x = nn.functional.max_pool2d(nn.functional.silu(_conv3.forward(x)), 2);           // 3×3
        return scope.MoveToOuter(nn.functional.silu(_features.forward(x.flatten(1))));
    }

    /// <summary>
    /// The fraction of <paramref name="images"/> [N, 1, 28, 28] whose predicted class is <paramref name="labels"/> [N]
    /// (int64), evaluated without gradients in batches of <paramref name="batchSize"/>.
    /// </summary>
    public double Accuracy(Tensor images, Tensor labels, int batchSize = 500)
    {
        ArgumentNullException.ThrowIfNull(images);
        ArgumentNullException.ThrowIfNull(labels);
        ArgumentOutOfRangeException.ThrowIfLessThan(batchSize, 1);
        var count = images.size(0);
        if (labels.Dimensions != 1 || labels.size(0) != count)
        {
            throw new ArgumentException($"Labels must be [{count}], one per image, not [{string.Join(", ", labels.shape)}].", nameof(labels));
        }

        using var noGrad = torch.no_grad();
        long correct = 0;
        for (long start = 0; start < count; start += batchSize)
        {
            using var scope = torch.NewDisposeScope();
            var length = Math.Min(batchSize, count - start);
            var device = parameters().First().device;
            var predicted = forward(images.narrow(0, start, length).to(device)).argmax(1);
            correct += predicted.eq(labels.narrow(0, start, length).to(device)).sum().ToInt64();
        }

        return count == 0 ? 0 : (double)correct / count;
    }

    /// <summary>
    /// Loads the committed weights from the assembly, after checking their SHA-256 against <see cref="PretrainedSha256"/>,
    /// in evaluation mode on <paramref name="device"/> (the CPU when null).
    /// </summary>
    /// <exception cref="InvalidDataException">The embedded weights are missing or do not match their recorded hash.</exception>
    public static FeatureNetwork LoadPretrained(Device? device = null)
    {
        using var stream = typeof(FeatureNetwork).Assembly.GetManifestResourceStream(ResourceName)
            ?? throw new InvalidDataException($"The FID feature network's weights ({ResourceName}) are not embedded in {typeof(FeatureNetwork).Assembly.GetName().Name}.");
        using var memory = new MemoryStream();
        stream.CopyTo(memory);
        return Load(memory.ToArray(), PretrainedSha256, "the embedded FID feature network", device);
    }

    /// <summary>
    /// Loads weights from safetensors bytes, after checking that their SHA-256 (lowercase hex) is <paramref name="expectedSha256"/>.
    /// </summary>
    /// <exception cref="InvalidDataException">The hash differs, or the bytes are not weights of this network.</exception>
    public static FeatureNetwork Load(byte[] safetensors, string expectedSha256, string source = "(memory)", Device? device = null)
    {
        ArgumentNullException.ThrowIfNull(safetensors);
        ArgumentException.ThrowIfNullOrEmpty(expectedSha256);
        var actual = Sha256(safetensors);
        if (!string.Equals(actual, expectedSha256, StringComparison.OrdinalIgnoreCase))
        {
            throw new InvalidDataException($"The weights of {source} have SHA-256 {actual}, not the recorded {expectedSha256}: they are damaged or from another run.");
        }

        using var content = Safetensors.Deserialize(safetensors, source);
        var network = new FeatureNetwork();
        try
        {
            network.LoadStateDict(content.Tensors);
            network.to(device ?? torch.CPU);
            network.eval();
            network._loadedSha256 = actual.ToLowerInvariant();
            return network;
        }
        catch (ArgumentException ex)
        {
            network.Dispose();
            throw new InvalidDataException($"{source} does not hold FID feature network weights: {ex.Message}", ex);
        }
    }

    /// <summary>The SHA-256 of <paramref name="bytes"/> in lowercase hex.</summary>
    public static string Sha256(byte[] bytes) => Convert.ToHexStringLower(SHA256.HashData(bytes));
}
