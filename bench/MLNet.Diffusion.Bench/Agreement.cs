using TorchSharp;
using static TorchSharp.torch;

namespace MLNet.Diffusion.Bench;

/// <summary>Element-by-element comparison of our tensors with PyTorch's.</summary>
internal static class Agreement
{
    /// <summary>
    /// max |ours − theirs| / scale, where scale is <paramref name="scale"/> or, when null, max |theirs|. Infinite when
    /// the shapes differ.
    /// </summary>
    public static double RelativeDifference(Tensor ours, Tensor theirs, double? scale = null)
    {
        ArgumentNullException.ThrowIfNull(ours);
        ArgumentNullException.ThrowIfNull(theirs);
        if (!ours.shape.AsSpan().SequenceEqual(theirs.shape))
        {
            return double.PositiveInfinity;
        }

        using var scope = torch.NewDisposeScope();
        var difference = (ours.to(ScalarType.Float64) - theirs.to(ScalarType.Float64)).abs().max().ToDouble();
        var denominator = scale ?? theirs.abs().max().ToDouble();
        return difference / Math.Max(denominator, 1e-30);
    }
}
