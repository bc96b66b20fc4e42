using MLNet.Diffusion.Data;

namespace MLNet.Diffusion.Pipelines;

/// <summary>A transformer that maps one input column to one output column, row by row, keeping the view lazy.</summary>
internal abstract class RowTransformer(string outputColumnName, string inputColumnName) : ITransformer
{
    public string OutputColumnName { get; } = outputColumnName;

    public string InputColumnName { get; } = inputColumnName;

    public DataViewSchema GetOutputSchema(DataViewSchema inputSchema)
    {
        var column = SchemaCheck.Column(inputSchema, InputColumnName, Expected);
        return inputSchema.With(OutputColumnName, OutputType(column));
    }

    public IDataView Transform(IDataView input)
    {
        ArgumentNullException.ThrowIfNull(input);
        var schema = GetOutputSchema(input.Schema);
        var source = input.Schema.IndexOf(InputColumnName);
        var target = schema.IndexOf(OutputColumnName);
        var inputType = input.Schema[source].Type;
        return new MappedDataView(input, schema, row => row.ValuesWith(target, Map(row.GetValue(source), inputType, row.Position)));
    }

    /// <summary>What the input column must hold, for error messages.</summary>
    protected abstract string Expected { get; }

    /// <summary>Checks the input column and returns the output column's type.</summary>
    protected abstract ColumnType OutputType(DataViewColumn input);

    /// <summary>The output value for one input value.</summary>
    protected abstract object Map(object value, ColumnType inputType, long position);
}

/// <summary>An estimator with nothing to learn: fitting checks the schema and returns the transformer.</summary>
internal sealed class TrivialEstimator(ITransformer transformer) : IEstimator<ITransformer>
{
    public DataViewSchema GetOutputSchema(DataViewSchema inputSchema) => transformer.GetOutputSchema(inputSchema);

    public ITransformer Fit(IDataView input)
    {
        ArgumentNullException.ThrowIfNull(input);
        _ = transformer.GetOutputSchema(input.Schema);
        return transformer;
    }
}
