using MLNet.Diffusion.Schedulers;
using MLNet.Diffusion.Torch;

namespace MLNet.Diffusion.Models;

/// <summary>Adapts a <see cref="UNet2D"/> to the samplers' <see cref="Denoiser"/>, with classifier-free guidance.</summary>
public static class UNetDenoiser
{
    /// <summary>
    /// A denoiser that runs <paramref name="model"/> at each timestep. For a class-conditional model,
    /// <paramref name="labels"/> (int64, one per sample) picks the classes; with a guidance scale other than 1 the
    /// model also runs with the null label, in the same batch, and the outputs are combined as
    /// unconditional + scale·(conditional − unconditional) (Ho &amp; Salimans 2022). Without labels a
    /// class-conditional model samples unconditionally.
    /// </summary>
    public static Denoiser Create(UNet2D model, Tensor? labels = null, double guidanceScale = 1)
    {
        ArgumentNullException.ThrowIfNull(model);
        if (!double.IsFinite(guidanceScale) || guidanceScale < 0)
        {
            throw new ArgumentOutOfRangeException(nameof(guidanceScale), guidanceScale, "The guidance scale must be a finite number ≥ 0.");
        }

        if (labels is not null && !model.IsClassConditional)
        {
            throw new ArgumentException("Labels were given but the model is unconditional.", nameof(labels));
        }

        var guided = labels is not null && guidanceScale != 1;
        return (x, t) =>
        {
            using var scope = LibTorch.NewDisposeScope();
            var batch = x.Size(0);
            var timesteps = LibTorch.Full([batch], t, ScalarType.Int64, x.Device);
            if (!guided)
            {
                return scope.MoveToOuter(model.Forward(x, timesteps, labels?.To(x.Device)));
            }

            var both = model.Forward(
                LibTorch.Cat([x, x]),
                LibTorch.Cat([timesteps, timesteps]),
                LibTorch.Cat([labels!.To(x.Device), LibTorch.Full([batch], model.NullLabel!.Value, ScalarType.Int64, x.Device)]));
            var conditional = both.Narrow(0, 0, batch);
            var unconditional = both.Narrow(0, batch, batch);
            return scope.MoveToOuter(ClassifierFreeGuidance.Combine(unconditional, conditional, guidanceScale));
        };
    }
}
