using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace MLNet.Diffusion.Engine;

/// <summary>
/// Settings that libtorch's OpenMP runtime reads once, when it loads, from the native environment. On Linux,
/// <see cref="Environment.SetEnvironmentVariable(string, string?)"/> changes only .NET's copy of the environment, which
/// native <c>getenv</c> never sees, so they are written with libc's <c>setenv</c>, before TorchSharp loads libtorch.
/// </summary>
public static partial class NativeEnvironment
{
    /// <summary>
    /// The OpenMP wait policy this library sets unless the process already has one: <c>PASSIVE</c>. With libgomp's
    /// default (spin for a while before sleeping), two libtorch processes on few cores spend their time spinning against
    /// each other; passive threads sleep at once, which costs a little at batch 1 and keeps shared cores usable.
    /// </summary>
    public const string DefaultOmpWaitPolicy = "PASSIVE";

    /// <summary>
    /// Sets <c>OMP_WAIT_POLICY</c> to <see cref="DefaultOmpWaitPolicy"/> in the native environment when it is unset.
    /// Runs by itself when this assembly loads; call it explicitly first thing in an app that uses TorchSharp before
    /// it touches any MLNet.Diffusion type. Has no effect once libtorch is loaded. Does nothing on Windows.
    /// </summary>
    public static void ApplyDefaults()
    {
        if (OperatingSystem.IsWindows() || Environment.GetEnvironmentVariable("OMP_WAIT_POLICY") is not null)
        {
            return;
        }

        _ = SetEnv("OMP_WAIT_POLICY", DefaultOmpWaitPolicy, overwrite: 0);
        Environment.SetEnvironmentVariable("OMP_WAIT_POLICY", DefaultOmpWaitPolicy);  // what .NET code (and children) see
    }

#pragma warning disable CA2255 // a module initializer in a library: it must run before the first TorchSharp call, which may be ours
    [ModuleInitializer]
    internal static void OnLoad() => ApplyDefaults();
#pragma warning restore CA2255

    [LibraryImport("libc", EntryPoint = "setenv", StringMarshalling = StringMarshalling.Utf8)]
    private static partial int SetEnv(string name, string value, int overwrite);
}
