using MLNet.Diffusion.Data;
namespace MLNet.Diffusion.Pipelines;

/// <summary>The columns of a data view, in order, each with a unique name.</summary>
public sealed class DataViewSchema : IReadOnlyList<DataViewColumn>
{
    private readonly DataViewColumn[] _columns;

    /// <summary>A schema of <paramref name="columns"/>.</summary>
    /// <exception cref="ArgumentException">Two columns share a name, or a name is empty.</exception>
    public DataViewSchema(IEnumerable<DataViewColumn> columns)
    {
        ArgumentNullException.ThrowIfNull(columns);
        _columns = columns.ToArray();
        foreach (var column in _columns)
        {
            if (string.IsNullOrEmpty(column.Name))
            {
                throw new ArgumentException("Column names must not be empty.", nameof(columns));
            }
        }

        if (_columns.GroupBy(c => c.Name, StringComparer.Ordinal).FirstOrDefault(g => g.Count() > 1) is { } duplicate)
        {
            throw new ArgumentException($"Column '{duplicate.Key}' appears twice in the schema.", nameof(columns));
        }
    }

    /// <summary>The number of columns.</summary>
    public int Count => _columns.Length;

    /// <summary>The column at <paramref name="index"/>.</summary>
    public DataViewColumn this[int index] => _columns[index];

    /// <summary>The column named <paramref name="name"/>.</summary>
    /// <exception cref="ArgumentException">There is no such column; the message lists those there are.</exception>
    public DataViewColumn this[string name] => _columns[IndexOf(name)];

    /// <summary>The index of column <paramref name="name"/>, or −1.</summary>
    public int TryGetIndex(string name) => Array.FindIndex(_columns, c => string.Equals(c.Name, name, StringComparison.Ordinal));

    /// <summary>The index of column <paramref name="name"/>.</summary>
    /// <exception cref="ArgumentException">There is no such column; the message lists those there are.</exception>
    public int IndexOf(string name)
    {
        ArgumentNullException.ThrowIfNull(name);
        var index = TryGetIndex(name);
        return index >= 0
            ? index
            : throw new ArgumentException($"Input column '{name}' not found; the data has {(Count == 0 ? "no columns" : string.Join(", ", _columns.Select(c => $"'{c.Name}'")))}.", nameof(name));
    }

    /// <summary>This schema with column <paramref name="name"/> set to <paramref name="type"/>: replaced in place, or added at the end.</summary>
    public DataViewSchema With(string name, ColumnType type)
    {
        var column = new DataViewColumn(name, type);
        var index = TryGetIndex(name);
        return new DataViewSchema(index < 0 ? _columns.Append(column) : _columns.Select((c, i) => i == index ? column : c));
    }

    /// <inheritdoc/>
    public IEnumerator<DataViewColumn> GetEnumerator() => ((IEnumerable<DataViewColumn>)_columns).GetEnumerator();

    /// <inheritdoc/>
    System.Collections.IEnumerator System.Collections.IEnumerable.GetEnumerator() => GetEnumerator();

    /// <summary>Lists the columns, e.g. <c>Path: Text, Label: Key(3)</c>.</summary>
    public override string ToString() => string.Join(", ", _columns.Select(c => c.ToString()));
}
