using TorchSharp;
using static TorchSharp.torch;

namespace MLNet.Diffusion.Bench;

/// <summary>Element-by-element comparison of our tensors with PyTorch's.</summary>
internal static class Agreement
{
    /// <summary>
    /// max |ours − theirs| / scale, where scale is <paramref name="scale"/> or, when null, max |theirs|; with a
    /// <paramref name="mask"/>, the maximum runs over the elements where it is true only (0 when there are none).
    /// Infinite when the shapes differ.
    /// </summary>
    public static double RelativeDifference(Tensor ours, Tensor theirs, double? scale = null, Tensor? mask = null)
    {
        ArgumentNullException.ThrowIfNull(ours);
        ArgumentNullException.ThrowIfNull(theirs);
        if (!ours.shape.AsSpan().SequenceEqual(theirs.shape) || (mask is not null && !ours.shape.AsSpan().SequenceEqual(mask.shape)))
        {
            return double.PositiveInfinity;
        }

        using var scope = torch.NewDisposeScope();
        var difference = (ours.to(ScalarType.Float64) - theirs.to(ScalarType.Float64)).abs();
        if (mask is not null)
        {
            difference = difference.masked_fill(mask.logical_not(), 0);
        }

        var largest = difference.numel() == 0 ? 0 : difference.max().ToDouble();
        var denominator = scale ?? (theirs.numel() == 0 ? 0 : theirs.abs().max().ToDouble());
        return largest / Math.Max(denominator, 1e-30);
    }
}
