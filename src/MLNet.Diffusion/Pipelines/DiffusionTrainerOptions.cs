using MLNet.Diffusion.Training;

namespace MLNet.Diffusion.Pipelines;

/// <summary>
/// The options of <see cref="DiffusionCatalog.Train(DiffusionTrainerOptions)"/>: every <see cref="DdpmTrainerOptions"/> setting
/// plus the columns to train on, as ML.NET trainers' options carry their column names.
/// </summary>
public sealed record DiffusionTrainerOptions : DdpmTrainerOptions
{
    /// <summary>The column of training images: float vectors [C, H, W] with H = W, C = 1 or 3, in [−1, 1]. Default "Pixels".</summary>
    public string PixelColumnName { get; init; } = "Pixels";

    /// <summary>The key column of class labels; set, it trains a class-conditional model. Default null (unconditional).</summary>
    public string? LabelColumnName { get; init; }
}
