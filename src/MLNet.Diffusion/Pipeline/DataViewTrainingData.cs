using Microsoft.ML;
using Microsoft.ML.Data;
using MLNet.Diffusion.Training;
using TorchSharp;
using static TorchSharp.torch;

namespace MLNet.Diffusion.Pipeline;

/// <summary>
/// An ML.NET data view as training data, read through row cursors and getters batch by batch, so only a batch is in memory.
/// </summary>
/// <remarks>
/// The order of each pass: a view readable by position (<see cref="IRandomAccessDataView"/>) is visited in the exact
/// permutation <see cref="TrainingOrder.Permutation"/> gives; any other view is shuffled by its own cursor with a
/// <see cref="Random"/> seeded from (seed, pass) when it can shuffle (a cached view shuffles exactly), else through ML.NET's
/// pool shuffling (<c>ShuffleRows</c>, <see cref="ShufflePoolSize"/> rows). Either way the order depends only on (seed, pass),
/// so a pass reopened at a position skips the rows before it and sees what an uninterrupted run saw.
/// </remarks>
internal sealed class DataViewTrainingData : ITrainingData
{
    private readonly IDataView _view;
    private readonly IDataView _shuffled;
    private readonly DataViewSchema.Column _pixels;
    private readonly DataViewSchema.Column? _label;
    private readonly int _size;

    /// <param name="ml">The context (for pool shuffling).</param>
    /// <param name="view">The rows.</param>
    /// <param name="pixels">The column of float pixels [C, H, W] in [−1, 1], already checked.</param>
    /// <param name="label">The label column (a key or an integer column, already checked), or null.</param>
    /// <param name="channels">C.</param>
    /// <param name="imageSize">H = W.</param>
    /// <param name="numClasses">The number of classes, when labelled.</param>
    /// <param name="shufflePoolSize">The pool of ML.NET's pool shuffling, for views that cannot shuffle themselves.</param>
    public DataViewTrainingData(MLContext ml, IDataView view, DataViewSchema.Column pixels, DataViewSchema.Column? label, int channels, int imageSize,
        int? numClasses, int shufflePoolSize)
    {
        _view = view;
        _pixels = pixels;
        _label = label;
        (Channels, ImageSize, NumClasses, ShufflePoolSize) = (channels, imageSize, numClasses, shufflePoolSize);
        _size = channels * imageSize * imageSize;
        _shuffled = view is IRandomAccessDataView || view.CanShuffle ? view : ml.Data.ShuffleRows(view, seed: 0, shufflePoolSize, shuffleSource: false);
        Count = view is IRandomAccessDataView random ? random.RowCount : view.GetRowCount() ?? CountRows(view);
        if (Count == 0)
        {
            throw new ArgumentException("The training data has no rows.", nameof(view));
        }
    }

    public long Count { get; }

    public int Channels { get; }

    public int ImageSize { get; }

    public int? NumClasses { get; }

    /// <summary>The pool of ML.NET's pool shuffling, used for views that cannot shuffle themselves.</summary>
    public int ShufflePoolSize { get; }

    /// <summary>Whether passes are exact permutations (random access or a view that shuffles itself) rather than pool-shuffled.</summary>
    public bool ShufflesExactly => _view is IRandomAccessDataView || _view.CanShuffle;

    public ITrainingPass OpenPass(ulong seed, long pass, long start)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(start);
        var columns = _label is { } label ? new[] { _pixels, label } : [_pixels];
        DataViewRowCursor cursor;
        if (_view is IRandomAccessDataView random)
        {
            var order = TrainingOrder.Permutation(seed, pass, Count);
            cursor = random.GetRowCursor(columns, order[(int)Math.Min(start, order.Length)..]);
        }
        else
        {
            var passSeed = unchecked((int)(uint)((seed * 0x9E3779B97F4A7C15UL) ^ ((ulong)(pass + 1) * 0xD1B54A32D192ED03UL) >> 17));
            // The shuffling view has its own schema (without the columns it cannot cache, such as images): find ours by name.
            cursor = _shuffled.GetRowCursor(columns.Select(c => _shuffled.Schema[c.Name]), new Random(passSeed));
            for (var skipped = 0L; skipped < start && cursor.MoveNext(); skipped++)
            {
            }
        }

        return new Pass(this, cursor);
    }

    private static long CountRows(IDataView view)
    {
        using var cursor = view.GetRowCursor([]);
        var count = 0L;
        while (cursor.MoveNext())
        {
            count++;
        }

        return count;
    }

    /// <summary>A getter of 0-based class labels from a key (1-based, 0 = missing) or an integer column.</summary>
    internal static Func<long> LabelGetter(DataViewRow row, DataViewSchema.Column column)
    {
        if (!IntegerColumn.IsInteger(column.Type))
        {
            throw new ArgumentException($"Column '{column.Name}' holds {column.Type}, not a key or integer label.");
        }

        var read = IntegerColumn.Reader(row, column);
        if (column.Type is not KeyDataViewType)
        {
            return read;
        }

        return () =>
        {
            var raw = read();
            return raw != 0
                ? raw - 1
                : throw new InvalidDataException($"Row {row.Position}: the label in column '{column.Name}' is missing (key value 0): every training row needs a class.");
        };
    }

    private sealed class Pass : ITrainingPass
    {
        private readonly DataViewTrainingData _data;
        private readonly DataViewRowCursor _cursor;
        private readonly ValueGetter<VBuffer<float>> _pixels;
        private readonly Func<long>? _label;
        private VBuffer<float> _buffer;

        public Pass(DataViewTrainingData data, DataViewRowCursor cursor)
        {
            (_data, _cursor) = (data, cursor);
            _pixels = cursor.GetGetter<VBuffer<float>>(cursor.Schema[data._pixels.Name]);
            _label = data._label is { } label ? LabelGetter(cursor, cursor.Schema[label.Name]) : null;
        }

        public (Tensor Images, Tensor? Labels)? Read(int count)
        {
            ArgumentOutOfRangeException.ThrowIfNegativeOrZero(count);
            var size = _data._size;
            var pixels = new float[count * size];
            var labels = _label is null ? null : new long[count];
            var n = 0;
            while (n < count && Next())
            {
                if (_buffer.Length != size)
                {
                    throw new InvalidDataException($"Row {_cursor.Position}: column '{_data._pixels.Name}' has {_buffer.Length} values, not {size} ({_data.Channels}×{_data.ImageSize}×{_data.ImageSize}).");
                }

                _buffer.CopyTo(pixels.AsSpan(n * size, size));
                if (labels is not null)
                {
                    var label = _label!();
                    if (label < 0 || label >= _data.NumClasses)
                    {
                        throw new InvalidDataException($"Row {_cursor.Position}: label {label} in column '{_data._label!.Value.Name}' is outside 0 to {_data.NumClasses - 1}.");
                    }

                    labels[n] = label;
                }

                n++;
            }

            if (n == 0)
            {
                return null;
            }

            using var scope = torch.NewDisposeScope();
            var images = torch.tensor(pixels, [count, _data.Channels, _data.ImageSize, _data.ImageSize]);
            var labelTensor = labels is null ? null : torch.tensor(labels);
            if (n < count)
            {
                images = images.narrow(0, 0, n);
                labelTensor = labelTensor?.narrow(0, 0, n);
            }

            return (scope.MoveToOuter(images.contiguous()), labelTensor is null ? null : scope.MoveToOuter(labelTensor.contiguous()));
        }

        // The next row and its pixels, a read error naming the row and its path.
        private bool Next() => UnreadableRow.ReadNext(_cursor, _pixels, ref _buffer, _data._view, _data._pixels.Name);

        public void Dispose() => _cursor.Dispose();
    }
}
