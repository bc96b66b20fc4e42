namespace MLNet.Diffusion.Metrics;

/// <summary>The feature network that <c>DiffusionEvaluator</c> and the trainer's evaluations measures images with.</summary>
public enum EvaluationFeatures
{
    /// <summary>Fashion-MNIST's network for a 28×28 grayscale model measured against Fashion-MNIST, else ResNet-18.</summary>
    Auto,

    /// <summary>The library's <see cref="FeatureNetwork"/>: 28×28 grayscale images only; brings the class histogram and accuracy.</summary>
    FashionMnist,

    /// <summary>
    /// ImageNet's ResNet-18 through ML.NET's DnnImageFeaturizer (512 features, any image size and channels): add the
    /// MLNet.Diffusion.Evaluation package, which carries the 64 MB network.
    /// </summary>
    ResNet18,
}
