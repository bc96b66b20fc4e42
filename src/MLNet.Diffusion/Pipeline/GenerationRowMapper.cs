using Microsoft.ML;
using Microsoft.ML.Data;

namespace MLNet.Diffusion.Pipeline;

/// <summary>
/// <see cref="DiffusionModel.GetRowToRowMapper"/>: generation one row at a time (what ML.NET's <c>PredictionEngine</c> calls), or a
/// pass-through for a schema of training rows.
/// </summary>
internal sealed class GenerationRowMapper : IRowToRowMapper
{
    private readonly GenerationColumns? _columns;

    public GenerationRowMapper(GenerationColumns columns) => (_columns, InputSchema, OutputSchema) = (columns, columns.InputSchema, columns.OutputSchema);

    public GenerationRowMapper(DataViewSchema passThrough) => (InputSchema, OutputSchema) = (passThrough, passThrough);

    public DataViewSchema InputSchema { get; }

    public DataViewSchema OutputSchema { get; }

    public IEnumerable<DataViewSchema.Column> GetDependencies(IEnumerable<DataViewSchema.Column> dependingColumns)
    {
        ArgumentNullException.ThrowIfNull(dependingColumns);
        var columns = dependingColumns.ToList();
        var inputs = columns.Where(c => c.Index < InputSchema.Count).Select(c => InputSchema[c.Index]);
        return _columns is not null && columns.Any(c => c.Index >= InputSchema.Count)
            ? inputs.Concat(_columns.Needed).DistinctBy(c => c.Index).ToList()
            : inputs.ToList();
    }

    public DataViewRow GetRow(DataViewRow input, IEnumerable<DataViewSchema.Column> activeColumns)
    {
        ArgumentNullException.ThrowIfNull(input);
        ArgumentNullException.ThrowIfNull(activeColumns);
        return _columns is null ? input : new Row(_columns, input, activeColumns);
    }

    private sealed class Row : DataViewRow
    {
        private readonly GenerationColumns _columns;
        private readonly DataViewRow _input;
        private readonly bool[] _active;
        private readonly Func<ulong> _seed;
        private readonly Func<int>? _label;
        private readonly Func<float[]>? _image;
        private readonly Func<float[]>? _mask;
        private (long Position, ulong Seed, int Label) _key = (-1, 0, -1);
        private (float[]? Image, float[]? Mask) _inputs;
        private float[] _pixels = [];

        public Row(GenerationColumns columns, DataViewRow input, IEnumerable<DataViewSchema.Column> active)
        {
            (_columns, _input) = (columns, input);
            _active = new bool[columns.OutputSchema.Count];
            foreach (var column in active)
            {
                _active[column.Index] = true;
            }

            _seed = columns.SeedGetter(input);
            _label = columns.LabelGetter(input);
            _image = columns.ImageGetter(input);
            _mask = columns.MaskGetter(input);
        }

        public override long Position => _input.Position;

        public override long Batch => _input.Batch;

        public override DataViewSchema Schema => _columns.OutputSchema;

        public override ValueGetter<DataViewRowId> GetIdGetter() => _input.GetIdGetter();

        public override bool IsColumnActive(DataViewSchema.Column column) => _active[column.Index];

        public override ValueGetter<TValue> GetGetter<TValue>(DataViewSchema.Column column)
        {
            return column.Index < _columns.InputSchema.Count
                ? _input.GetGetter<TValue>(_columns.InputSchema[column.Index])
                : GenerationGetters.Create<TValue>(_columns, column, Current, () => _label!);
        }

        // The row's pixels, computed again only when the row (its position, seed, label, image or mask) changed: a PredictionEngine
        // reuses one row for every example.
        private ReadOnlyMemory<float> Current()
        {
            var key = (_input.Position, _seed(), _label?.Invoke() ?? -1);
            (float[]? Image, float[]? Mask) inputs = (_image?.Invoke(), _mask?.Invoke());
            if (key != _key || !Same(inputs.Image, _inputs.Image) || !Same(inputs.Mask, _inputs.Mask))
            {
                _pixels = _columns.Compute([key.Item2], _label is null ? null : [key.Item3], inputs.Image, inputs.Mask);
                (_key, _inputs) = (key, inputs);
            }

            return _pixels;
        }

        private static bool Same(float[]? a, float[]? b) => a is null ? b is null : b is not null && a.AsSpan().SequenceEqual(b);
    }
}
