using System.Diagnostics;

namespace MLNet.Diffusion.Tests.Images;

/// <summary>
/// Runs scripts with Debian's own Python: with PIL and numpy (python3-pil, python3-torch, installed by ./build.sh) for
/// codec and Fréchet-distance cross-checks, and with PyTorch for the checks against the PyTorch reference in bench/reference.
/// </summary>
internal static class DebianPython
{
    public const string Path = "/usr/bin/python3";

    /// <summary>Fails the test, with the install hint, when Debian's Python or its PIL is missing.</summary>
    public static void RequirePil() => Require("PIL", "python3-pil");

    /// <summary>Fails the test, with the install hint, when Debian's Python or its numpy (which python3-torch brings) is missing.</summary>
    public static void RequireNumpy() => Require("numpy", "python3-torch");

    private static void Require(string module, string package)
    {
        if (!File.Exists(Path) || Run($"import {module}").ExitCode != 0)
        {
            Assert.Fail($"{Path} with {module} (Debian's {package}) is not installed: run ./build.sh, which installs it, or apt-get install {package}.");
        }
    }

    /// <summary>
    /// Ends the test as inconclusive when Debian's Python has no torch (python3-torch): the PyTorch cross-checks
    /// cannot run there, and the rest of the suite must still pass.
    /// </summary>
    public static void RequireTorchOrInconclusive()
    {
        if (!File.Exists(Path) || Run("import torch").ExitCode != 0)
        {
            Assert.Inconclusive($"{Path} with torch (Debian's python3-torch) is not installed; ./build.sh installs it.");
        }
    }

    /// <summary>Runs <c>python3 -c script arguments...</c>; returns the exit code and standard output followed by standard error.</summary>
    public static (int ExitCode, string Output) Run(string script, params string[] arguments) =>
        Execute(["-c", script, .. arguments], TimeSpan.FromMinutes(1));

    /// <summary>Runs <c>python3 scriptPath arguments...</c> with a time limit; returns the exit code and the output.</summary>
    public static (int ExitCode, string Output) RunFile(string scriptPath, TimeSpan timeout, params string[] arguments) =>
        Execute([scriptPath, .. arguments], timeout);

    private static (int ExitCode, string Output) Execute(IEnumerable<string> arguments, TimeSpan timeout)
    {
        var start = new ProcessStartInfo(Path) { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        using var process = Process.Start(start)!;
        var error = process.StandardError.ReadToEndAsync();  // read both pipes at once, so neither can fill and block
        var output = process.StandardOutput.ReadToEnd();
        if (!process.WaitForExit(timeout))
        {
            process.Kill();
            Assert.Fail($"python3 did not finish within {timeout.TotalSeconds} s.");
        }

        return (process.ExitCode, output + error.Result);
    }
}
