using System.Runtime.InteropServices;
using MLNet.Diffusion.Engine;

namespace MLNet.Diffusion.Tests.Engine;

/// <summary>
/// The defaults reach the native environment, where libgomp and oneMKL read them (.NET's own copy of the environment
/// is not what native getenv sees on Linux).
/// </summary>
[TestClass]
public sealed partial class NativeEnvironmentTests
{
    [TestMethod]
    public void ApplyDefaults_WritesTheNativeEnvironment_UnlessTheUserSetIt()
    {
        if (OperatingSystem.IsWindows())
        {
            Assert.Inconclusive("The defaults are for Linux and macOS.");
        }

        NativeEnvironment.ApplyDefaults();
        Assert.AreEqual(Environment.GetEnvironmentVariable("MKL_CBWR"), NativeGetEnv("MKL_CBWR"));
        Assert.IsNotNull(NativeGetEnv("MKL_CBWR"));
        if (Environment.GetEnvironmentVariable("OMP_WAIT_POLICY") is null)
        {
            Assert.IsNotNull(NativeGetEnv("GOMP_SPINCOUNT"));
            Assert.AreEqual(Environment.GetEnvironmentVariable("GOMP_SPINCOUNT"), NativeGetEnv("GOMP_SPINCOUNT"));
        }
        else
        {
            Assert.AreEqual(Environment.GetEnvironmentVariable("OMP_WAIT_POLICY"), NativeGetEnv("OMP_WAIT_POLICY"));
        }

        // A value the process already has is kept.
        var before = NativeGetEnv("MKL_CBWR");
        NativeEnvironment.ApplyDefaults();
        Assert.AreEqual(before, NativeGetEnv("MKL_CBWR"));
    }

    private static string? NativeGetEnv(string name) => Marshal.PtrToStringUTF8(GetEnv(name));

    [LibraryImport("libc", EntryPoint = "getenv", StringMarshalling = StringMarshalling.Utf8)]
    private static partial IntPtr GetEnv(string name);
}
