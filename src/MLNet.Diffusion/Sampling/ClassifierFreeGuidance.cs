using static TorchSharp.torch;

namespace MLNet.Diffusion.Sampling;

/// <summary>Classifier-free guidance (Ho &amp; Salimans 2022): extrapolate from the unconditional prediction towards the conditional one.</summary>
public static class ClassifierFreeGuidance
{
    /// <summary>
    /// unconditional + scale·(conditional − unconditional). Scale 0 gives the unconditional prediction, 1 the
    /// conditional one, and larger values stronger guidance. Computed as <c>torch.lerp</c> defines it (u + s·(c − u) for
    /// s &lt; 0.5, else c − (c − u)·(1 − s)) but in separate, each exactly rounded operations: ATen's lerp kernel fuses the
    /// multiply-add in its vector code and leaves the last elements of a chunk to scalar code, so an element's rounding
    /// could depend on its place in the batch. The generator graph computes the same operations.
    /// </summary>
    public static Tensor Combine(Tensor unconditional, Tensor conditional, double scale)
    {
        ArgumentNullException.ThrowIfNull(unconditional);
        ArgumentNullException.ThrowIfNull(conditional);
        CheckScale(scale, nameof(scale));
        using var difference = conditional - unconditional;
        using var scaled = difference * (scale < 0.5 ? scale : 1 - scale);
        return scale < 0.5 ? unconditional + scaled : conditional - scaled;
    }

    /// <summary>Whether <paramref name="scale"/> is a guidance scale: a finite number ≥ 0.</summary>
    public static bool IsValidScale(double scale) => double.IsFinite(scale) && scale >= 0;

    /// <summary>Refuses a guidance scale that is not a finite number ≥ 0, naming <paramref name="parameterName"/>.</summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="scale"/> is not a finite number ≥ 0.</exception>
    internal static void CheckScale(double scale, string parameterName)
    {
        if (!IsValidScale(scale))
        {
            throw new ArgumentOutOfRangeException(parameterName, scale, "The guidance scale must be a finite number ≥ 0.");
        }
    }
}
