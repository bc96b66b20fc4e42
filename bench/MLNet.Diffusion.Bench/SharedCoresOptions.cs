namespace MLNet.Diffusion.Bench;

/// <summary>Settings of <see cref="SharedCoresBenchmark"/>: what each of the concurrent trainings runs.</summary>
public sealed record SharedCoresOptions
{
    /// <summary>The UNet preset of each training (tiny, small, ddpm-cifar10).</summary>
    public string Preset { get; init; } = "tiny";

    /// <summary>Images per training step.</summary>
    public int BatchSize { get; init; } = 16;

    /// <summary>Steps of each training.</summary>
    public int Steps { get; init; } = 60;

    /// <summary>Intra-op threads of each training, or null for <c>mlnet-diffusion train</c>'s own default.</summary>
    public int? Threads { get; init; }
}
