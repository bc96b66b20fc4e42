namespace MLNet.Diffusion.Pipelines;

/// <summary><c>Append</c> on a single estimator, starting a chain (as ML.NET's <c>Append</c> does).</summary>
public static class EstimatorExtensions
{
    /// <summary>A chain of <paramref name="start"/> then <paramref name="estimator"/>.</summary>
    public static EstimatorChain<TNewTransformer> Append<TNewTransformer>(this IEstimator<ITransformer> start, IEstimator<TNewTransformer> estimator)
        where TNewTransformer : class, ITransformer =>
        new EstimatorChain<ITransformer>([start ?? throw new ArgumentNullException(nameof(start))]).Append(estimator);

    /// <summary><paramref name="start"/> as the preprocessing of <paramref name="trainer"/>: fitting it trains and returns a <see cref="DiffusionModel"/>.</summary>
    public static DiffusionPipeline Append(this IEstimator<ITransformer> start, DiffusionTrainer trainer) =>
        new(start ?? throw new ArgumentNullException(nameof(start)), trainer);
}
