namespace MLNet.Diffusion.Bench;

/// <summary>A command line the program does not run; the message says what was wrong and what is accepted.</summary>
/// <param name="message">What was wrong and what is accepted.</param>
/// <param name="exitCode">
/// 2 for a malformed command line (an unknown option, a missing or bad value); 1 for options that would change nothing
/// (ones the chosen benchmark does not read, two benchmarks at once), as <c>mlnet-diffusion</c> refuses those.
/// </param>
internal sealed class BenchUsageException(string message, int exitCode) : Exception(message)
{
    /// <summary>The program's exit code for this command line.</summary>
    public int ExitCode { get; } = exitCode;
}
