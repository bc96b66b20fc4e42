namespace MLNet.Diffusion.Bench;

/// <summary>
/// One engine of <see cref="OnnxSampleBenchmark"/>: a whole generation of a given number of steps, timed in ms; each
/// round's (T_N, T_1), and from them the per-step times.
/// </summary>
internal sealed class TimedEngine(string name, int longRunSteps, Func<int, double> run)
{
    public string Name { get; } = name;

    public List<(double N, double One)> Rounds { get; } = [];

    public double Run(int steps) => run(steps);

    public List<double> PerStep => [.. Rounds.Select(r => (r.N - r.One) / (longRunSteps - 1))];
}
