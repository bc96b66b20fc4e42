namespace MLNet.Diffusion.Pipelines;

/// <summary>The diffusion trainers' catalog on a <see cref="DiffusionContext"/>, as ML.NET's extension catalogs hang off <c>MLContext</c>.</summary>
public static class DiffusionContextExtensions
{
    /// <summary>The diffusion trainers of <paramref name="context"/>.</summary>
    public static DiffusionCatalog Diffusion(this DiffusionContext context) => new(context ?? throw new ArgumentNullException(nameof(context)));
}
