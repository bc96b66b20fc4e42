using MLNet.Diffusion.Sampling;

namespace MLNet.Diffusion;

/// <summary>
/// The samplers' names on a command line or in a settings file (<c>dpm-solver++</c>, <c>ddim</c>, <c>ddpm</c>, <c>heun</c>, <c>euler</c>) and what
/// each can do: the one statement of both, which the <c>mlnet-diffusion</c> tool uses.
/// </summary>
public static class SamplerKindExtensions
{
    /// <summary>Every sampler's name, the default (<see cref="SamplerKind.DpmSolverPlusPlus"/>) first.</summary>
    public static IReadOnlyList<string> Names { get; } = [.. Samplers.Names.Select(Samplers.CommandLineName)];

    /// <summary>The sampler's name: <c>dpm-solver++</c>, <c>ddim</c>, <c>ddpm</c>, <c>heun</c> or <c>euler</c>.</summary>
    /// <param name="sampler">The sampler.</param>
    /// <exception cref="ArgumentOutOfRangeException">The value is not a defined <see cref="SamplerKind"/>.</exception>
    public static string ToName(this SamplerKind sampler) => Samplers.CommandLineName(sampler.ToString());

    /// <summary>The sampler called <paramref name="name"/> (one of <see cref="Names"/>, as written there).</summary>
    /// <param name="name">A sampler's name.</param>
    /// <exception cref="ArgumentException">No sampler has that name; the message lists the names.</exception>
    public static SamplerKind ParseName(string name)
    {
        ArgumentNullException.ThrowIfNull(name);
        foreach (var kind in Enum.GetValues<SamplerKind>())
        {
            if (kind.ToName() == name)
            {
                return kind;
            }
        }

        throw new ArgumentException($"Unknown sampler '{name}': use one of {string.Join(", ", Names)}.", nameof(name));
    }

    /// <summary>
    /// Whether the sampler draws no noise after x_T — DPM-Solver++, Heun, Euler, and DDIM with <paramref name="eta"/> = 0 — so that a
    /// seed fixes the image and the whole loop fits in a generator graph; DDPM and DDIM with η &gt; 0 draw fresh noise every step,
    /// and so do Heun and Euler with a churn (<see cref="GenerationOptions.Churn"/>), which this does not read.
    /// </summary>
    /// <param name="sampler">The sampler.</param>
    /// <param name="eta">DDIM's η (read only for DDIM).</param>
    public static bool IsDeterministic(this SamplerKind sampler, double eta = 0) => Samplers.IsDeterministic(sampler.ToString(), eta);

    /// <summary>Whether the sampler takes EDM's churn (<see cref="GenerationOptions.Churn"/>): Heun and Euler.</summary>
    /// <param name="sampler">The sampler.</param>
    public static bool TakesChurn(this SamplerKind sampler) => Samplers.TakesChurn(sampler.ToString());

    /// <summary>
    /// Whether image-to-image and inpainting can run the sampler: DPM-Solver++, DDIM and DDPM can; Heun and Euler, whose grid
    /// starts below the schedule's last timestep, generate from noise only.
    /// </summary>
    /// <param name="sampler">The sampler.</param>
    public static bool CanEdit(this SamplerKind sampler) => Samplers.CanEdit(sampler.ToString());
}
