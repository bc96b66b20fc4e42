using MLNet.Diffusion.Data;
using TorchSharp;
using static TorchSharp.torch;
using MLNet.Diffusion.Training;

namespace MLNet.Diffusion.Pipelines;

/// <summary>A data view as <see cref="ITrainingData"/>: each batch reads its rows by position, so only the batch is in memory.</summary>
internal sealed class DataViewTrainingData : ITrainingData
{
    private readonly IDataView _view;
    private readonly int _pixels;
    private readonly int _label;
    private readonly int _size;

    public DataViewTrainingData(IDataView view, string pixelColumnName, string? labelColumnName)
    {
        DataViews.RequireRandomAccess(view, "Training");
        _view = view;
        _pixels = view.Schema.IndexOf(pixelColumnName);
        var dims = view.Schema[_pixels].Type.Dimensions!;
        (Channels, ImageSize) = (dims[0], dims[1]);
        _size = Channels * ImageSize * ImageSize;
        _label = labelColumnName is null ? -1 : view.Schema.IndexOf(labelColumnName);
        NumClasses = _label < 0 ? null : view.Schema[_label].Type.KeyCount;
        Count = view.GetRowCount()!.Value;
        if (Count == 0)
        {
            throw new ArgumentException("The training data has no rows.", nameof(view));
        }
    }

    public long Count { get; }

    public int Channels { get; }

    public int ImageSize { get; }

    public int? NumClasses { get; }

    public ITrainingPass OpenPass(ulong seed, long pass, long start) =>
        new PermutedPass(TrainingOrder.Permutation(seed, pass, Count), start, GetBatch);

    public (Tensor Images, Tensor? Labels) GetBatch(IReadOnlyList<long> indices)
    {
        var pixels = new float[indices.Count * _size];
        var labels = _label < 0 ? null : new long[indices.Count];
        for (var i = 0; i < indices.Count; i++)
        {
            var row = _view.GetRow(indices[i]);
            var values = (float[])row.GetValue(_pixels);
            if (values.Length != _size)
            {
                throw new InvalidDataException($"Row {indices[i]}: column '{_view.Schema[_pixels].Name}' has {values.Length} values, not {_size}.");
            }

            values.CopyTo(pixels, i * _size);
            if (labels is not null)
            {
                labels[i] = (long)row.GetValue(_label);
            }
        }

        using var scope = torch.NewDisposeScope();
        var images = scope.MoveToOuter(torch.tensor(pixels, [indices.Count, Channels, ImageSize, ImageSize]));
        return (images, labels is null ? null : scope.MoveToOuter(torch.tensor(labels)));
    }
}
