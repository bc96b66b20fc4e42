using MLNet.Diffusion.Engine;

namespace MLNet.Diffusion.Bench;

/// <summary>The entry point of the benchmark program (<c>./build.sh bench</c>).</summary>
public static class Program
{
    /// <summary>Runs the benchmark the arguments select; see <see cref="BenchApp.Run"/> for the exit codes.</summary>
    public static int Main(string[] args)
    {
        // Before anything loads libtorch: its OpenMP runtime reads the native environment only once.
        NativeEnvironment.ApplyDefaults();
        return BenchApp.Run(args, Console.Out, Console.Error);
    }
}
