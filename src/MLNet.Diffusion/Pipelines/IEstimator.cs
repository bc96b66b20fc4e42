using MLNet.Diffusion.Data;

namespace MLNet.Diffusion.Pipelines;

/// <summary>An unfitted step of a pipeline: checks the schema before any work, then fits to data and returns a transformer.</summary>
/// <typeparam name="TTransformer">What fitting returns.</typeparam>
public interface IEstimator<out TTransformer>
    where TTransformer : ITransformer
{
    /// <summary>
    /// The schema the fitted transformer will give for input of <paramref name="inputSchema"/>, checking on the way that
    /// every column this step needs is there with a type it takes.
    /// </summary>
    /// <exception cref="ArgumentException">A column is missing or has the wrong type or size; the message names the column.</exception>
    DataViewSchema GetOutputSchema(DataViewSchema inputSchema);

    /// <summary>Fits to <paramref name="input"/> (checking its schema first).</summary>
    TTransformer Fit(IDataView input);
}
