using TorchSharp;
using static TorchSharp.torch;
using MLNet.Diffusion.ForwardProcess;
using MLNet.Diffusion.Models;

namespace MLNet.Diffusion.Sampling;

/// <summary>Adapts a <see cref="UNet2D"/> to the samplers' <see cref="Denoiser"/>, with classifier-free guidance.</summary>
public static class UNetDenoiser
{
    /// <summary>
    /// A denoiser that runs <paramref name="model"/> at each timestep. For a class-conditional model,
    /// <paramref name="labels"/> (int64, one per sample) picks the classes; with a guidance scale other than 1 the
    /// model also runs with the null label, in the same batch, and the outputs are combined as
    /// unconditional + scale·(conditional − unconditional) (Ho &amp; Salimans 2022). Without labels a
    /// class-conditional model samples unconditionally. The network runs through <see cref="UNet2D.ForwardAt"/>: on the
    /// CPU an image's output does not depend on the batch, its position there or the guidance of the others.
    /// </summary>
    public static Denoiser Create(UNet2D model, Tensor? labels = null, double guidanceScale = 1) =>
        Create(model, labels, guidanceScale, batchInvariant: true);

    /// <summary>
    /// <see cref="Create(UNet2D, Tensor?, double)"/>, or, without <paramref name="batchInvariant"/>, the network's
    /// batched <see cref="UNet2D.Forward"/> (what the batch-invariance benchmark compares with).
    /// </summary>
    internal static Denoiser Create(UNet2D model, Tensor? labels, double guidanceScale, bool batchInvariant)
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
            Tensor Run(Tensor images, Tensor? classes) => batchInvariant
                ? model.ForwardAt(images, t, classes)
                : model.Forward(images, torch.full([images.size(0)], t, ScalarType.Int64, x.device), classes);
            if (!guided)
            {
                return scope.MoveToOuter(Run(x, labels?.to(x.device)));
            }

            var both = Run(torch.cat([x, x]), torch.cat([labels!.to(x.device), torch.full([batch], model.NullLabel!.Value, ScalarType.Int64, x.device)]));
            var conditional = both.narrow(0, 0, batch);
            var unconditional = both.narrow(0, batch, batch);
            return scope.MoveToOuter(ClassifierFreeGuidance.Combine(unconditional, conditional, guidanceScale));
        };
    }
}
