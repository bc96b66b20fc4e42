using MLNet.Diffusion.ForwardProcess;

namespace MLNet.Diffusion.Sampling;

/// <summary>
/// The samplers, by the names model files record (the members of the front door's <c>SamplerKind</c>), and what each can
/// do: one place for the TorchSharp path, the ONNX export and the command line.
/// </summary>
internal static class Samplers
{
    /// <summary>DPM-Solver++(2M) (Lu et al. 2022).</summary>
    public const string DpmSolverPlusPlus = nameof(DpmSolverPlusPlus);

    /// <summary>DDIM (Song et al. 2021).</summary>
    public const string Ddim = nameof(Ddim);

    /// <summary>DDPM ancestral sampling (Ho et al. 2020).</summary>
    public const string Ddpm = nameof(Ddpm);

    /// <summary>Heun's method on the Karras grid (Karras et al. 2022, EDM's Algorithm 1).</summary>
    public const string Heun = nameof(Heun);

    /// <summary>Euler's method on the Karras grid (Karras et al. 2022).</summary>
    public const string Euler = nameof(Euler);

    /// <summary>Every sampler's name, the default first.</summary>
    public static IReadOnlyList<string> Names { get; } = [DpmSolverPlusPlus, Ddim, Ddpm, Heun, Euler];

    /// <summary>The name a command line gives the sampler (lower case, as diffusers' and the papers' short names).</summary>
    public static string CommandLineName(string name) => name switch
    {
        DpmSolverPlusPlus => "dpm-solver++",
        Ddim => "ddim",
        Ddpm => "ddpm",
        Heun => "heun",
        Euler => "euler",
        _ => throw new ArgumentOutOfRangeException(nameof(name), name, $"Unknown sampler: use one of {string.Join(", ", Names)}."),
    };

    /// <summary>The sampler called <paramref name="name"/>.</summary>
    public static DiffusionSampler Create(string name, NoiseSchedule schedule, SamplerOptions options) => name switch
    {
        Ddpm => new DdpmSampler(schedule, options),
        Ddim => new DdimSampler(schedule, options),
        DpmSolverPlusPlus => new DpmSolverMultistepSampler(schedule, options),
        Heun => new EdmSampler(schedule, options, heun: true),
        Euler => new EdmSampler(schedule, options, heun: false),
        _ => throw new ArgumentOutOfRangeException(nameof(name), name, $"Unknown sampler: use one of {string.Join(", ", Names)}."),
    };

    /// <summary>
    /// Whether the sampler draws no noise after x_T (DDIM with η = 0, DPM-Solver++, Heun, Euler), so that a seed fixes the image
    /// and the whole loop fits in a graph; DDPM and DDIM with η &gt; 0 draw fresh noise every step.
    /// </summary>
    public static bool IsDeterministic(string name, double eta = 0) => name is DpmSolverPlusPlus or Heun or Euler || (name == Ddim && eta == 0);

    /// <summary>Whether the sampler takes EDM's churn (<see cref="SamplerOptions.Churn"/>): Euler and Heun.</summary>
    public static bool TakesChurn(string name) => name is Heun or Euler;

    /// <summary>Whether image-to-image and inpainting can run the sampler (they start part-way down the grid or replace pixels between steps).</summary>
    public static bool CanEdit(string name) => name is not (Heun or Euler);

    /// <summary>
    /// The sampler's usual step count: DDPM all training steps, DDIM 50, DPM-Solver++ and Euler 20, Heun 10 (19 network
    /// evaluations); at most the training steps.
    /// </summary>
    public static int DefaultSteps(string name, int trainTimesteps) => name switch
    {
        Ddpm => trainTimesteps,
        Ddim => Math.Min(50, trainTimesteps),
        Heun => Math.Min(10, trainTimesteps),
        _ => Math.Min(20, trainTimesteps),
    };

    /// <summary>The network evaluations of a run of <paramref name="steps"/> (without guidance's doubling): Heun 2n − 1, the others n.</summary>
    public static int Evaluations(string name, int steps) => name == Heun ? (2 * steps) - 1 : steps;
}
