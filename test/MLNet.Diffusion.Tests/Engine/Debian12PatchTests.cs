using System.Diagnostics;

namespace MLNet.Diffusion.Tests.Engine;

/// <summary>
/// build/debian12/patch-libtorchsharp.sh, run on the TorchSharp package's own (unpatched) native library: on a system
/// whose libstdc++ lacks GLIBCXX_3.4.32 the library does not load before the fix and loads after it; a second run
/// changes nothing.
/// </summary>
[TestClass]
public sealed class Debian12PatchTests
{
    public TestContext TestContext { get; set; } = null!;

    [TestMethod]
    public void PatchScript_OnThePackagesLibrary_MakesItLoadable_AndIsIdempotent()
    {
        if (!OperatingSystem.IsLinux())
        {
            Assert.Inconclusive("The fix is for Linux.");
        }

        var packages = Environment.GetEnvironmentVariable("NUGET_PACKAGES")
            ?? Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".nuget", "packages");
        var original = Path.Combine(packages, "torchsharp", "0.107.0", "runtimes", "linux-x64", "native", "libLibTorchSharp.so");
        if (!File.Exists(original))
        {
            Assert.Inconclusive($"The TorchSharp package is not at {original}.");
        }

        // A folder like an app's output: the package's library, and libtorch's (linked, not copied) beside it.
        var folder = Path.Combine(TestContext.TestRunDirectory ?? Path.GetTempPath(), "patch-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(folder);
        var natives = Path.Combine(AppContext.BaseDirectory, "runtimes", "linux-x64", "native");
        foreach (var file in Directory.GetFiles(natives).Where(f => !Path.GetFileName(f).StartsWith("libLibTorchSharp", StringComparison.Ordinal)
                     && !Path.GetFileName(f).StartsWith("libios_base", StringComparison.Ordinal)))
        {
            File.CreateSymbolicLink(Path.Combine(folder, Path.GetFileName(file)), file);
        }

        var library = Path.Combine(folder, "libLibTorchSharp.so");
        File.Copy(original, library);
        var systemHasVersion = Run("bash", "-c", "grep -q GLIBCXX_3.4.32 \"$(/sbin/ldconfig -p | awk '/libstdc\\+\\+\\.so\\.6 .*x86-64/ { print $NF; exit }')\"").Code == 0;
        var before = Load(library);
        if (systemHasVersion)
        {
            Assert.AreEqual(0, before.Code, before.Output);
        }
        else
        {
            Assert.AreNotEqual(0, before.Code, "the unpatched library loaded: the fix would not be needed here");
            StringAssert.Contains(before.Output, "GLIBCXX_3.4.32");
        }

        var bytes = File.ReadAllBytes(library);
        var script = Path.Combine(RepositoryTests.Root, "build", "debian12", "patch-libtorchsharp.sh");
        var first = Run("bash", script, folder);
        Assert.AreEqual(0, first.Code, first.Output);
        var after = Load(library);
        Assert.AreEqual(0, after.Code, after.Output);
        if (systemHasVersion)
        {
            CollectionAssert.AreEqual(bytes, File.ReadAllBytes(library), "a system with GLIBCXX_3.4.32 needs no change");
        }
        else
        {
            StringAssert.Contains(first.Output, "fix applied");
            var patched = File.ReadAllBytes(library);
            var second = Run("bash", script, folder);
            Assert.AreEqual(0, second.Code, second.Output);
            Assert.AreEqual(string.Empty, second.Output.Trim(), "an already patched library is left alone");
            CollectionAssert.AreEqual(patched, File.ReadAllBytes(library));
        }
    }

    // Loads the library with every symbol bound at once, as the loader does for TorchSharp.
    private static (int Code, string Output) Load(string library) =>
        Run("python3", "-c", "import ctypes, sys; ctypes.CDLL(sys.argv[1], mode=ctypes.RTLD_GLOBAL)", library);

    private static (int Code, string Output) Run(string file, params string[] args)
    {
        var info = new ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var arg in args)
        {
            info.ArgumentList.Add(arg);
        }

        using var process = Process.Start(info)!;
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        if (!process.WaitForExit(120_000))
        {
            process.Kill();
            Assert.Fail($"{file} {string.Join(' ', args)} did not finish in 2 minutes");
        }

        return (process.ExitCode, output.Result + error.Result);
    }
}
