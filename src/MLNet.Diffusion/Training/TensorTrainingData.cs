using MLNet.Diffusion.Engine;
using TorchSharp;
using static TorchSharp.torch;

namespace MLNet.Diffusion.Training;

/// <summary>Training data held in memory as one image tensor [N, C, H, W] in [−1, 1] and optional int64 labels [N].</summary>
public sealed class TensorTrainingData : ITrainingData, IDisposable
{
    private readonly Tensor _images;
    private readonly Tensor? _labels;

    /// <summary>Wraps copies of <paramref name="images"/> and <paramref name="labels"/>.</summary>
    public TensorTrainingData(Tensor images, Tensor? labels = null, int? numClasses = null)
    {
        ArgumentNullException.ThrowIfNull(images);
        var shape = images.shape;
        if (shape.Length != 4 || shape[2] != shape[3] || shape[0] == 0)
        {
            throw new ArgumentException($"Images must be a non-empty [N, C, H, H] tensor, not [{string.Join(", ", shape)}].", nameof(images));
        }

        if (labels is not null)
        {
            if (labels.Dimensions != 1 || labels.size(0) != shape[0] || labels.dtype != ScalarType.Int64)
            {
                throw new ArgumentException($"Labels must be int64 [{shape[0]}], not {labels.dtype.Name()} [{string.Join(", ", labels.shape)}].", nameof(labels));
            }

            long min, max;
            using (torch.NewDisposeScope())
            {
                (min, max) = (labels.min().ToInt64(), labels.max().ToInt64());
            }

            NumClasses = numClasses ?? (int)(max + 1);
            if (min < 0 || max >= NumClasses)
            {
                throw new ArgumentException($"Labels run from {min} to {max}, outside [0, {NumClasses - 1}].", nameof(labels));
            }
        }

        using (torch.no_grad())
        using (var scope = torch.NewDisposeScope())
        {
            _images = scope.Detach(images.to(ScalarType.Float32).contiguous());
            _labels = labels is null ? null : scope.Detach(labels.clone());
        }

        (Count, Channels, ImageSize) = (shape[0], (int)shape[1], (int)shape[2]);
    }

    /// <inheritdoc/>
    public long Count { get; }

    /// <inheritdoc/>
    public int Channels { get; }

    /// <inheritdoc/>
    public int ImageSize { get; }

    /// <inheritdoc/>
    public int? NumClasses { get; }

    /// <inheritdoc/>
    public ITrainingPass OpenPass(ulong seed, long pass, long start)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(start);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(start, Count);
        return new PermutedPass(TrainingOrder.Permutation(seed, pass, Count), start, GetBatch);
    }

    /// <summary>The examples at <paramref name="indices"/>: images [B, C, H, W] and, when labelled, int64 labels [B].</summary>
    public (Tensor Images, Tensor? Labels) GetBatch(IReadOnlyList<long> indices)
    {
        ArgumentNullException.ThrowIfNull(indices);
        using var scope = torch.NewDisposeScope();
        var index = torch.tensor(indices.ToArray());
        var images = scope.MoveToOuter(_images.index_select(0, index));
        var labels = _labels is null ? null : scope.MoveToOuter(_labels.index_select(0, index));
        return (images, labels);
    }

    /// <summary>Releases the tensors.</summary>
    public void Dispose()
    {
        _images.Dispose();
        _labels?.Dispose();
    }
}
