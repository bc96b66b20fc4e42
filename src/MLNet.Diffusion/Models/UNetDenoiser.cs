using MLNet.Diffusion.Schedulers;
using TorchSharp;
using static TorchSharp.torch;

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
        ClassifierFreeGuidance.CheckScale(guidanceScale, nameof(guidanceScale));

        if (labels is not null && !model.IsClassConditional)
        {
            throw new ArgumentException("Labels were given but the model is unconditional.", nameof(labels));
        }

        var guided = labels is not null && guidanceScale != 1;
        return (x, t) =>
        {
            using var scope = torch.NewDisposeScope();
            var batch = x.size(0);
            var timesteps = torch.full([batch], t, ScalarType.Int64, x.device);
            if (!guided)
            {
                return scope.MoveToOuter(model.Forward(x, timesteps, labels?.to(x.device)));
            }

            var both = model.Forward(
                torch.cat([x, x]),
                torch.cat([timesteps, timesteps]),
                torch.cat([labels!.to(x.device), torch.full([batch], model.NullLabel!.Value, ScalarType.Int64, x.device)]));
            var conditional = both.narrow(0, 0, batch);
            var unconditional = both.narrow(0, batch, batch);
            return scope.MoveToOuter(ClassifierFreeGuidance.Combine(unconditional, conditional, guidanceScale));
        };
    }
}
