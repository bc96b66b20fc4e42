using MLNet.Diffusion.Torch;

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
        if (!ours.Shape.AsSpan().SequenceEqual(theirs.Shape))
        {
            return double.PositiveInfinity;
        }

        using var scope = LibTorch.NewDisposeScope();
        var difference = (ours.To(ScalarType.Float64) - theirs.To(ScalarType.Float64)).Abs().Max().ToDouble();
        var denominator = scale ?? theirs.Abs().Max().ToDouble();
        return difference / Math.Max(denominator, 1e-30);
    }
}
