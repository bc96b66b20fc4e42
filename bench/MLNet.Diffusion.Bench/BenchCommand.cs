namespace MLNet.Diffusion.Bench;

/// <summary>A parsed command line: the benchmark to run with its settings, or a request for the help.</summary>
/// <param name="Benchmark">The benchmark, or null when the help was asked for.</param>
/// <param name="Options">The benchmark's settings record (<see cref="BenchOptions"/>, <see cref="OnnxSampleOptions"/>, ...), or null with the help.</param>
internal sealed record BenchCommand(BenchmarkSpec? Benchmark, object? Options)
{
    /// <summary>The command that asks for the help.</summary>
    public static BenchCommand Help { get; } = new(null, null);
}
