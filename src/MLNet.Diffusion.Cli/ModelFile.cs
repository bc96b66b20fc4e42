using MLNet.Diffusion.Onnx;

namespace MLNet.Diffusion.Cli;

/// <summary>What the commands need of a model file beyond the model <see cref="DiffusionModel.Load"/> returns.</summary>
internal static class ModelFile
{
    /// <summary>
    /// The sampler settings fixed in the graph of the file <paramref name="model"/> was loaded from (null for a
    /// format-1 file, which holds no graph).
    /// </summary>
    /// <exception cref="InvalidDataException">The file holds a graph that records no sampler settings.</exception>
    public static (SamplerKind Sampler, int Steps, double Guidance)? FixedSampler(DiffusionModel model, string path) =>
        model.LoadedFormatVersion is null or < 2
            ? null
            : model.LoadedGraphSettings
                ?? throw new InvalidDataException($"'{path}' is not a valid model: its generator graph has no sampler settings (metadata '{OnnxGenerator.SamplerMetadataKey}').");
}
