using Microsoft.ML;
using Microsoft.ML.Data;

namespace MLNet.Diffusion.Pipeline;

/// <summary>
/// The view <see cref="DiffusionModel.Transform"/> returns for a view of seeds (and <see cref="ImageEditingTransformer.Transform"/> for a
/// view of images): the input's rows plus generated image and pixel columns, computed when first asked for, a batch of rows at a time.
/// </summary>
/// <remarks>
/// A cursor reads the input through two cursors in the same (unshuffled) order: one for the columns the caller wants, and one
/// ahead of it that reads only seeds and labels, so that the images of the next <c>batchSize</c> rows are generated in one call.
/// </remarks>
internal sealed class GeneratedDataView(IDataView input, GenerationColumns columns, int batchSize) : IDataView
{
    public bool CanShuffle => false;

    public DataViewSchema Schema => columns.OutputSchema;

    public long? GetRowCount() => input.GetRowCount();

    public DataViewRowCursor GetRowCursor(IEnumerable<DataViewSchema.Column> columnsNeeded, Random? rand = null)
    {
        ArgumentNullException.ThrowIfNull(columnsNeeded);
        var needed = columnsNeeded.ToList();
        var inputCount = columns.InputSchema.Count;
        var inputNeeded = needed.Where(c => c.Index < inputCount).Select(c => columns.InputSchema[c.Index]);
        if (columns.Label is { } label && needed.Any(c => c.Index == columns.ClassIndex))
        {
            // The class column is the row's label as a key: the main cursor reads it.
            inputNeeded = inputNeeded.Append(label).DistinctBy(c => c.Index);
        }

        var generated = needed.Any(c => c.Index >= inputCount);
        return new Cursor(this, input.GetRowCursor(inputNeeded), generated ? input.GetRowCursor(columns.Needed) : null, needed);
    }

    public DataViewRowCursor[] GetRowCursorSet(IEnumerable<DataViewSchema.Column> columnsNeeded, int n, Random? rand = null) =>
        [GetRowCursor(columnsNeeded, rand)];

    private sealed class Cursor : DataViewRowCursor
    {
        private readonly GeneratedDataView _view;
        private readonly DataViewRowCursor _main;
        private readonly DataViewRowCursor? _ahead;
        private readonly Func<ulong>? _seed;
        private readonly Func<int>? _label;
        private readonly Func<float[]>? _image;
        private readonly Func<float[]>? _mask;
        private readonly bool[] _active;
        private readonly int _size;
        private long _batchStart = -1;
        private int _batchCount;
        private float[] _batch = [];

        public Cursor(GeneratedDataView view, DataViewRowCursor main, DataViewRowCursor? ahead, List<DataViewSchema.Column> needed)
        {
            (_view, _main, _ahead) = (view, main, ahead);
            _active = new bool[view.Schema.Count];
            foreach (var column in needed)
            {
                _active[column.Index] = true;
            }

            if (ahead is not null)
            {
                _seed = view.Columns.SeedGetter(ahead);
                _label = view.Columns.LabelGetter(ahead);
                _image = view.Columns.ImageGetter(ahead);
                _mask = view.Columns.MaskGetter(ahead);
            }

            var config = view.Columns.Model.Config;
            _size = config.InChannels * config.ImageSize * config.ImageSize;
        }

        public override long Position => _main.Position;

        public override long Batch => _main.Batch;

        public override DataViewSchema Schema => _view.Schema;

        public override ValueGetter<DataViewRowId> GetIdGetter() => _main.GetIdGetter();

        public override bool IsColumnActive(DataViewSchema.Column column) => _active[column.Index];

        public override bool MoveNext() => _main.MoveNext();

        public override ValueGetter<TValue> GetGetter<TValue>(DataViewSchema.Column column)
        {
            var columns = _view.Columns;
            if (!_active[column.Index])
            {
                throw new InvalidOperationException($"Column '{column.Name}' is not active in this cursor: ask for it when creating the cursor.");
            }

            if (column.Index < columns.InputSchema.Count)
            {
                return _main.GetGetter<TValue>(columns.InputSchema[column.Index]);
            }

            return GenerationGetters.Create<TValue>(columns, column, () => Current(), () => columns.LabelGetter(_main)!);
        }

        protected override void Dispose(bool disposing)
        {
            if (disposing)
            {
                _main.Dispose();
                _ahead?.Dispose();
            }

            base.Dispose(disposing);
        }

        // The generated pixels of the main cursor's row, generating the batch that starts at it when needed.
        private ReadOnlyMemory<float> Current()
        {
            var position = _main.Position;
            if (position < 0)
            {
                throw new InvalidOperationException("The cursor is not on a row: call MoveNext first.");
            }

            if (position < _batchStart || position >= _batchStart + _batchCount)
            {
                Fill(position);
            }

            return _batch.AsMemory((int)(position - _batchStart) * _size, _size);
        }

        private void Fill(long position)
        {
            var ahead = _ahead!;
            while (ahead.Position < position)
            {
                if (!ahead.MoveNext())
                {
                    throw new InvalidOperationException("The input view gave fewer rows to a second cursor than to the first: it must read the same rows in the same order every time.");
                }
            }

            var seeds = new List<ulong>(_view.BatchSize);
            var labels = _label is null ? null : new List<int>(_view.BatchSize);
            var images = _image is null ? null : new List<float>();
            var masks = _mask is null ? null : new List<float>();
            do
            {
                seeds.Add(_seed!());
                labels?.Add(_label!());
                images?.AddRange(_image!());
                masks?.AddRange(_mask!());
            }
            while (seeds.Count < _view.BatchSize && ahead.MoveNext());

            _batch = _view.Columns.Compute([.. seeds], labels?.ToArray(), images?.ToArray(), masks?.ToArray());
            (_batchStart, _batchCount) = (position, seeds.Count);
        }
    }

    private GenerationColumns Columns => columns;

    private int BatchSize => batchSize;
}
