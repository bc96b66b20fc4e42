using System.Runtime.ExceptionServices;
using static TorchSharp.torch;

namespace MLNet.Diffusion.Metrics;

/// <summary>
/// The feature networks by kind. ResNet-18 lives in the MLNet.Diffusion.Evaluation assembly, found by name at run time, so
/// the core library does not carry its 64 MB; an app without it gets one message naming the package to add.
/// </summary>
internal static class FeatureExtractors
{
    internal const string ResNet18TypeName = "MLNet.Diffusion.Evaluation.ResNet18FeatureExtractor, MLNet.Diffusion.Evaluation";

    /// <summary>The network of <paramref name="kind"/> (not <see cref="EvaluationFeatures.Auto"/>) on <paramref name="device"/> where it runs on torch.</summary>
    /// <exception cref="InvalidOperationException">ResNet-18 was asked for and the MLNet.Diffusion.Evaluation assembly is not in the app.</exception>
    public static IImageFeatureExtractor Create(EvaluationFeatures kind, Device device, string resNet18Type = ResNet18TypeName)
    {
        if (kind == EvaluationFeatures.FashionMnist)
        {
            return FeatureNetwork.LoadPretrained(device);
        }

        var type = Type.GetType(resNet18Type, throwOnError: false)
            ?? throw new InvalidOperationException(
                "ResNet-18 features come with the MLNet.Diffusion.Evaluation package, which this app does not reference: add it " +
                "(dotnet add package MLNet.Diffusion.Evaluation) — it carries ImageNet's ResNet-18 (64 MB) and copies it into the app's output. " +
                "A 28×28 grayscale model can instead be measured with the Fashion-MNIST feature network (EvaluationFeatures.FashionMnist).");
        try
        {
            return (IImageFeatureExtractor)Activator.CreateInstance(type)!;
        }
        catch (System.Reflection.TargetInvocationException ex) when (ex.InnerException is not null)
        {
            ExceptionDispatchInfo.Capture(ex.InnerException).Throw();
            throw;
        }
    }

    /// <summary>
    /// <paramref name="kind"/> for a model of <paramref name="channels"/>×<paramref name="imageSize"/>×<paramref name="imageSize"/>
    /// images, with <see cref="EvaluationFeatures.Auto"/> resolved: Fashion-MNIST's network for 28×28 grayscale images when
    /// <paramref name="fashionMnistData"/>, else ResNet-18.
    /// </summary>
    /// <exception cref="ArgumentException">Fashion-MNIST's network was asked for and the images are not 28×28 grayscale.</exception>
    public static EvaluationFeatures Resolve(EvaluationFeatures kind, int imageSize, int channels, bool fashionMnistData)
    {
        var grayscale28 = imageSize == FeatureNetwork.ImageSize && channels == 1;
        if (kind == EvaluationFeatures.FashionMnist && !grayscale28)
        {
            throw new ArgumentException(
                $"The Fashion-MNIST feature network (EvaluationFeatures.FashionMnist) takes 28×28 grayscale images; this model makes {channels}×{imageSize}×{imageSize}. " +
                "Measure it with ResNet-18 features (EvaluationFeatures.ResNet18 or Auto; the MLNet.Diffusion.Evaluation package).",
                nameof(kind));
        }

        return kind != EvaluationFeatures.Auto ? kind
            : grayscale28 && fashionMnistData ? EvaluationFeatures.FashionMnist
            : EvaluationFeatures.ResNet18;
    }
}
