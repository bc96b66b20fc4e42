using MLNet.Diffusion.Data;

namespace MLNet.Diffusion.Pipelines;

/// <summary>The schema errors of estimators and transformers: each names the column, what was expected and what was found.</summary>
internal static class SchemaCheck
{
    // The parameter of GetOutputSchema and Fit that the errors are about (a field, not a literal: the methods here are helpers).
    private static readonly string s_parameter = "inputSchema";

    public static DataViewColumn Column(DataViewSchema schema, string name, string expected)
    {
        ArgumentNullException.ThrowIfNull(schema);
        var index = schema.TryGetIndex(name);
        return index >= 0
            ? schema[index]
            : throw new ArgumentException(
                $"Schema mismatch: input column '{name}' ({expected}) not found; the data has {(schema.Count == 0 ? "no columns" : string.Join(", ", schema.Select(c => $"'{c.Name}'")))}.",
                s_parameter);
    }

    public static ArgumentException Mismatch(string column, string expected, ColumnType actual, string? hint = null) =>
        new($"Schema mismatch for input column '{column}': expected {expected}, got {actual}.{(hint is null ? "" : " " + hint)}", s_parameter);
}
