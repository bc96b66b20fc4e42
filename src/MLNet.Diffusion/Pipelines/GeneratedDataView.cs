using MLNet.Diffusion.Data;

namespace MLNet.Diffusion.Pipelines;

/// <summary>The rows of a source view with generated images added, made <c>batchSize</c> rows at a time as the rows are read.</summary>
internal sealed class GeneratedDataView(IDataView source, DataViewSchema schema, int batchSize, Func<IReadOnlyList<DataViewRow>, List<object[]>> generate)
    : DataViewBase(schema)
{
    public override bool CanGetRow => source.CanGetRow;

    public override long? GetRowCount() => source.GetRowCount();

    public override IEnumerable<DataViewRow> GetRows()
    {
        foreach (var chunk in source.GetRows().Chunk(batchSize))
        {
            var values = generate(chunk);
            for (var i = 0; i < chunk.Length; i++)
            {
                yield return new DataViewRow(Schema, chunk[i].Position, values[i]);
            }
        }
    }

    protected override object[] ValuesAt(long position) => generate([source.GetRow(position)])[0];
}
