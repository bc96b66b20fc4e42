using MLNet.Diffusion.Data;

namespace MLNet.Diffusion.Pipelines;

/// <summary>
/// Estimators applied one after another: each is fitted to the output of the transformers fitted before it. Made by
/// <c>Append</c>. <see cref="Fit"/> checks the whole chain's schema before fitting anything.
/// </summary>
/// <typeparam name="TLastTransformer">The transformer the last estimator gives.</typeparam>
public sealed class EstimatorChain<TLastTransformer> : IEstimator<TransformerChain<TLastTransformer>>
    where TLastTransformer : class, ITransformer
{
    private readonly IEstimator<ITransformer>[] _estimators;

    internal EstimatorChain(IEnumerable<IEstimator<ITransformer>> estimators)
    {
        _estimators = estimators.ToArray();
    }

    /// <summary>The estimators, in order.</summary>
    public IReadOnlyList<IEstimator<ITransformer>> Estimators => _estimators;

    /// <summary>This chain followed by <paramref name="estimator"/>.</summary>
    public EstimatorChain<TNewTransformer> Append<TNewTransformer>(IEstimator<TNewTransformer> estimator)
        where TNewTransformer : class, ITransformer
    {
        ArgumentNullException.ThrowIfNull(estimator);
        return new EstimatorChain<TNewTransformer>(_estimators.Append(estimator));
    }

    /// <summary>This chain as the preprocessing of <paramref name="trainer"/>: fitting it trains and returns a <see cref="DiffusionModel"/>.</summary>
    public DiffusionPipeline Append(DiffusionTrainer trainer) => new(this, trainer);

    /// <inheritdoc/>
    public DataViewSchema GetOutputSchema(DataViewSchema inputSchema)
    {
        ArgumentNullException.ThrowIfNull(inputSchema);
        return _estimators.Aggregate(inputSchema, (schema, estimator) => estimator.GetOutputSchema(schema));
    }

    /// <inheritdoc/>
    public TransformerChain<TLastTransformer> Fit(IDataView input)
    {
        ArgumentNullException.ThrowIfNull(input);
        _ = GetOutputSchema(input.Schema);
        var transformers = new List<ITransformer>();
        var current = input;
        foreach (var estimator in _estimators)
        {
            var transformer = estimator.Fit(current);
            transformers.Add(transformer);
            current = transformer.Transform(current);
        }

        return new TransformerChain<TLastTransformer>(transformers);
    }
}
