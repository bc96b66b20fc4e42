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
    /// Euler's and Heun's churn, EDM's S_churn (Karras et al. 2022, Algorithm 2; <see cref="Sampling.SamplerOptions.Churn"/>):
    /// before each step the noise is raised by a factor 1 + min(S_churn/steps, √2 − 1), from each image's own generator, so a
    /// seed still gives one image whatever the batch. 0 (the default) is deterministic; must be ≥ 0, and 0 for the other
    /// samplers and for a generator graph.
    /// </summary>
    public double Churn { get; init; }

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
