using MLNet.Diffusion.Data;

namespace MLNet.Diffusion.Pipelines;

/// <summary>Fitted transformers applied one after another; what fitting an <see cref="EstimatorChain{TLastTransformer}"/> gives.</summary>
/// <typeparam name="TLastTransformer">The type of the last transformer.</typeparam>
public sealed class TransformerChain<TLastTransformer> : ITransformer
    where TLastTransformer : class, ITransformer
{
    private readonly ITransformer[] _transformers;

    internal TransformerChain(IEnumerable<ITransformer> transformers)
    {
        _transformers = transformers.ToArray();
    }

    /// <summary>The transformers, in order.</summary>
    public IReadOnlyList<ITransformer> Transformers => _transformers;

    /// <summary>The last transformer (null for an empty chain).</summary>
    public TLastTransformer? LastTransformer => _transformers.LastOrDefault() as TLastTransformer;

    /// <inheritdoc/>
    public DataViewSchema GetOutputSchema(DataViewSchema inputSchema)
    {
        ArgumentNullException.ThrowIfNull(inputSchema);
        return _transformers.Aggregate(inputSchema, (schema, transformer) => transformer.GetOutputSchema(schema));
    }

    /// <inheritdoc/>
    public IDataView Transform(IDataView input)
    {
        ArgumentNullException.ThrowIfNull(input);
        _ = GetOutputSchema(input.Schema);
        return _transformers.Aggregate(input, (view, transformer) => transformer.Transform(view));
    }
}
