namespace MLNet.Diffusion.Bench;

/// <summary>Settings of <see cref="BatchInvarianceBenchmark"/>.</summary>
public sealed record BatchInvarianceOptions
{
    /// <summary>The UNet preset (tiny, small, ddpm-cifar10).</summary>
    public string Preset { get; init; } = "small";

    /// <summary>The side of the square images, in pixels.</summary>
    public int ImageSize { get; init; } = 28;

    /// <summary>Image channels.</summary>
    public int Channels { get; init; } = 1;

    /// <summary>Intra-op threads.</summary>
    public int Threads { get; init; } = Environment.ProcessorCount;

    /// <summary>Interleaved rounds, each timing both paths at every batch size.</summary>
    public int Rounds { get; init; } = 5;

    /// <summary>Untimed calls of each path per batch size before the first round.</summary>
    public int Warmup { get; init; } = 3;
}
