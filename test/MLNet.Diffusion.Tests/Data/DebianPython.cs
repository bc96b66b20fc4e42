using System.Diagnostics;

namespace MLNet.Diffusion.Tests.Data;

/// <summary>Runs scripts with Debian's own Python, PIL and numpy (python3-pil, python3-torch, installed by ./build.sh) for cross-checks.</summary>
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

    /// <summary>Runs <c>python3 -c script arguments...</c>; returns the exit code and standard output followed by standard error.</summary>
    public static (int ExitCode, string Output) Run(string script, params string[] arguments)
    {
        var start = new ProcessStartInfo(Path) { RedirectStandardOutput = true, RedirectStandardError = true };
        start.ArgumentList.Add("-c");
        start.ArgumentList.Add(script);
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        using var process = Process.Start(start)!;
        var error = process.StandardError.ReadToEndAsync();  // read both pipes at once, so neither can fill and block
        var output = process.StandardOutput.ReadToEnd();
        if (!process.WaitForExit(60_000))
        {
            process.Kill();
            Assert.Fail("python3 did not finish within a minute.");
        }

        return (process.ExitCode, output + error.Result);
    }
}
