using Microsoft.ML;

namespace MLNet.Diffusion;

/// <summary>The entry point of MLNet.Diffusion on an ML.NET <see cref="MLContext"/>: <c>mlContext.Diffusion()</c>.</summary>
public static class MLContextExtensions
{
    /// <summary>The diffusion catalog of <paramref name="context"/>: the DDPM trainer, data views of images and seeds, and model loading.</summary>
    /// <exception cref="ArgumentNullException"><paramref name="context"/> is null.</exception>
    public static DiffusionCatalog Diffusion(this MLContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        return new DiffusionCatalog(context);
    }
}
