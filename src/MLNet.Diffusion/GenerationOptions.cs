namespace MLNet.Diffusion;

/// <summary>How <see cref="DiffusionModel.Generate"/> samples.</summary>
public sealed record GenerationOptions
{
    /// <summary>The sampler. Default DPM-Solver++.</summary>
    public SamplerKind Sampler { get; init; } = SamplerKind.DpmSolverPlusPlus;

    /// <summary>Sampling steps; null means the sampler's usual count (DPM-Solver++ 20, DDIM 50, DDPM all).</summary>
    public int? Steps { get; init; }

    /// <summary>DDIM's η (0 deterministic). Default 0.</summary>
    public double Eta { get; init; }

    /// <summary>
    /// The seed of image i is Seed + i, each with its own generator, so an image does not depend on how many are
    /// generated with it. Default 0.
    /// </summary>
    public ulong Seed { get; init; }

    /// <summary>
    /// The label that asks a class-conditional model for an unconditional image (its null label): −1, in
    /// <see cref="Label"/>, <see cref="Labels"/>, a seeds view's label column and the saved model's <c>label</c> input
    /// alike. Guidance leaves such an image as it is (its conditional and unconditional predictions are the same).
    /// </summary>
    public const int UnconditionalLabel = -1;

    /// <summary>
    /// The class of every image for a class-conditional model, 0 to classes − 1, or <see cref="UnconditionalLabel"/>;
    /// null generates unconditionally.
    /// </summary>
    public int? Label { get; init; }

    /// <summary>
    /// Per-image classes (overrides <see cref="Label"/>), one per image: 0 to classes − 1, or
    /// <see cref="UnconditionalLabel"/> for an unconditional image among labelled ones.
    /// </summary>
    public IReadOnlyList<int>? Labels { get; init; }

    /// <summary>Classifier-free guidance scale for labelled generation (1 = none, 0 = unconditional). Default 1.</summary>
    public double Guidance { get; init; } = 1;

    /// <summary>cpu, cuda, cuda:N or auto; null keeps the model's device.</summary>
    public string? Device { get; init; }
}
