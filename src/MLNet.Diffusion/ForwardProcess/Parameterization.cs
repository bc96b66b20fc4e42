using TorchSharp;
using static TorchSharp.torch;

namespace MLNet.Diffusion.ForwardProcess;

/// <summary>
/// Exact conversions among the three things a network can predict, given x_t and ᾱ_t. With a = √ᾱ_t and
/// b = √(1 − ᾱ_t): x_t = a·x₀ + b·ε and v = a·ε − b·x₀, so x₀ = a·x_t − b·v and ε = b·x_t + a·v.
/// The coefficients are plain numbers (one timestep for the whole batch) or tensors shaped to broadcast
/// (one timestep per sample).
/// </summary>
public static class Parameterization
{
    /// <summary>The x₀ that <paramref name="modelOutput"/> implies.</summary>
    public static Tensor ToSample(PredictionType type, Tensor modelOutput, Tensor sample, double alphaBar)
    {
        ArgumentNullException.ThrowIfNull(modelOutput);
        ArgumentNullException.ThrowIfNull(sample);
        var (a, b) = (Math.Sqrt(alphaBar), Math.Sqrt(1 - alphaBar));
        using var scope = torch.NewDisposeScope();
        var result = type switch
        {
            PredictionType.Epsilon => (sample - (modelOutput * b)) / a,
            PredictionType.Sample => modelOutput.clone(),
            PredictionType.VPrediction => (sample * a) - (modelOutput * b),
            _ => throw Unknown(type),
        };
        return scope.MoveToOuter(result);
    }

    /// <summary>The ε that <paramref name="modelOutput"/> implies.</summary>
    public static Tensor ToEpsilon(PredictionType type, Tensor modelOutput, Tensor sample, double alphaBar)
    {
        ArgumentNullException.ThrowIfNull(modelOutput);
        ArgumentNullException.ThrowIfNull(sample);
        var (a, b) = (Math.Sqrt(alphaBar), Math.Sqrt(1 - alphaBar));
        using var scope = torch.NewDisposeScope();
        var result = type switch
        {
            PredictionType.Epsilon => modelOutput.clone(),
            PredictionType.Sample => (sample - (modelOutput * a)) / b,
            PredictionType.VPrediction => (sample * b) + (modelOutput * a),
            _ => throw Unknown(type),
        };
        return scope.MoveToOuter(result);
    }

    /// <summary>ε from x₀ and x_t: (x_t − √ᾱ·x₀)/√(1 − ᾱ).</summary>
    public static Tensor EpsilonFromSample(Tensor predictedSample, Tensor sample, double alphaBar) =>
        ToEpsilon(PredictionType.Sample, predictedSample, sample, alphaBar);

    /// <summary>
    /// What a network of <paramref name="type"/> should output for (x₀, ε) at per-sample coefficients
    /// <paramref name="sqrtAlphaBar"/> and <paramref name="sqrtOneMinusAlphaBar"/>: the training target.
    /// </summary>
    public static Tensor Target(PredictionType type, Tensor original, Tensor noise, Tensor sqrtAlphaBar, Tensor sqrtOneMinusAlphaBar)
    {
        ArgumentNullException.ThrowIfNull(original);
        ArgumentNullException.ThrowIfNull(noise);
        using var scope = torch.NewDisposeScope();
        var result = type switch
        {
            PredictionType.Epsilon => noise.clone(),
            PredictionType.Sample => original.clone(),
            PredictionType.VPrediction => (noise * sqrtAlphaBar) - (original * sqrtOneMinusAlphaBar),
            _ => throw Unknown(type),
        };
        return scope.MoveToOuter(result);
    }

    private static ArgumentOutOfRangeException Unknown(PredictionType type) =>
        new(nameof(type), type, "Unknown prediction type; accepted: Epsilon, Sample, VPrediction.");
}
