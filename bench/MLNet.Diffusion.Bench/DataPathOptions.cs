namespace MLNet.Diffusion.Bench;

/// <summary>Settings of <see cref="DataPathBenchmark"/>.</summary>
public sealed record DataPathOptions
{
    /// <summary>The UNet preset of the throughput runs (tiny, small, ddpm-cifar10).</summary>
    public string Preset { get; init; } = "small";

    /// <summary>Images per training step of the throughput runs.</summary>
    public int BatchSize { get; init; } = 64;

    /// <summary>Steps of each throughput run.</summary>
    public int Steps { get; init; } = 12;

    /// <summary>Interleaved rounds, each one run of the tensor path and one of the IDataView path.</summary>
    public int Rounds { get; init; } = 3;

    /// <summary>The image counts of the folders whose training's peak resident set is measured; empty: none.</summary>
    public IReadOnlyList<int> FolderSizes { get; init; } = [2000, 8000];
}
