using System.Reflection;
using System.Runtime.InteropServices;

namespace MLNet.Diffusion.Torch.Interop;

/// <summary>
/// Resolves the shim (<c>libmlnd_native.so</c>) next to the application, or at <c>MLND_NATIVE_PATH</c>,
/// and turns a failed load into a message that says which library is missing and how to get it.
/// </summary>
internal static class NativeLibraryLoader
{
    private const string FileName = "libmlnd_native.so";

    /// <summary>Called once, from <see cref="Native"/>'s static constructor, before the first native call.</summary>
    internal static void Register() => NativeLibrary.SetDllImportResolver(typeof(NativeLibraryLoader).Assembly, Resolve);

    private static IntPtr Resolve(string libraryName, Assembly assembly, DllImportSearchPath? searchPath)
    {
        if (libraryName != Native.Library)
        {
            return IntPtr.Zero;
        }

        var candidates = Candidates().ToList();
        foreach (var path in candidates)
        {
            if (!File.Exists(path))
            {
                continue;
            }

            try
            {
                return NativeLibrary.Load(path);
            }
            catch (DllNotFoundException ex)
            {
                throw new DllNotFoundException(
                    $"The MLNet.Diffusion libtorch shim was found at '{path}' but could not be loaded: {ex.Message} " +
                    "It needs libtorch: on Debian install it with 'apt-get install libtorch-dev' (./build.sh does), " +
                    "or point LIBTORCH_DIR at a libtorch and rebuild.", ex);
            }
        }

        throw new DllNotFoundException(
            $"The MLNet.Diffusion libtorch shim '{FileName}' was not found (looked in: {string.Join(", ", candidates)}). " +
            "Build the solution with 'dotnet build' or './build.sh' (it compiles src/Native with cmake), " +
            "or set MLND_NATIVE_PATH to the library's path.");
    }

    private static IEnumerable<string> Candidates()
    {
        var fromEnvironment = Environment.GetEnvironmentVariable("MLND_NATIVE_PATH");
        if (!string.IsNullOrEmpty(fromEnvironment))
        {
            yield return Directory.Exists(fromEnvironment) ? Path.Combine(fromEnvironment, FileName) : fromEnvironment;
        }

        yield return Path.Combine(AppContext.BaseDirectory, FileName);
        yield return Path.Combine(AppContext.BaseDirectory, "runtimes", "linux-x64", "native", FileName);
    }
}
