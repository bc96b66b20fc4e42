using MLNet.Diffusion.Data;
namespace MLNet.Diffusion.Pipelines;

/// <summary>
/// Rows with a fixed <see cref="Schema"/>, read lazily: nothing is decoded or computed until a row is read, and
/// nothing is kept after (caching is explicit). Views over a folder listing, an IDX file or a list also give
/// random access to their rows by position, which training needs; a view over a one-pass sequence streams only.
/// </summary>
public interface IDataView
{
    /// <summary>The columns of every row.</summary>
    DataViewSchema Schema { get; }

    /// <summary>Whether <see cref="GetRow"/> works (the view knows its rows by position).</summary>
    bool CanGetRow { get; }

    /// <summary>The number of rows, when known without reading them.</summary>
    long? GetRowCount();

    /// <summary>The row at <paramref name="position"/>, computed now.</summary>
    /// <exception cref="NotSupportedException">The view streams only (<see cref="CanGetRow"/> is false).</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="position"/> is outside [0, row count).</exception>
    DataViewRow GetRow(long position);

    /// <summary>Every row in order, each computed when the enumeration reaches it.</summary>
    IEnumerable<DataViewRow> GetRows();
}
