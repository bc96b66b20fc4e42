namespace MLNet.Diffusion.Cli;

/// <summary>The entry point of <c>mlnet-diffusion</c>.</summary>
public static class Program
{
    /// <summary>Runs the command line; the exit code is 0 on success, 1 on failure and 2 on a usage error.</summary>
    public static int Main(string[] args) => CliApp.Run(args, Console.Out, Console.Error, interactive: !Console.IsOutputRedirected);
}
