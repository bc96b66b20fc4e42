using TorchSharp;
using static TorchSharp.torch;

namespace MLNet.Diffusion.Training;

/// <summary>
/// Random access to a training set of same-sized images (and optional class labels), read batch by batch so
/// that a data set need not fit in memory. Images come out as float32 [B, C, H, W] in [−1, 1].
/// </summary>
public interface ITrainingData
{
    /// <summary>The number of examples.</summary>
    long Count { get; }

    /// <summary>Channels per image.</summary>
    int Channels { get; }

    /// <summary>The side of the square images.</summary>
    int ImageSize { get; }

    /// <summary>The number of classes when the data is labelled, else null.</summary>
    int? NumClasses { get; }

    /// <summary>The examples at <paramref name="indices"/>: images [B, C, H, W] and, when labelled, int64 labels [B].</summary>
    (Tensor Images, Tensor? Labels) GetBatch(IReadOnlyList<long> indices);
}
