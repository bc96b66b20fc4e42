using MLNet.Diffusion.Data;
using MLNet.Diffusion.Training;

namespace MLNet.Diffusion.Pipelines;

/// <summary>
/// Preprocessing estimators followed by a <see cref="DiffusionTrainer"/> (what <c>Append(trainer)</c> makes). Fitting checks the whole
/// schema first, fits the preprocessing, trains on its output and returns the <see cref="DiffusionModel"/>: the preprocessing only
/// prepares training images, and the model it returns generates images from seeds.
/// </summary>
public sealed class DiffusionPipeline : IEstimator<DiffusionModel>
{
    internal DiffusionPipeline(IEstimator<ITransformer> preprocessing, DiffusionTrainer trainer)
    {
        ArgumentNullException.ThrowIfNull(trainer);
        (Preprocessing, Trainer) = (preprocessing, trainer);
    }

    /// <summary>The estimators that prepare the training images.</summary>
    public IEstimator<ITransformer> Preprocessing { get; }

    /// <summary>The trainer.</summary>
    public DiffusionTrainer Trainer { get; }

    /// <inheritdoc/>
    public DataViewSchema GetOutputSchema(DataViewSchema inputSchema) => Trainer.GetOutputSchema(Preprocessing.GetOutputSchema(inputSchema));

    /// <inheritdoc/>
    public DiffusionModel Fit(IDataView input) => Fit(input, null);

    /// <summary>Fits the preprocessing and trains, reporting every step to <paramref name="progress"/>; cancelling stops after the current step.</summary>
    public DiffusionModel Fit(IDataView input, IProgress<TrainingProgress>? progress, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(input);
        _ = GetOutputSchema(input.Schema);
        var transformer = Preprocessing.Fit(input);
        return Trainer.Fit(transformer.Transform(input), progress, cancellationToken);
    }
}
