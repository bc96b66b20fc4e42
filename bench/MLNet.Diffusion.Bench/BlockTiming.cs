namespace MLNet.Diffusion.Bench;

/// <summary>One timed block: each step's wall time in milliseconds, and the minor page faults of the whole block.</summary>
internal sealed record BlockTiming(double[] Ms, long MinorFaults);
