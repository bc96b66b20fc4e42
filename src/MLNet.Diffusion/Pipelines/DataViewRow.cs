using MLNet.Diffusion.Data;
namespace MLNet.Diffusion.Pipelines;

/// <summary>One row of a data view: a value for each column of its <see cref="Schema"/>.</summary>
public sealed class DataViewRow
{
    private readonly object[] _values;

    internal DataViewRow(DataViewSchema schema, long position, object[] values)
    {
        (Schema, Position, _values) = (schema, position, values);
    }

    /// <summary>The row's columns.</summary>
    public DataViewSchema Schema { get; }

    /// <summary>The row's position in its view (0-based).</summary>
    public long Position { get; }

    /// <summary>The value of column <paramref name="index"/>.</summary>
    public object GetValue(int index) => _values[index];

    /// <summary>The value of column <paramref name="name"/>, as <typeparamref name="T"/>.</summary>
    /// <exception cref="ArgumentException">No such column.</exception>
    /// <exception cref="InvalidCastException">The column's values are not <typeparamref name="T"/>; the message names the column's type.</exception>
    public T GetValue<T>(string name)
    {
        var index = Schema.IndexOf(name);
        return _values[index] is T value
            ? value
            : throw new InvalidCastException($"Column '{name}' holds {Schema[index].Type} values ({Schema[index].Type.ValueType.Name}), not {typeof(T).Name}.");
    }

    /// <summary>A copy of the values with column <paramref name="index"/> set (or appended when it equals the count).</summary>
    internal object[] ValuesWith(int index, object value)
    {
        var values = new object[Math.Max(_values.Length, index + 1)];
        _values.CopyTo(values, 0);
        values[index] = value;
        return values;
    }
}
