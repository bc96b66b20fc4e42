using System.Globalization;
using System.Reflection;
using Microsoft.ML;
using Microsoft.ML.Data;

namespace MLNet.Diffusion.Pipeline;

/// <summary>
/// What the trainer says when a row's pixels cannot be read (a file that is not an image, a truncated one): the row, the
/// value of the view's path column, the column read and the fix, in one <see cref="InvalidDataException"/>, instead of
/// ML.NET's <c>Splitter/consolidator worker encountered exception</c> around an error that names no file.
/// </summary>
/// <remarks>
/// ML.NET decodes upstream images on worker threads that read ahead of the cursor (and pool shuffling reads ahead again), so
/// where the error surfaces says nothing of which row raised it. The row is found by reading the view again, in order and on
/// one thread, up to the first row whose pixels fail: once, on the way to the error, and only as far as that row.
/// </remarks>
internal static class UnreadableRow
{
    /// <summary>Whether <paramref name="error"/>, raised while rows were read, is one to explain (not a cancellation, not memory).</summary>
    public static bool IsReadError(Exception error) => error is not (OperationCanceledException or OutOfMemoryException);

    /// <summary>
    /// The error to throw for <paramref name="error"/>, raised while <paramref name="view"/>'s column <paramref name="pixels"/>
    /// was read: it names the first row of the view whose pixels cannot be read, with its path where the view has a path column.
    /// </summary>
    /// <param name="view">The training view.</param>
    /// <param name="pixels">The pixel column (a Single vector).</param>
    /// <param name="error">What was raised; it becomes the inner exception.</param>
    public static InvalidDataException Explain(IDataView view, string pixels, Exception error)
    {
        var cause = Cause(error);
        var pathColumn = PathColumn(view.Schema);
        long? row = null;
        string? path = null;
        try
        {
            var columns = pathColumn is { } p ? new[] { view.Schema[pixels], p } : [view.Schema[pixels]];
            using var cursor = SequentialCursor(view, columns);
            var getter = cursor.GetGetter<VBuffer<float>>(cursor.Schema[pixels]);
            var buffer = default(VBuffer<float>);
            while (row is null && cursor.MoveNext())
            {
                try
                {
                    getter(ref buffer);
                }
                catch (Exception ex) when (IsReadError(ex))
                {
                    (row, cause, path) = (cursor.Position, Cause(ex), pathColumn is { } c ? PathOf(cursor, cursor.Schema[c.Name]) : null);
                }
            }
        }
        catch (Exception ex) when (IsReadError(ex))
        {
            // The view fails in its cursor rather than in a getter: the row stays unknown, the cause is the one first raised.
        }

        var where = row is { } r ? string.Create(CultureInfo.InvariantCulture, $"Row {r} of the training data") : "A row of the training data";
        var named = path is not null ? $" ({pathColumn!.Value.Name} '{path}')" : string.Empty;
        var fix = path is not null
            ? "Remove or repair that file (or leave its row out of the data)"
            : "Remove or repair that row's image (or leave the row out of the data)";
        var said = cause.Message.TrimEnd().EndsWith('.') ? cause.Message.TrimEnd() : cause.Message.TrimEnd() + ".";
        return new InvalidDataException(
            $"{where}{named} cannot be read: reading column '{pixels}' threw {cause.GetType().Name}: {said} {fix}, then train again. " +
            $"To find every unreadable row at once, check the images before training: read column '{pixels}' over the whole view once " +
            "with a row cursor, or decode the files themselves.",
            error);
    }

    /// <summary>
    /// The view's path column: a visible text column whose name contains "path" (any case), else its only visible text
    /// column; null when there is neither.
    /// </summary>
    public static DataViewSchema.Column? PathColumn(DataViewSchema schema)
    {
        var text = schema.Where(c => !c.IsHidden && c.Type is TextDataViewType).ToList();
        foreach (var column in text)
        {
            if (column.Name.Contains("path", StringComparison.OrdinalIgnoreCase))
            {
                return column;
            }
        }

        return text.Count == 1 ? text[0] : null;
    }

    /// <summary>
    /// The error behind ML.NET's wrappers: its worker threads' <c>Splitter/consolidator worker encountered exception</c> (an
    /// <see cref="InvalidOperationException"/> thrown by ML.NET around the real one), aggregate and reflection wrappers.
    /// </summary>
    public static Exception Cause(Exception error)
    {
        while (true)
        {
            if (error is AggregateException { InnerExceptions.Count: > 0 } aggregate)
            {
                error = aggregate.InnerExceptions[0];
            }
            else if (error.InnerException is { } inner && (error is TargetInvocationException
                || (error is InvalidOperationException && error.TargetSite?.DeclaringType?.Namespace?.StartsWith("Microsoft.ML", StringComparison.Ordinal) == true)))
            {
                error = inner;
            }
            else
            {
                return error;
            }
        }
    }

    // One cursor in row order on this thread: ML.NET splits GetRowCursor's work over worker threads that read ahead, and a
    // row's error then surfaces at another row; a set of one cursor is not split.
    public static DataViewRowCursor SequentialCursor(IDataView view, IEnumerable<DataViewSchema.Column> columns)
    {
        var cursors = view.GetRowCursorSet(columns, 1);
        if (cursors.Length == 1)
        {
            return cursors[0];
        }

        foreach (var cursor in cursors)
        {
            cursor.Dispose();
        }

        return view.GetRowCursor(columns);
    }

    /// <summary>
    /// Moves <paramref name="cursor"/> to the next row and reads its pixels into <paramref name="buffer"/>; false after the last
    /// row. An error reading them (an image that cannot be decoded, surfacing wherever ML.NET's read-ahead is) is
    /// <see cref="Explain"/>ed: it names the row and its path.
    /// </summary>
    public static bool ReadNext(DataViewRowCursor cursor, ValueGetter<VBuffer<float>> pixels, ref VBuffer<float> buffer, IDataView view, string pixelsColumn)
    {
        try
        {
            if (!cursor.MoveNext())
            {
                return false;
            }

            pixels(ref buffer);
            return true;
        }
        catch (Exception ex) when (IsReadError(ex))
        {
            throw Explain(view, pixelsColumn, ex);
        }
    }

    private static string? PathOf(DataViewRow row, DataViewSchema.Column column)
    {
        try
        {
            var value = default(ReadOnlyMemory<char>);
            row.GetGetter<ReadOnlyMemory<char>>(column)(ref value);
            return value.ToString();
        }
        catch (Exception ex) when (IsReadError(ex))
        {
            return null;
        }
    }
}
