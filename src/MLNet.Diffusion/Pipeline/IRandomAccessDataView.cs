using Microsoft.ML;

namespace MLNet.Diffusion.Pipeline;

/// <summary>
/// A data view whose rows can be read by position (the image-folder and IDX views): training visits them in an exact
/// permutation per pass, drawn from the run's seed, and a resumed run starts again at any position without reading the
/// rows before it.
/// </summary>
internal interface IRandomAccessDataView : IDataView
{
    /// <summary>The number of rows.</summary>
    long RowCount { get; }

    /// <summary>
    /// A cursor over the rows at <paramref name="positions"/>, in that order (a position may repeat). Its
    /// Position counts the rows it has visited (0, 1, ...); its row ids are the positions read.
    /// </summary>
    /// <param name="columnsNeeded">The columns whose getters will be asked for.</param>
    /// <param name="positions">Row positions, each in [0, <see cref="RowCount"/>).</param>
    DataViewRowCursor GetRowCursor(IEnumerable<DataViewSchema.Column> columnsNeeded, IReadOnlyList<long> positions);
}
