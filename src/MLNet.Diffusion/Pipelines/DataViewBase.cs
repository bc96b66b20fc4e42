using MLNet.Diffusion.Data;
namespace MLNet.Diffusion.Pipelines;

/// <summary>What every view shares: the schema, bounds checks and enumeration by position where there is random access.</summary>
internal abstract class DataViewBase(DataViewSchema schema) : IDataView
{
    public DataViewSchema Schema { get; } = schema;

    public abstract bool CanGetRow { get; }

    public abstract long? GetRowCount();

    public DataViewRow GetRow(long position)
    {
        if (!CanGetRow)
        {
            throw new NotSupportedException("This data view streams its rows and has no access by position: cache it first (Data.Cache).");
        }

        var count = GetRowCount()!.Value;
        if (position < 0 || position >= count)
        {
            throw new ArgumentOutOfRangeException(nameof(position), position, $"The view has {count} rows.");
        }

        return new DataViewRow(Schema, position, ValuesAt(position));
    }

    public virtual IEnumerable<DataViewRow> GetRows()
    {
        var count = GetRowCount()!.Value;
        for (long i = 0; i < count; i++)
        {
            yield return GetRow(i);
        }
    }

    /// <summary>The values of the row at <paramref name="position"/> (in bounds), for views with random access.</summary>
    protected virtual object[] ValuesAt(long position) => throw new NotSupportedException();
}

/// <summary>A view whose rows are computed from their position: folder listings, IDX files, lists, caches, shuffles.</summary>
internal sealed class RandomAccessDataView(DataViewSchema schema, long count, Func<long, object[]> values) : DataViewBase(schema)
{
    public override bool CanGetRow => true;

    public override long? GetRowCount() => count;

    protected override object[] ValuesAt(long position) => values(position);
}

/// <summary>A view over a sequence that can only be read from the start.</summary>
internal sealed class StreamingDataView(DataViewSchema schema, Func<IEnumerable<object[]>> rows) : DataViewBase(schema)
{
    public override bool CanGetRow => false;

    public override long? GetRowCount() => null;

    public override IEnumerable<DataViewRow> GetRows()
    {
        long position = 0;
        foreach (var values in rows())
        {
            yield return new DataViewRow(Schema, position++, values);
        }
    }
}

/// <summary>A view whose rows are its source's rows mapped one by one; it keeps the source's random access and count.</summary>
internal sealed class MappedDataView(IDataView source, DataViewSchema schema, Func<DataViewRow, object[]> map) : DataViewBase(schema)
{
    public override bool CanGetRow => source.CanGetRow;

    public override long? GetRowCount() => source.GetRowCount();

    public override IEnumerable<DataViewRow> GetRows() =>
        source.GetRows().Select(row => new DataViewRow(Schema, row.Position, map(row)));

    protected override object[] ValuesAt(long position) => map(source.GetRow(position));
}
