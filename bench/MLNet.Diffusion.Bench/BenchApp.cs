using System.Diagnostics;
using System.Runtime.InteropServices;
using Microsoft.ML.OnnxRuntime;

namespace MLNet.Diffusion.Bench;

/// <summary>
/// The benchmark program: parses a command line (<see cref="BenchCommandLine"/>) and runs the benchmark it selects,
/// the side-by-side benchmark against PyTorch unless a flag picks another (see bench/README.md).
/// </summary>
public static class BenchApp
{
    /// <summary>
    /// Parses and runs <paramref name="args"/>, writing the report to <paramref name="output"/> and what went wrong to
    /// <paramref name="error"/>. Returns 0 on success; 1 when the benchmark failed, missed its target (--shared-cores,
    /// --data-path) or was given options that would change nothing; 2 on a malformed command line.
    /// </summary>
    public static int Run(IReadOnlyList<string> args, TextWriter output, TextWriter error)
    {
        ArgumentNullException.ThrowIfNull(args);
        ArgumentNullException.ThrowIfNull(output);
        ArgumentNullException.ThrowIfNull(error);
        BenchCommand command;
        try
        {
            command = BenchCommandLine.Parse(args);
        }
        catch (BenchUsageException ex)
        {
            error.WriteLine($"error: {ex.Message}");
            if (ex.ExitCode == 2)
            {
                error.WriteLine("Run with --help for usage.");
            }

            return ex.ExitCode;
        }

        if (command.Options is null)
        {
            output.Write(BenchCommandLine.Help());
            return 0;
        }

        try
        {
            switch (command.Options)
            {
                case SharedCoresOptions options:
                    return SharedCoresBenchmark.Run(options, TrainerProcess, output);
                case DataPathOptions options:
                    return DataPathBenchmark.Run(options, TrainerProcess, output);
                case OnnxSampleOptions options:
                    OnnxSampleBenchmark.Run(options, output);
                    return 0;
                case BatchInvarianceOptions options:
                    BatchInvarianceBenchmark.Run(options, output);
                    return 0;
                case BenchOptions options:
                    SideBySideBenchmark.Run(options, output);
                    return 0;
                default:
                    throw new InvalidOperationException($"No benchmark runs {command.Options.GetType().Name}.");
            }
        }
        catch (Exception ex) when (ex is InvalidOperationException or InvalidDataException or IOException or DllNotFoundException
            or ExternalException or ArgumentException or UnauthorizedAccessException or OnnxRuntimeException)
        {
            error.WriteLine($"benchmark failed: {ex.Message}");
            return 1;
        }
    }

    // `mlnet-diffusion train` as a child process. The project references the CLI so that its build output (apphost,
    // assembly, runtimeconfig and deps.json) lies next to this program's.
    private static ProcessStartInfo TrainerProcess(IReadOnlyList<string> arguments)
    {
        var apphost = Path.Combine(AppContext.BaseDirectory, OperatingSystem.IsWindows() ? "mlnet-diffusion.exe" : "mlnet-diffusion");
        var info = new ProcessStartInfo(File.Exists(apphost) ? apphost : "dotnet");
        if (!File.Exists(apphost))
        {
            info.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "mlnet-diffusion.dll"));
        }

        foreach (var argument in arguments)
        {
            info.ArgumentList.Add(argument);
        }

        return info;
    }
}
