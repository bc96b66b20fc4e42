using TorchSharp;
using static TorchSharp.torch;

namespace MLNet.Diffusion.Schedulers;

/// <summary>Classifier-free guidance (Ho &amp; Salimans 2022): extrapolate from the unconditional prediction towards the conditional one.</summary>
public static class ClassifierFreeGuidance
{
    /// <summary>
    /// unconditional + scale·(conditional − unconditional). Scale 0 gives the unconditional prediction, 1 the
    /// conditional one, and larger values stronger guidance.
    /// </summary>
    public static Tensor Combine(Tensor unconditional, Tensor conditional, double scale)
    {
        ArgumentNullException.ThrowIfNull(unconditional);
        ArgumentNullException.ThrowIfNull(conditional);
        if (!double.IsFinite(scale) || scale < 0)
        {
            throw new ArgumentOutOfRangeException(nameof(scale), scale, "The guidance scale must be a finite number ≥ 0.");
        }

        return unconditional.lerp(conditional, scale);
    }
}
