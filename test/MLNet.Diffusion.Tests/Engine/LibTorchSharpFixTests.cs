using System.Diagnostics;
using System.Security.Cryptography;
using MLNet.Diffusion.Engine;

namespace MLNet.Diffusion.Tests.Engine;

/// <summary>
/// The run-time Debian 12 fix makes the same two edits as the build-time script (patchelf and weaken_version.py), only
/// to TorchSharp 0.107.0's file, and the result loads with this system's libstdc++.
/// </summary>
[TestClass]
public sealed class LibTorchSharpFixTests
{
    private static string Original => Path.Combine(Environment.GetEnvironmentVariable("NUGET_PACKAGES") ?? Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".nuget", "packages"),
        "torchsharp", "0.107.0", "runtimes", "linux-x64", "native", "libLibTorchSharp.so");

    [TestMethod]
    public void Patch_MakesTheScriptsTwoEdits_ToTorchSharp0107sFile()
    {
        var bytes = File.ReadAllBytes(Original);
        Assert.AreEqual(LibTorchSharpFix.TorchSharp0107Sha256, Convert.ToHexStringLower(SHA256.HashData(bytes)), "the package's file");
        Assert.AreEqual(LibTorchSharpFix.Requirement.Strong, LibTorchSharpFix.Inspect(bytes));
        var managed = (byte[])bytes.Clone();
        LibTorchSharpFix.Patch(managed);
        Assert.AreEqual(LibTorchSharpFix.Requirement.Weak, LibTorchSharpFix.Inspect(managed));
        Assert.AreEqual(2, bytes.Zip(managed, (a, b) => a != b).Count(d => d), "two bytes: the symbol's version index and the requirement's flags");

        // The same edits by the build-time tools.
        var copy = Path.Combine(Path.GetTempPath(), $"lts-{Guid.NewGuid():N}.so");
        try
        {
            File.Copy(Original, copy);
            Run("patchelf", "--clear-symbol-version", LibTorchSharpFix.Symbol, copy);
            Run("/usr/bin/python3", Path.Combine(RepositoryTests.Root, "build", "debian12", "weaken_version.py"), copy, LibTorchSharpFix.Version);
            CollectionAssert.AreEqual(File.ReadAllBytes(copy), managed);
        }
        finally
        {
            File.Delete(copy);
        }

        // What is not a 64-bit ELF file is refused.
        Assert.ThrowsExactly<InvalidDataException>(() => LibTorchSharpFix.Patch([1, 2, 3]));
    }

    /// <summary>In this test process the fix ran at load: either not needed, or already applied by the build-time script.</summary>
    [TestMethod]
    public void Apply_RanAtLoad_AndSaysWhatItDid()
    {
        LibTorchSharpFix.Apply();
        var outcome = LibTorchSharpFix.Outcome;
        Assert.IsNotNull(outcome);
        Assert.IsTrue(outcome.StartsWith("not needed", StringComparison.Ordinal) || outcome.StartsWith("already applied", StringComparison.Ordinal), outcome);
    }

    private static void Run(string program, params string[] arguments)
    {
        using var process = Process.Start(new ProcessStartInfo(program, arguments) { RedirectStandardOutput = true, RedirectStandardError = true })!;
        var error = process.StandardError.ReadToEnd();
        process.StandardOutput.ReadToEnd();
        process.WaitForExit();
        Assert.AreEqual(0, process.ExitCode, $"{program}: {error}");
    }
}
