using MLNet.Diffusion.Engine;

namespace MLNet.Diffusion.Cli;

/// <summary>The entry point of <c>mlnet-diffusion</c>.</summary>
public static class Program
{
    /// <summary>Runs the command line; the exit code is 0 on success, 1 on failure and 2 on a usage error.</summary>
    public static int Main(string[] args)
    {
        // Before anything loads libtorch: its OpenMP runtime reads the native environment only once.
        NativeEnvironment.ApplyDefaults();
        return CliApp.Run(args, Console.Out, Console.Error, interactive: !Console.IsOutputRedirected);
    }
}
