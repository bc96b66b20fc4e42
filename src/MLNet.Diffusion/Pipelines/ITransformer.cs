using MLNet.Diffusion.Data;

namespace MLNet.Diffusion.Pipelines;

/// <summary>A fitted step of a pipeline: maps a data view to another, lazily (rows are computed when read).</summary>
public interface ITransformer
{
    /// <summary>The schema <see cref="Transform"/> gives for input of <paramref name="inputSchema"/>.</summary>
    /// <exception cref="ArgumentException">The input lacks a column this step needs, or has it with the wrong type; the message names the column.</exception>
    DataViewSchema GetOutputSchema(DataViewSchema inputSchema);

    /// <summary>A view of <paramref name="input"/> with this step's columns added or replaced; nothing is computed until rows are read.</summary>
    /// <exception cref="ArgumentException">The input's schema does not fit (see <see cref="GetOutputSchema"/>).</exception>
    IDataView Transform(IDataView input);
}
