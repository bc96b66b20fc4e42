using MLNet.Diffusion.ForwardProcess;
using MLNet.Diffusion.Images;
using MLNet.Diffusion.Models;

namespace MLNet.Diffusion.ModelFormat;

/// <summary>
/// The model manifest (docs/model-format.md): format and library versions, the network's and the schedule's
/// configuration, the prediction type, the preprocessing, the training summary and where the weights are. Members that
/// older writers recorded and nothing reads (the PyTorch reference's <c>RawWeights</c>) are ignored on reading.
/// </summary>
internal sealed record ModelManifest(string Format, int FormatVersion, string LibraryVersion, UNetConfig Model, NoiseScheduleOptions Schedule,
    PredictionType PredictionType, PreprocessingRecord Preprocessing, TrainingSummary? Training, string Weights, IReadOnlyList<string>? ClassNames = null)
{
    /// <summary>The manifest of a model this library version writes.</summary>
    public static ModelManifest Create(UNetConfig config, NoiseScheduleOptions schedule, PredictionType predictionType, PixelEncoding preprocessing,
        TrainingSummary? training, IReadOnlyList<string>? classNames) =>
        new(ModelFile.FormatName, ModelFile.FormatVersion, ThisLibraryVersion, config, schedule, predictionType,
            new PreprocessingRecord(config.ImageSize, config.InChannels, preprocessing.Range.Min, preprocessing.Range.Max, preprocessing.OffsetImage,
                preprocessing.ScaleImage, preprocessing.Colors, Interleaved: false, preprocessing.Resizing), training, Onnx.UNetGraph.Prefix, classNames);

    private static string ThisLibraryVersion => typeof(ModelManifest).Assembly.GetName().Version?.ToString() ?? "unknown";
}
