using Microsoft.ML;
using Microsoft.ML.Data;

namespace MLNet.Diffusion.Pipeline;

/// <summary>
/// The cursor machinery shared by the data views whose rows can be read by position (<see cref="ImageFolderDataView"/>,
/// <see cref="IdxDataView"/>): a fixed schema, a row count, and one "fill this column's value at row r" callback per
/// column, called only when a cursor's getter is (so a cursor that does not ask for a column reads nothing of it).
/// </summary>
/// <remarks>
/// A cursor visits rows in one of three orders: 0, 1, ..., <see cref="RowCount"/> − 1 (no <see cref="Random"/>);
/// a permutation drawn from a <see cref="Random"/> by <see cref="Permutation"/>, so the same seed gives the same order;
/// or the positions a caller lists (<see cref="GetRowCursor(IEnumerable{DataViewSchema.Column}, IReadOnlyList{long})"/>).
/// Its row ids are the positions read, so a shuffled cursor and an ordered one give each row the same id.
/// Views and cursors hold no row data; getters write into the caller's buffers.
/// </remarks>
internal abstract class PositionalDataView : IRandomAccessDataView
{
    // ML.NET's AnnotationUtils.Kinds.KeyValues (internal to ML.NET): the annotation MapKeyToValue reads.
    private const string KeyValuesKind = "KeyValues";

    private readonly Delegate[] _fillers;

    /// <summary>A view of <paramref name="rowCount"/> rows with <paramref name="columns"/>, in that order.</summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="rowCount"/> is negative or more than <see cref="Array.MaxLength"/>.</exception>
    /// <exception cref="ArgumentException">No columns, or two with the same name.</exception>
    protected PositionalDataView(long rowCount, IReadOnlyList<ColumnSource> columns)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(rowCount);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(rowCount, Array.MaxLength);
        ArgumentNullException.ThrowIfNull(columns);
        if (columns.Count == 0)
        {
            throw new ArgumentException("A data view needs at least one column.", nameof(columns));
        }

        var builder = new DataViewSchema.Builder();
        var names = new HashSet<string>(StringComparer.Ordinal);
        foreach (var column in columns)
        {
            if (!names.Add(column.Name))
            {
                throw new ArgumentException($"Two columns are named '{column.Name}': give each column its own name.", nameof(columns));
            }

            builder.AddColumn(column.Name, column.Type, column.Annotations);
        }

        Schema = builder.ToSchema();
        RowCount = rowCount;
        _fillers = columns.Select(c => c.Fill).ToArray();
    }

    /// <summary>Fills <paramref name="value"/> with one column's value at row position <paramref name="row"/>.</summary>
    /// <param name="row">The row position, in [0, <see cref="RowCount"/>).</param>
    /// <param name="value">The caller's value; a vector column reuses its buffer.</param>
    protected delegate void RowFiller<T>(long row, ref T value);

    /// <inheritdoc/>
    public DataViewSchema Schema { get; }

    /// <summary>True: any order of rows can be read.</summary>
    public bool CanShuffle => true;

    /// <inheritdoc/>
    public long RowCount { get; }

    /// <summary>The row count, always known.</summary>
    public long? GetRowCount() => RowCount;

    /// <summary>
    /// A cursor over every row: in order when <paramref name="rand"/> is null, otherwise in the permutation
    /// <see cref="Permutation"/> draws from it (the same seeded <see cref="Random"/> gives the same order).
    /// </summary>
    /// <param name="columnsNeeded">The columns whose getters will be asked for; others throw.</param>
    /// <param name="rand">The source of the shuffle, or null for the stored order.</param>
    /// <exception cref="ArgumentException">A column is not one of this view's.</exception>
    public DataViewRowCursor GetRowCursor(IEnumerable<DataViewSchema.Column> columnsNeeded, Random? rand = null) =>
        new Cursor(this, ActiveColumns(columnsNeeded), rand is null ? null : Permutation(RowCount, rand));

    /// <summary>One cursor, as <see cref="GetRowCursor(IEnumerable{DataViewSchema.Column}, Random?)"/> gives it: the rows are read in one stream.</summary>
    /// <param name="columnsNeeded">The columns whose getters will be asked for.</param>
    /// <param name="n">The suggested number of cursors; ignored.</param>
    /// <param name="rand">The source of the shuffle, or null for the stored order.</param>
    public DataViewRowCursor[] GetRowCursorSet(IEnumerable<DataViewSchema.Column> columnsNeeded, int n, Random? rand = null) =>
        [GetRowCursor(columnsNeeded, rand)];

    /// <inheritdoc/>
    /// <exception cref="ArgumentException">A column is not one of this view's.</exception>
    /// <exception cref="ArgumentOutOfRangeException">A position is outside [0, <see cref="RowCount"/>).</exception>
    public DataViewRowCursor GetRowCursor(IEnumerable<DataViewSchema.Column> columnsNeeded, IReadOnlyList<long> positions)
    {
        ArgumentNullException.ThrowIfNull(positions);
        for (var i = 0; i < positions.Count; i++)
        {
            CheckPosition(positions[i], i, nameof(positions));
        }

        return new Cursor(this, ActiveColumns(columnsNeeded), positions);
    }

    /// <summary>
    /// A random permutation of 0 .. <paramref name="count"/> − 1: a Fisher–Yates shuffle from the last element down,
    /// swapping element i with element <c>rand.Next(i + 1)</c>, so the same seeded <paramref name="rand"/> gives the
    /// same permutation.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="count"/> is negative or more than <see cref="Array.MaxLength"/>.</exception>
    internal static long[] Permutation(long count, Random rand)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(count);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(count, Array.MaxLength);
        ArgumentNullException.ThrowIfNull(rand);
        var order = new long[count];
        for (var i = 0; i < order.Length; i++)
        {
            order[i] = i;
        }

        for (var i = order.Length - 1; i > 0; i--)
        {
            var j = rand.Next(i + 1);
            (order[i], order[j]) = (order[j], order[i]);
        }

        return order;
    }

    /// <summary>A column of this view: its name, type, annotations, and the callback that fills its values.</summary>
    protected sealed class ColumnSource
    {
        private ColumnSource(string name, DataViewType type, DataViewSchema.Annotations? annotations, Delegate fill)
        {
            (Name, Type, Annotations, Fill) = (name, type, annotations, fill);
        }

        /// <summary>The column's name.</summary>
        public string Name { get; }

        /// <summary>The column's type.</summary>
        public DataViewType Type { get; }

        /// <summary>The column's annotations, or null for none.</summary>
        public DataViewSchema.Annotations? Annotations { get; }

        /// <summary>The <see cref="RowFiller{T}"/> for the column's raw type.</summary>
        public Delegate Fill { get; }

        /// <summary>A column of <paramref name="type"/>, whose values <paramref name="fill"/> writes.</summary>
        /// <exception cref="ArgumentException">The name is empty, or <typeparamref name="T"/> is not the type's raw type.</exception>
        public static ColumnSource Create<T>(string name, DataViewType type, RowFiller<T> fill, DataViewSchema.Annotations? annotations = null)
        {
            ArgumentException.ThrowIfNullOrWhiteSpace(name);
            ArgumentNullException.ThrowIfNull(type);
            ArgumentNullException.ThrowIfNull(fill);
            if (type.RawType != typeof(T))
            {
                throw new ArgumentException($"Column '{name}' of type {type} holds {type.RawType.Name} values, not {typeof(T).Name}.", nameof(fill));
            }

            return new ColumnSource(name, type, annotations, fill);
        }

        /// <summary>
        /// A key column of type U4 (raw values 1 .. <paramref name="count"/>, 0 for missing, as ML.NET keys are), with the
        /// standard KeyValues annotation holding <paramref name="classNames"/> when given, so MapKeyToValue gives names.
        /// </summary>
        /// <exception cref="ArgumentException">The count is not positive, or the names are not <paramref name="count"/>.</exception>
        public static ColumnSource Key(string name, int count, IReadOnlyList<string>? classNames, RowFiller<uint> fill)
        {
            ArgumentOutOfRangeException.ThrowIfNegativeOrZero(count);
            if (classNames is not null && classNames.Count != count)
            {
                throw new ArgumentException($"Key column '{name}' has {count} values but {classNames.Count} names were given.", nameof(classNames));
            }

            DataViewSchema.Annotations? annotations = null;
            if (classNames is not null)
            {
                var names = classNames.Select(n => n.AsMemory()).ToArray();
                var builder = new DataViewSchema.Annotations.Builder();
                ValueGetter<VBuffer<ReadOnlyMemory<char>>> getter = (ref VBuffer<ReadOnlyMemory<char>> value) =>
                    new VBuffer<ReadOnlyMemory<char>>(names.Length, names).CopyTo(ref value);
                builder.Add(KeyValuesKind, new VectorDataViewType(TextDataViewType.Instance, names.Length), getter);
                annotations = builder.ToAnnotations();
            }

            return Create(name, new KeyDataViewType(typeof(uint), count), fill, annotations);
        }
    }

    private bool[] ActiveColumns(IEnumerable<DataViewSchema.Column> columnsNeeded)
    {
        ArgumentNullException.ThrowIfNull(columnsNeeded);
        var active = new bool[Schema.Count];
        foreach (var column in columnsNeeded)
        {
            active[CheckColumn(column, nameof(columnsNeeded))] = true;
        }

        return active;
    }

    private int CheckColumn(DataViewSchema.Column column, string parameter)
    {
        if (column.Index < 0 || column.Index >= Schema.Count || Schema[column.Index].Name != column.Name)
        {
            throw new ArgumentException(
                $"Column '{column.Name}' (index {column.Index}) is not a column of this data view, whose columns are {Schema}.", parameter);
        }

        return column.Index;
    }

    private void CheckPosition(long position, long index, string parameter)
    {
        if (position < 0 || position >= RowCount)
        {
            throw new ArgumentOutOfRangeException(parameter, position,
                $"Position {position} (at index {index}) is outside the view's {RowCount} rows [0, {RowCount}).");
        }
    }

    private sealed class Cursor : DataViewRowCursor
    {
        private readonly PositionalDataView _parent;
        private readonly bool[] _active;
        private readonly IReadOnlyList<long>? _positions;
        private readonly long _count;
        private long _position = -1;
        private long _row = -1;
        private bool _done;

        public Cursor(PositionalDataView parent, bool[] active, IReadOnlyList<long>? positions)
        {
            (_parent, _active, _positions) = (parent, active, positions);
            _count = positions?.Count ?? parent.RowCount;
        }

        public override DataViewSchema Schema => _parent.Schema;

        public override long Position => _position;

        public override long Batch => 0;

        public override bool MoveNext()
        {
            if (_done || _position + 1 >= _count)
            {
                (_done, _position, _row) = (true, -1, -1);
                return false;
            }

            _position++;
            _row = _positions?[(int)_position] ?? _position;

            // The caller's list could have changed since it was checked.
            _parent.CheckPosition(_row, _position, "positions");
            return true;
        }

        public override ValueGetter<DataViewRowId> GetIdGetter() =>
            (ref DataViewRowId value) => value = new DataViewRowId((ulong)CurrentRow(), 0);

        public override bool IsColumnActive(DataViewSchema.Column column) => _active[_parent.CheckColumn(column, nameof(column))];

        public override ValueGetter<TValue> GetGetter<TValue>(DataViewSchema.Column column)
        {
            var index = _parent.CheckColumn(column, nameof(column));
            if (!_active[index])
            {
                throw new InvalidOperationException(
                    $"Column '{column.Name}' is not active in this cursor: include it in the columns needed when the cursor is made.");
            }

            if (_parent._fillers[index] is not RowFiller<TValue> fill)
            {
                throw new InvalidOperationException(
                    $"Invalid TValue in GetGetter for column '{column.Name}': '{typeof(TValue)}', expected type '{column.Type.RawType}' " +
                    $"(the column is {column.Type}).");
            }

            return (ref TValue value) => fill(CurrentRow(), ref value);
        }

        protected override void Dispose(bool disposing)
        {
            (_done, _position, _row) = (true, -1, -1);
            base.Dispose(disposing);
        }

        private long CurrentRow() => _row >= 0
            ? _row
            : throw new InvalidOperationException(
                _done ? "The cursor has no current row: it has ended or was disposed." : "The cursor has no current row yet: call MoveNext first.");
    }
}
