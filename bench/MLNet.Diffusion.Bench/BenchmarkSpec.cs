namespace MLNet.Diffusion.Bench;

/// <summary>
/// One benchmark of the program: the flag that selects it, the options it reads (with their help, whose defaults come
/// from the same settings record that <paramref name="Read"/> fills) and how its settings are read from a command line.
/// </summary>
/// <param name="Flag">The flag that selects it, or null for the side-by-side benchmark, which runs without one.</param>
/// <param name="Name">How messages name it.</param>
/// <param name="Summary">What it measures, one line.</param>
/// <param name="Options">The options it reads.</param>
/// <param name="Read">Its settings from the command line's options (all of which it reads); throws <see cref="ArgumentException"/> on a bad value.</param>
internal sealed record BenchmarkSpec(string? Flag, string Name, string Summary, IReadOnlyList<OptionHelp> Options, Func<BenchArguments, object> Read)
{
    /// <summary>Whether <paramref name="option"/> is one this benchmark reads.</summary>
    public bool Reads(string option) => Options.Any(o => o.Name == option);
}
