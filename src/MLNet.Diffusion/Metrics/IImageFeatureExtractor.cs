using static TorchSharp.torch;

namespace MLNet.Diffusion.Metrics;

/// <summary>
/// A network that turns images into feature vectors for KID, FID and precision/recall. <see cref="FeatureNetwork"/> is the
/// Fashion-MNIST one in this library; the MLNet.Diffusion.Evaluation package brings ImageNet's ResNet-18 for any image.
/// </summary>
public interface IImageFeatureExtractor : IDisposable
{
    /// <summary>What the features are, for reports: the network, its training data and the feature count.</summary>
    string Name { get; }

    /// <summary>The SHA-256 of the network's weights (lower-case hex): it names cached features, so new weights never meet old ones.</summary>
    string WeightsSha256 { get; }

    /// <summary>The length of each feature vector.</summary>
    int FeatureDimension { get; }

    /// <summary>
    /// The feature vectors [N, <see cref="FeatureDimension"/>] (float32, CPU) of <paramref name="images"/> [N, C, H, W] in the
    /// model's pixel space [−1, 1]; which C, H and W are accepted is the extractor's to say.
    /// </summary>
    /// <exception cref="ArgumentException">The images are of a shape the network does not take; the message names it.</exception>
    Tensor Extract(Tensor images);
}
