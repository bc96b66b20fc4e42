using static TorchSharp.torch;

namespace MLNet.Diffusion.Training;

/// <summary>A pass that reads batches by position, in <see cref="TrainingOrder.Permutation"/> order.</summary>
internal sealed class PermutedPass(long[] order, long start, Func<IReadOnlyList<long>, (Tensor Images, Tensor? Labels)> read) : ITrainingPass
{
    private long _position = start;

    public (Tensor Images, Tensor? Labels)? Read(int count)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(count);
        var n = (int)Math.Min(count, order.LongLength - _position);
        if (n <= 0)
        {
            return null;
        }

        var positions = order.AsSpan((int)_position, n).ToArray();
        _position += n;
        return read(positions);
    }

    public void Dispose()
    {
    }
}
